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
/// an unsupported content type or encoding.
struct OTLPHTTPReceiver: Sendable {
    static let path = "/v1/traces"
    private static let tenantHeader = HTTPField.Name("X-Scope-OrgID")!

    let distributor: Distributor
    /// Largest accepted body, before and after decompression.
    let maxBytes: Int
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in await handle(request) }
    }

    private enum Encoding {
        case protobuf, json
        var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
    }

    func handle(_ request: Request) async -> Response {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        let encoding: Encoding
        switch mediaType {
        case "application/x-protobuf", "application/protobuf": encoding = .protobuf
        case "application/json": encoding = .json
        default:
            return plain(
                .unsupportedMediaType,
                "unsupported content type \(ClientText.quoted(mediaType ?? "")); use application/x-protobuf or application/json"
            )
        }
        var body: ByteBuffer
        do {
            var request = request
            body = try await request.collectBody(upTo: maxBytes)
        } catch {
            return failure(.contentTooLarge, code: 8, "request body exceeds \(maxBytes) bytes", encoding)
        }
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity": break
        case "gzip":
            do {
                body = try body.decompress(with: .gzip(), maxSize: maxBytes)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                return failure(.contentTooLarge, code: 8, "decompressed body exceeds \(maxBytes) bytes", encoding)
            } catch {
                return failure(.badRequest, code: 3, "body is not valid gzip: \(error)", encoding)
            }
        case let other?:
            return plain(
                .unsupportedMediaType,
                "unsupported content encoding \(ClientText.quoted(other)); use gzip or none"
            )
        }
        do {
            let tenant = try Distributor.tenant(fromHeader: request.headers[Self.tenantHeader])
            let bytes: [UInt8]
            switch encoding {
            case .protobuf: bytes = Array(body.readableBytesView)
            case .json: bytes = try body.withUnsafeReadableBytes { try OTLPJSONTranscoder.protobuf(fromJSON: $0) }
            }
            let outcome = distributor.push(try SpanBatch(protobuf: bytes), tenant: tenant)
            let response = encoding == .json ? OTLPResponses.exportJSON(outcome) : OTLPResponses.exportProtobuf(outcome)
            return Response(
                status: .ok,
                headers: [.contentType: encoding.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: response))
            )
        } catch let error as WireError {
            return failure(.badRequest, code: 3, RejectedRequests.message(for: error), encoding)
        } catch {
            return failure(.badRequest, code: 3, "\(error)", encoding)
        }
    }

    private func failure(_ status: HTTPResponse.Status, code: Int, _ message: String, _ encoding: Encoding) -> Response
    {
        RejectedRequests.record(receiver: "otlp_http", status: "\(status.code)", message: message, logger: logger)
        let body = OTLPResponses.status(code: code, message: message, json: encoding == .json)
        return Response(
            status: status,
            headers: [.contentType: encoding.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    private func plain(_ status: HTTPResponse.Status, _ message: String) -> Response {
        RejectedRequests.record(receiver: "otlp_http", status: "\(status.code)", message: message, logger: logger)
        return Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: message + "\n"))
        )
    }
}
