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
///
/// Before the body is read, its declared length (or the size limit, when none is declared) is reserved in the
/// distributor's in-flight budget; decompression reserves what it adds. The reservation is held until the answer.
struct OTLPHTTPReceiver: Sendable {
    static let path = "/v1/traces"
    private static let tenantHeader = HTTPField.Name("X-Scope-OrgID")!
    private static let retryAfterHeader = HTTPField.Name("Retry-After")!

    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int
    /// The wire format limits (attribute value nesting).
    let limits: SpanBatch.Limits
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in await handle(request) }
    }

    private enum Encoding {
        case protobuf, json
        var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
    }

    /// A request refused before it was processed: the answer and the `reason` label it is counted under.
    private struct Rejection: Error {
        var status: HTTPResponse.Status
        /// The gRPC code of the `google.rpc.Status` body; nil answers plain text (no OTLP encoding is known).
        var code: Int?
        var reason: String
        var message: String
        var retryAfterSeconds: Int? = nil

        static func badRequest(_ message: String, reason: String = "invalid") -> Rejection {
            Rejection(status: .badRequest, code: 3, reason: reason, message: message)
        }

        static func tooLarge(_ message: String) -> Rejection {
            Rejection(status: .contentTooLarge, code: 8, reason: "too_large", message: message)
        }

        /// 415, answered in plain text: the request's encoding is what is unknown.
        static func unsupported(_ message: String) -> Rejection {
            Rejection(status: .unsupportedMediaType, code: nil, reason: "unsupported_media_type", message: message)
        }

        static func tooManyRequests(_ refusal: Refusal) -> Rejection {
            Rejection(
                status: .tooManyRequests,
                code: 8,
                reason: refusal.reason.rawValue,
                message: refusal.description,
                retryAfterSeconds: refusal.retryAfterSeconds
            )
        }
    }

    func handle(_ request: Request) async -> Response {
        var encoding = Encoding.protobuf
        do {
            encoding = try Self.encoding(of: request)
            let tenant = try tenant(of: request)
            var reservation = InflightReservation(distributor.inflight)
            let body = try await readBody(of: request, reservation: &reservation)
            let protobuf = try protobuf(from: body, encoding: encoding, reservation: &reservation)
            do {
                try distributor.admit(protobuf.count, tenant: tenant)
                let batch = try SpanBatch(protobuf: protobuf, limits: limits)
                let outcome = try distributor.push(batch, tenant: tenant)
                let response =
                    encoding == .json ? OTLPResponses.exportJSON(outcome) : OTLPResponses.exportProtobuf(outcome)
                return Response(
                    status: .ok,
                    headers: [.contentType: encoding.contentType],
                    body: .init(byteBuffer: ByteBuffer(bytes: response))
                )
            } catch let refusal as Refusal {
                throw Rejection.tooManyRequests(refusal)
            } catch let error as WireError {
                throw Rejection.badRequest(RejectedRequests.message(for: error))
            }
        } catch let rejection as Rejection {
            return answer(rejection, encoding)
        } catch {
            return answer(.badRequest("\(error)"), encoding)
        }
    }

    private static func encoding(of request: Request) throws(Rejection) -> Encoding {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        switch mediaType {
        case "application/x-protobuf", "application/protobuf": return .protobuf
        case "application/json": return .json
        default:
            throw .unsupported(
                "unsupported content type \(ClientText.quoted(mediaType ?? "")); use application/x-protobuf or application/json"
            )
        }
    }

    private func tenant(of request: Request) throws(Rejection) -> TenantID {
        do {
            return try Distributor.tenant(fromHeader: request.headers[Self.tenantHeader])
        } catch {
            throw .badRequest(error.description, reason: "invalid_tenant")
        }
    }

    /// Reads the body after reserving its declared length (the size limit when it declares none) and returns it,
    /// decompressed; the reservation ends up holding what the body and its decompressed copy take.
    private func readBody(of request: Request, reservation: inout InflightReservation) async throws(Rejection)
        -> ByteBuffer
    {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > maxBytes {
            throw .tooLarge("request body of \(declared) bytes exceeds \(maxBytes) bytes")
        }
        try reserve(declared ?? maxBytes, in: &reservation)
        var body: ByteBuffer
        do {
            var request = request
            body = try await request.collectBody(upTo: maxBytes)
        } catch {
            throw .tooLarge("request body exceeds \(maxBytes) bytes")
        }
        reservation.shrink(to: body.readableBytes)
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity": return body
        case "gzip":
            let compressedBytes = body.readableBytes
            try reserve(maxBytes, in: &reservation)
            let decompressed = try gunzip(&body)
            reservation.shrink(to: compressedBytes + decompressed.readableBytes)
            return decompressed
        case let other?:
            throw .unsupported("unsupported content encoding \(ClientText.quoted(other)); use gzip or none")
        }
    }

    /// Decompresses exactly one gzip member that must end where the body ends.
    private func gunzip(_ body: inout ByteBuffer) throws(Rejection) -> ByteBuffer {
        guard body.readableBytes > 0 else { throw .badRequest("body is empty; a gzip body holds one gzip member") }
        let decompressed: ByteBuffer
        do {
            decompressed = try body.decompress(with: .gzip(), maxSize: maxBytes)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge("decompressed body exceeds \(maxBytes) bytes")
        } catch {
            throw .badRequest("body is not valid gzip: \(error)")
        }
        guard body.readableBytes == 0 else {
            throw .badRequest(
                "body has \(body.readableBytes) bytes after the end of its gzip stream (trailing data or a second gzip member); send one gzip member"
            )
        }
        return decompressed
    }

    /// The request's protobuf bytes (OTLP/JSON transcoded), reserved in the budget.
    private func protobuf(from body: ByteBuffer, encoding: Encoding, reservation: inout InflightReservation)
        throws(Rejection) -> [UInt8]
    {
        try reserve(body.readableBytes, in: &reservation)
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

    private func reserve(_ bytes: Int, in reservation: inout InflightReservation) throws(Rejection) {
        guard reservation.grow(by: bytes) else {
            throw .tooManyRequests(Refusal.inflightBytes(bytes, budget: distributor.inflight))
        }
    }

    private func answer(_ rejection: Rejection, _ encoding: Encoding) -> Response {
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
