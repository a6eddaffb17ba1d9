import Foundation
import NIOHPACK

/// A gRPC status a call ends with: the code, the `grpc-message` text and, when a retry may succeed, the binary
/// `grpc-status-details-bin` (a `google.rpc.Status`).
struct GRPCStatus: Error, Equatable {
    /// The gRPC status codes Metronome answers with; the case names are the `status` label of the rejection
    /// self-metrics (as grpc-swift spelled them).
    enum Code: Int, Sendable {
        case ok = 0
        case invalidArgument = 3
        case deadlineExceeded = 4
        case resourceExhausted = 8
        case unimplemented = 12
        case internalError = 13
        case unavailable = 14
    }

    var code: Code
    var message: String
    var details: [UInt8]?
    /// The HTTP status of the response: 200 for every gRPC status, another for a request that is not a gRPC call.
    var httpStatus = "200"
    /// Whether the response lists the supported encodings (`grpc-accept-encoding`), as an unsupported one requires.
    var listsAcceptedEncodings = false

    /// The trailers of a call that succeeded.
    static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

    init(_ code: Code, _ message: String, details: [UInt8]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// The trailers-only response that ends a call with this status.
    var trailersOnly: HPACKHeaders {
        var headers: HPACKHeaders = [":status": httpStatus, "content-type": "application/grpc"]
        if listsAcceptedEncodings {
            headers.add(name: "grpc-accept-encoding", value: UnaryGRPCRoutes.acceptedEncodings)
        }
        headers.add(name: "grpc-status", value: String(code.rawValue))
        if !message.isEmpty { headers.add(name: "grpc-message", value: Self.percentEncoded(message)) }
        if let details {
            headers.add(name: "grpc-status-details-bin", value: Data(details).base64EncodedString())
        }
        return headers
    }

    /// `grpc-message` text as gRPC requires it: bytes outside printable ASCII, and `%`, percent-encoded.
    static func percentEncoded(_ message: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}
