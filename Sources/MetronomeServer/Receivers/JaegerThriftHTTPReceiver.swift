import Hummingbird
import MetronomeWire

/// Jaeger's collector HTTP API, `POST /api/traces` with a Thrift `Batch` in the binary protocol
/// (`application/x-thrift` or `application/vnd.apache.thrift.binary`), optionally gzip-compressed: the spans are
/// translated into an OTLP request (``JaegerTranslator``) and pushed like OTLP ones, answered as
/// ``TranslatingHTTPReceiver`` says.
struct JaegerThriftHTTPReceiver: Sendable {
    static let path = "/api/traces"

    let receiver: TranslatingHTTPReceiver

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in
            await receiver.handle(request, translator: Self.translator)
        }
    }

    private static func translator(for request: Request) throws(HTTPRejection) -> TranslatingHTTPReceiver.Translator {
        switch HTTPSpanRequestReader.mediaType(of: request) {
        case "application/x-thrift", "application/vnd.apache.thrift.binary":
            return { (body, reserve) throws(TranslationError) in
                try JaegerTranslator.protobuf(fromThriftBatch: body, protocol: .binary, reserve: reserve)
            }
        case let other:
            throw .unsupported(
                "unsupported content type \(ClientText.quoted(other ?? "")); send a Jaeger Thrift Batch (binary protocol) as application/x-thrift"
            )
        }
    }
}
