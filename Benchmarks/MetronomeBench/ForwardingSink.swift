import GRPCCore
import GRPCNIOTransportHTTP2Posix
import MetronomeServer
import Synchronization

/// A trace store for `load --forward sink`: an in-process OTLP/gRPC server that accepts every `Export` and counts it.
final class ForwardingSink: Sendable {
    let port: Int
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let task: Task<Void, any Error>
    private let counter: Counter

    /// Counts accepted requests.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private struct Service: RegistrableRPCService {
        let counter: Counter

        func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            router.registerHandler(
                forMethod: MethodDescriptor(
                    fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService",
                    method: "Export"
                ),
                deserializer: RawBytesDeserializer(),
                serializer: RawBytesSerializer()
            ) { request, _ in
                for try await _ in request.messages { counter.value.add(1, ordering: .relaxed) }
                return StreamingServerResponse(single: ServerResponse(message: []))
            }
        }
    }

    private init(
        port: Int,
        server: GRPCServer<HTTP2ServerTransport.Posix>,
        task: Task<Void, any Error>,
        counter: Counter
    ) {
        self.port = port
        self.server = server
        self.task = task
        self.counter = counter
    }

    static func start() async throws -> ForwardingSink {
        let port = try freePort()
        let counter = Counter()
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
            services: [Service(counter: counter)]
        )
        let task = Task { try await server.serve() }
        _ = try await server.listeningAddress
        return ForwardingSink(port: port, server: server, task: task, counter: counter)
    }

    var requests: Int { counter.value.load(ordering: .relaxed) }

    func stop() {
        server.beginGracefulShutdown()
        task.cancel()
    }
}
