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

    let handler: GRPCSpanHandler

    init(distributor: Distributor, limits: SpanBatch.Limits, logger: Logger) {
        handler = GRPCSpanHandler(receiver: "otlp_grpc", distributor: distributor, limits: limits, logger: logger)
    }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        handler.register(Self.export, with: &router, respond: OTLPResponses.exportProtobuf, translate: nil)
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
