import Hummingbird
import MetronomeWire

/// Zipkin's collector API, `POST /api/v2/spans` with a JSON span list or a protobuf `ListOfSpans`
/// (`application/x-protobuf`), optionally gzip-compressed, as Tempo's distributor takes it: the spans are translated
/// into an OTLP request (``ZipkinTranslator``) and pushed like OTLP ones, answered as ``TranslatingHTTPReceiver``
/// says. The v1 API is refused with a 400 that names v2.
struct ZipkinHTTPReceiver: Sendable {
    static let path = "/api/v2/spans"
    static let v1Path = "/api/v1/spans"

    let receiver: TranslatingHTTPReceiver

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in
            await receiver.handle(request, translator: Self.translator)
        }
        router.post(RouterPath(Self.v1Path)) { _, _ in
            receiver.answer(
                .badRequest(
                    "Zipkin v1 spans are not accepted; send Zipkin v2 JSON to \(Self.path)",
                    reason: "unsupported_version"
                )
            )
        }
    }

    /// JSON (also when no type is given, as some reporters do) or protobuf.
    private static func translator(for request: Request) throws(HTTPRejection) -> TranslatingHTTPReceiver.Translator {
        switch HTTPSpanRequestReader.mediaType(of: request) {
        case nil, "application/json":
            return { (body, reserve) throws(TranslationError) in
                try ZipkinTranslator.protobuf(fromJSON: body, reserve: reserve)
            }
        case "application/x-protobuf", "application/protobuf":
            return { (body, reserve) throws(TranslationError) in
                try ZipkinTranslator.protobuf(fromProtobuf: body, reserve: reserve)
            }
        case let other?:
            throw .unsupported(
                "unsupported content type \(ClientText.quoted(other)); send Zipkin v2 spans as application/json or application/x-protobuf"
            )
        }
    }
}
