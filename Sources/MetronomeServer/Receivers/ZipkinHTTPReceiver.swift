import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MetronomeGenerator
import MetronomeWire
import NIOCore

/// Zipkin's collector API, `POST /api/v2/spans` with a JSON span list or a protobuf `ListOfSpans`
/// (`application/x-protobuf`), optionally gzip-compressed, as Tempo's distributor takes it: the spans are translated
/// into an OTLP request (``ZipkinTranslator``) and pushed like OTLP ones. Answers as Zipkin's collector does: 202 with no body; 400 (plain text, naming the problem) for bad
/// input, 413 over the size limit, 415 for another content type or encoding, 429 with `Retry-After` when a limit
/// refuses the request for now. The v1 API is refused with a 400 that names v2.
struct ZipkinHTTPReceiver: Sendable {
    static let path = "/api/v2/spans"
    static let v1Path = "/api/v1/spans"
    private static let retryAfterHeader = HTTPField.Name("Retry-After")!

    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int
    let limits: SpanBatch.Limits
    let logger: Logger
    private let traffic = ReceiverTraffic(receiver: "zipkin")
    private var requests: HTTPSpanRequestReader { HTTPSpanRequestReader(distributor: distributor, maxBytes: maxBytes) }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in await handle(request) }
        router.post(RouterPath(Self.v1Path)) { _, _ in
            answer(
                .badRequest(
                    "Zipkin v1 spans are not accepted; send Zipkin v2 JSON to \(Self.path)",
                    reason: "unsupported_version"
                )
            )
        }
    }

    func handle(_ request: Request) async -> Response {
        do {
            let encoding = try Self.encoding(of: request)
            let tenant = try requests.tenant(of: request)
            var reservation = InflightReservation(distributor.inflight)
            let body = try await requests.readBody(of: request, reservation: &reservation)
            let protobuf = try translate(body, encoding: encoding, reservation: &reservation)
            do {
                try distributor.admit(protobuf.count, tenant: tenant)
                let batch = try SpanBatch(protobuf: protobuf, limits: limits)
                traffic.record(bytes: body.readableBytes, spans: batch.spanCount)
                _ = try distributor.push(batch, tenant: tenant)
                return Response(status: .accepted)
            } catch let refusal as Refusal {
                throw HTTPRejection.tooManyRequests(refusal)
            } catch let error as WireError {
                throw HTTPRejection.badRequest("\(error)")
            }
        } catch let rejection as HTTPRejection {
            return answer(rejection)
        } catch {
            return answer(.badRequest("\(error)"))
        }
    }

    private enum Encoding { case json, protobuf }

    /// The spans in `body` as an OTLP request. What the translation holds while it runs is reserved as it grows;
    /// afterwards the reservation keeps the body and the translated request.
    private func translate(_ body: ByteBuffer, encoding: Encoding, reservation: inout InflightReservation)
        throws(HTTPRejection) -> [UInt8]
    {
        let bodyBytes = reservation.bytes
        let translated: [UInt8]
        do {
            translated = try body.withUnsafeReadableBytes { body in
                switch encoding {
                case .json: try ZipkinTranslator.protobuf(fromJSON: body) { reservation.grow(by: $0) }.bytes
                case .protobuf: try ZipkinTranslator.protobuf(fromProtobuf: body) { reservation.grow(by: $0) }.bytes
                }
            }
        } catch let error as ZipkinTranslator.Error {
            if let refused = error.refusedBytes {
                throw .tooManyRequests(Refusal.inflightBytes(refused, budget: distributor.inflight))
            }
            throw .badRequest(error.description)
        } catch {
            throw .badRequest("\(error)")
        }
        reservation.shrink(to: bodyBytes + translated.count)
        return translated
    }

    /// JSON (also when no type is given, as some reporters do) or protobuf.
    private static func encoding(of request: Request) throws(HTTPRejection) -> Encoding {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        switch mediaType {
        case nil, "application/json": return .json
        case "application/x-protobuf", "application/protobuf": return .protobuf
        default:
            throw .unsupported(
                "unsupported content type \(ClientText.quoted(mediaType ?? "")); send Zipkin v2 spans as application/json or application/x-protobuf"
            )
        }
    }

    private func answer(_ rejection: HTTPRejection) -> Response {
        RejectedRequests.record(
            receiver: "zipkin",
            status: "\(rejection.status.code)",
            reason: rejection.reason,
            message: rejection.message,
            logger: logger
        )
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if let seconds = rejection.retryAfterSeconds { headers[Self.retryAfterHeader] = "\(seconds)" }
        return Response(
            status: rejection.status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: rejection.message + "\n"))
        )
    }
}
