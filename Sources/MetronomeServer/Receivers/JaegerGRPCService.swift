import Logging
import MetronomeGenerator
import MetronomeWire

/// Jaeger's gRPC collector, `jaeger.api_v2.CollectorService/PostSpans`: the `PostSpansRequest` is translated into an
/// OTLP request (``JaegerTranslator``) and pushed like an OTLP one; the answer is an empty `PostSpansResponse`.
enum JaegerGRPCService {
    static let service = "jaeger.api_v2.CollectorService"

    static func postSpans(distributor: Distributor, limits: SpanBatch.Limits, logger: Logger) -> UnaryGRPCMethod {
        GRPCSpanHandler(receiver: "jaeger_grpc", distributor: distributor, limits: limits, logger: logger)
            .method(service: service, method: "PostSpans", respond: { _ in [] }) {
                (message, reserve) throws(TranslationError) in
                try JaegerTranslator.protobuf(fromPostSpans: message, reserve: reserve)
            }
    }
}
