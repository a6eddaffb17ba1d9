import Logging
import MetronomeGenerator
import MetronomeWire

/// OTLP/gRPC `opentelemetry.proto.collector.trace.v1.TraceService/Export`: the request bytes go straight into a
/// ``SpanBatch``; the answer is an `ExportTraceServiceResponse`.
enum OTLPGRPCService {
    static let service = "opentelemetry.proto.collector.trace.v1.TraceService"

    static func export(distributor: Distributor, limits: SpanBatch.Limits, logger: Logger) -> UnaryGRPCMethod {
        GRPCSpanHandler(receiver: "otlp_grpc", distributor: distributor, limits: limits, logger: logger)
            .method(service: service, method: "Export", respond: OTLPResponses.exportProtobuf, translate: nil)
    }
}
