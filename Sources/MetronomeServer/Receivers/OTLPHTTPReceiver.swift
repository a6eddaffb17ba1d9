import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MetronomeGenerator
import MetronomeWire
import NIOCore

/// OTLP/HTTP `POST /v1/traces`: protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`), optionally
/// gzip-compressed, answered as the OTLP specification says: 200 with an `ExportTraceServiceResponse` (partial
/// success when spans were dropped), 400 with a `google.rpc.Status` for bad input, 413 over the size limit, 415 for
/// an unsupported content type or encoding, 429 with `Retry-After` when a limit refuses the request for now.
/// The body is read by ``HTTPSpanRequestReader``, within the in-flight budget.
struct OTLPHTTPReceiver: Sendable {
    static let path = "/v1/traces"
    private static let retryAfterHeader = HTTPField.Name("Retry-After")!

    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int
    private var requests: HTTPSpanRequestReader { HTTPSpanRequestReader(distributor: distributor, maxBytes: maxBytes) }
    /// The wire format limits (attribute value nesting).
    let limits: SpanBatch.Limits
    let logger: Logger
    private let traffic = ReceiverTraffic(receiver: "otlp_http")

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in await handle(request) }
    }

    private enum Encoding {
        case protobuf, json
        var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
    }

    func handle(_ request: Request) async -> Response {
        var encoding = Encoding.protobuf
        do {
            encoding = try Self.encoding(of: request)
            let tenant = try requests.tenant(of: request)
            var reservation = InflightReservation(distributor.inflight)
            let body = try await requests.readBody(of: request, reservation: &reservation)
            let protobuf = try protobuf(from: body, encoding: encoding, reservation: &reservation)
            do {
                try distributor.admit(protobuf.count, tenant: tenant)
                let batch = try SpanBatch(protobuf: protobuf, limits: limits)
                traffic.record(bytes: body.readableBytes, spans: batch.spanCount)
                try await distributor.forward(batch, tenant: tenant)
                let outcome = try distributor.push(batch, tenant: tenant)
                let response =
                    encoding == .json ? OTLPResponses.exportJSON(outcome) : OTLPResponses.exportProtobuf(outcome)
                return Response(
                    status: .ok,
                    headers: [.contentType: encoding.contentType],
                    body: .init(byteBuffer: ByteBuffer(bytes: response))
                )
            } catch let refusal as Refusal {
                throw HTTPRejection.tooManyRequests(refusal)
            } catch let error as WireError {
                throw HTTPRejection.badRequest(RejectedRequests.message(for: error))
            }
        } catch let rejection as HTTPRejection {
            return answer(rejection, encoding)
        } catch {
            return answer(.badRequest("\(error)"), encoding)
        }
    }

    private static func encoding(of request: Request) throws(HTTPRejection) -> Encoding {
        let mediaType = HTTPSpanRequestReader.mediaType(of: request)
        switch mediaType {
        case "application/x-protobuf", "application/protobuf": return .protobuf
        case "application/json": return .json
        default:
            throw .unsupported(
                "unsupported content type \(ClientText.quoted(mediaType ?? "")); use application/x-protobuf or application/json"
            )
        }
    }

    /// The request's protobuf bytes (OTLP/JSON transcoded), reserved in the budget.
    private func protobuf(from body: ByteBuffer, encoding: Encoding, reservation: inout InflightReservation)
        throws(HTTPRejection) -> [UInt8]
    {
        try requests.reserve(body.readableBytes, in: &reservation)
        do {
            switch encoding {
            case .protobuf: return Array(body.readableBytesView)
            case .json:
                return try body.withUnsafeReadableBytes {
                    try OTLPJSONTranscoder.protobuf(fromJSON: $0, limits: limits)
                }
            }
        } catch let error as WireError {
            throw .badRequest(RejectedRequests.message(for: error))
        } catch {
            throw .badRequest("\(error)")
        }
    }

    private func answer(_ rejection: HTTPRejection, _ encoding: Encoding) -> Response {
        RejectedRequests.record(
            receiver: "otlp_http",
            status: "\(rejection.status.code)",
            reason: rejection.reason,
            message: rejection.message,
            logger: logger
        )
        var headers: HTTPFields
        let body: ByteBuffer
        if let code = rejection.code {
            headers = [.contentType: encoding.contentType]
            body = ByteBuffer(
                bytes: OTLPResponses.status(code: code, message: rejection.message, json: encoding == .json)
            )
        } else {
            headers = [.contentType: "text/plain; charset=utf-8"]
            body = ByteBuffer(string: rejection.message + "\n")
        }
        if let seconds = rejection.retryAfterSeconds { headers[Self.retryAfterHeader] = "\(seconds)" }
        return Response(status: rejection.status, headers: headers, body: .init(byteBuffer: body))
    }
}
