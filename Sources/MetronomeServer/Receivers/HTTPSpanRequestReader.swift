import CompressNIO
import HTTPTypes
import Hummingbird
import MetronomeGenerator
import MetronomeWire
import NIOCore

/// A span request an HTTP receiver refused before it was processed: the answer and the `reason` label it is counted
/// under.
struct HTTPRejection: Error {
    var status: HTTPResponse.Status
    /// The gRPC code of the `google.rpc.Status` body; nil answers plain text (no OTLP encoding is known).
    var code: Int?
    var reason: String
    var message: String
    var retryAfterSeconds: Int? = nil

    static func badRequest(_ message: String, reason: String = "invalid") -> HTTPRejection {
        HTTPRejection(status: .badRequest, code: 3, reason: reason, message: message)
    }

    static func tooLarge(_ message: String) -> HTTPRejection {
        HTTPRejection(status: .contentTooLarge, code: 8, reason: "too_large", message: message)
    }

    /// 415, answered in plain text: the request's encoding is what is unknown.
    static func unsupported(_ message: String) -> HTTPRejection {
        HTTPRejection(status: .unsupportedMediaType, code: nil, reason: "unsupported_media_type", message: message)
    }

    /// 429, or 503 for a full forwarder queue (the trace store is behind, not the client too fast).
    static func tooManyRequests(_ refusal: Refusal) -> HTTPRejection {
        HTTPRejection(
            status: refusal.reason == .forwarderQueueFull ? .serviceUnavailable : .tooManyRequests,
            code: 8,
            reason: refusal.reason.rawValue,
            message: refusal.description,
            retryAfterSeconds: refusal.retryAfterSeconds
        )
    }
}

/// What the HTTP span receivers do with a request before its format matters: the tenant from `X-Scope-OrgID`, and the
/// body read within the size limit and the distributor's in-flight budget, gzip-decompressed when it says so.
///
/// Before the body is read, its declared length (or the size limit, when none is declared) is reserved in the
/// distributor's in-flight budget; decompression reserves what it adds. The reservation is held until the answer.
struct HTTPSpanRequestReader: Sendable {
    private static let tenantHeader = HTTPField.Name("X-Scope-OrgID")!

    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int

    /// The media type of the request, lowercased, without parameters; nil when it has none.
    static func mediaType(of request: Request) -> String? {
        request.headers[.contentType].flatMap(mediaType(ofContentType:))
    }

    /// The media type of a `Content-Type` value: what precedes its parameters, without the spaces and tabs around it,
    /// lowercased; nil when that is empty. On the UTF-8 bytes: Foundation's `trimmingCharacters` took a fifth of an
    /// OTLP/HTTP request's handling.
    static func mediaType(ofContentType value: String) -> String? {
        var type = value.utf8.prefix { $0 != UInt8(ascii: ";") }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let first = type.first, isSpace(first) { type.removeFirst() }
        while let last = type.last, isSpace(last) { type.removeLast() }
        return type.isEmpty ? nil : String(decoding: type, as: UTF8.self).lowercased()
    }

    func tenant(of request: Request) throws(HTTPRejection) -> TenantID {
        do {
            return try Distributor.tenant(fromHeader: request.headers[Self.tenantHeader])
        } catch {
            throw .badRequest(error.description, reason: "invalid_tenant")
        }
    }

    /// Reads the body after reserving its declared length (the size limit when it declares none) and returns it,
    /// decompressed; the reservation ends up holding what the body and its decompressed copy take.
    func readBody(of request: Request, reservation: inout InflightReservation) async throws(HTTPRejection)
        -> ByteBuffer
    {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > maxBytes {
            throw .tooLarge("request body of \(declared) bytes exceeds \(maxBytes) bytes")
        }
        try reserveWithinSizeLimit(declared ?? maxBytes, in: &reservation)
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
            try reserveWithinSizeLimit(maxBytes, in: &reservation)
            let decompressed = try gunzip(&body)
            reservation.shrink(to: compressedBytes + decompressed.readableBytes)
            return decompressed
        case let other?:
            throw .unsupported("unsupported content encoding \(ClientText.quoted(other)); use gzip or none")
        }
    }

    /// Decompresses exactly one gzip member that must end where the body ends.
    private func gunzip(_ body: inout ByteBuffer) throws(HTTPRejection) -> ByteBuffer {
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

    /// Reserves `bytes` more for the request, within the budget.
    func reserve(_ bytes: Int, in reservation: inout InflightReservation) throws(HTTPRejection) {
        guard reservation.grow(by: bytes) else { throw refusal(bytes) }
    }

    /// Reserves `bytes` that the size limit bounds (the body, its decompressed copy): past the budget when the
    /// request is alone in it.
    private func reserveWithinSizeLimit(_ bytes: Int, in reservation: inout InflightReservation) throws(HTTPRejection) {
        guard reservation.growWithinSizeLimit(by: bytes) else { throw refusal(bytes) }
    }

    private func refusal(_ bytes: Int) -> HTTPRejection {
        .tooManyRequests(Refusal.inflightBytes(bytes, budget: distributor.inflight))
    }
}
