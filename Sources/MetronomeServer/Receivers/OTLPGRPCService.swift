import GRPCCore
import Logging
import MetronomeGenerator
import MetronomeWire

/// OTLP/gRPC `opentelemetry.proto.collector.trace.v1.TraceService/Export`, registered by hand with pass-through
/// (de)serializers so the request bytes go straight into a ``SpanBatch`` instead of SwiftProtobuf messages.
struct OTLPGRPCService: RegistrableRPCService {
    static let export = MethodDescriptor(
        fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService",
        method: "Export"
    )

    let distributor: Distributor
    let logger: Logger

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.export,
            deserializer: RawBytesDeserializer(),
            serializer: RawBytesSerializer()
        ) { request, context in
            let single = try await ServerRequest(stream: request)
            let response = try handle(single)
            return StreamingServerResponse(single: ServerResponse(message: response))
        }
    }

    private func handle(_ request: ServerRequest<[UInt8]>) throws -> [UInt8] {
        let tenantHeader = request.metadata[stringValues: "x-scope-orgid"].first(where: { _ in true })
        do {
            let tenant = try Distributor.tenant(fromHeader: tenantHeader)
            let batch = try SpanBatch(protobuf: request.message)
            let outcome = distributor.push(batch, tenant: tenant)
            return OTLPResponses.exportProtobuf(outcome)
        } catch let error as WireError {
            throw reject(RejectedRequests.message(for: error))
        } catch let error as Distributor.InvalidRequest {
            throw reject(error.description)
        }
    }

    private func reject(_ message: String) -> RPCError {
        RejectedRequests.record(receiver: "otlp_grpc", status: "invalid_argument", message: message, logger: logger)
        return RPCError(code: .invalidArgument, message: message)
    }
}

/// Hands the message bytes over as they are (one copy out of the transport's buffer).
public struct RawBytesDeserializer: MessageDeserializer {
    public init() {}

    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Sends already-encoded message bytes.
public struct RawBytesSerializer: MessageSerializer {
    public init() {}

    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}
