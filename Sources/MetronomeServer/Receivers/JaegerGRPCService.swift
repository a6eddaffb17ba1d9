import GRPCCore
import Logging
import MetronomeGenerator
import MetronomeWire

/// Jaeger's gRPC collector, `jaeger.api_v2.CollectorService/PostSpans`: the `PostSpansRequest` is translated into an
/// OTLP request (``JaegerTranslator``) and pushed like an OTLP one; the answer is an empty `PostSpansResponse`.
struct JaegerGRPCService: RegistrableRPCService {
    static let postSpans = MethodDescriptor(
        fullyQualifiedService: "jaeger.api_v2.CollectorService",
        method: "PostSpans"
    )

    let handler: GRPCSpanHandler

    init(distributor: Distributor, limits: SpanBatch.Limits, logger: Logger) {
        handler = GRPCSpanHandler(receiver: "jaeger_grpc", distributor: distributor, limits: limits, logger: logger)
    }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        handler.register(Self.postSpans, with: &router, respond: { _ in [] }) {
            (message, reserve) throws(TranslationError) in
            try JaegerTranslator.protobuf(fromPostSpans: message, reserve: reserve)
        }
    }
}
