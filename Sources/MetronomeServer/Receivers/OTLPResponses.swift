import Foundation
import MetronomeWire

/// The bodies OTLP receivers answer with: `ExportTraceServiceResponse` (with `partial_success` when spans were
/// rejected) and, for HTTP errors, `google.rpc.Status`, each in the request's encoding.
enum OTLPResponses {
    /// The protobuf `ExportTraceServiceResponse` for an outcome (empty when nothing was rejected).
    static func exportProtobuf(_ outcome: Distributor.Outcome) -> [UInt8] {
        guard outcome.rejectedSpans > 0 else { return [] }
        var writer = ProtobufWriter()
        writer.writeMessage(1) { partial in
            partial.writeVarintField(1, UInt64(outcome.rejectedSpans))
            partial.writeStringField(2, outcome.message)
        }
        return writer.bytes
    }

    /// The OTLP/JSON `ExportTraceServiceResponse` (int64 as a string, as OTLP/JSON encodes it).
    static func exportJSON(_ outcome: Distributor.Outcome) -> [UInt8] {
        guard outcome.rejectedSpans > 0 else { return Array("{}".utf8) }
        return Array(
            "{\"partialSuccess\":{\"rejectedSpans\":\"\(outcome.rejectedSpans)\",\"errorMessage\":\(quoted(outcome.message))}}"
                .utf8
        )
    }

    /// A `google.rpc.Status` with `code` (a gRPC code number) and `message`.
    static func status(code: Int, message: String, json: Bool) -> [UInt8] {
        if json { return Array("{\"code\":\(code),\"message\":\(quoted(message))}".utf8) }
        var writer = ProtobufWriter()
        writer.writeVarintField(1, UInt64(code))
        writer.writeStringField(2, message)
        return writer.bytes
    }

    /// A protobuf `google.rpc.Status` whose details hold a `google.rpc.RetryInfo` of `retryAfterSeconds`.
    static func statusWithRetryInfo(code: Int, message: String, retryAfterSeconds: Int) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.writeVarintField(1, UInt64(code))
        writer.writeStringField(2, message)
        writer.writeMessage(3) { any in
            any.writeStringField(1, "type.googleapis.com/google.rpc.RetryInfo")
            any.writeMessage(2) { retryInfo in
                retryInfo.writeMessage(1) { duration in duration.writeVarintField(1, UInt64(retryAfterSeconds)) }
            }
        }
        return writer.bytes
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
