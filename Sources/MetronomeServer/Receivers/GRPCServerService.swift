import GRPCCore
import ServiceLifecycle

/// Runs a `GRPCServer` as a lifecycle `Service`: serve until graceful shutdown, then stop accepting and finish
/// in-flight RPCs.
struct GRPCServerService<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
