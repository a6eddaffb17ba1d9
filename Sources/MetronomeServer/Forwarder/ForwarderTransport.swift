import MetronomeGenerator
import MetronomeWire

/// How a forwarder's requests reach the trace store: OTLP/gRPC or OTLP/HTTP, to one of several endpoints.
protocol ForwarderTransport: Sendable {
    /// How many endpoints requests are spread across.
    var endpointCount: Int { get }

    /// Sends one OTLP `ExportTraceServiceRequest` of `tenant` to endpoint `endpoint`.
    func send(_ request: ForwardedRequest, tenant: TenantID, endpoint: Int) async -> ForwardOutcome

    /// Keeps the connections up until cancelled.
    func run() async
}

/// An OTLP `ExportTraceServiceRequest` to send: the concatenation of `parts`, queued requests of one tenant (their
/// `resource_spans` add up), so that joining them costs no copy before the one into the transport's buffer.
struct ForwardedRequest: Sendable {
    var parts: [ArraySlice<UInt8>]

    /// The request's size in bytes.
    var count: Int { parts.reduce(0) { $0 + $1.count } }

    /// Copies the request into `destination`, which holds ``count`` bytes.
    func copy(into destination: UnsafeMutableRawBufferPointer) {
        var offset = 0
        for part in parts {
            part.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: destination[offset..<(offset + source.count)])
                    .copyMemory(from: source)
            }
            offset += part.count
        }
    }
}

/// What became of one send attempt.
enum ForwardOutcome: Sendable, Equatable {
    /// Accepted; an OTLP partial success may report spans the store rejected.
    case delivered(rejectedSpans: Int)
    /// A failure worth retrying (gRPC UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED; HTTP 429 and 5xx;
    /// transport errors), after at least `after` when the store said so (`Retry-After`, `RetryInfo`); `message` says
    /// what failed, for the log.
    case retry(code: String, after: Duration?, message: String = "")
    /// A failure a retry will not fix: the request is dropped.
    case drop(code: String, message: String)
}

/// The OTLP response details a forwarder reads.
enum OTLPResponseDetails {
    /// `ExportTraceServiceResponse.partial_success.rejected_spans` (fields 1 and 1), 0 when absent or unreadable.
    static func rejectedSpans(_ response: some Collection<UInt8>) -> Int {
        let bytes = Array(response)
        return bytes.withUnsafeBytes { raw in
            var reader = ProtobufReader(bytes: raw)
            while let tag = try? reader.nextTag() {
                guard tag.fieldNumber == 1, let range = try? reader.readLengthDelimited() else {
                    guard (try? reader.skip(tag.wireType)) != nil else { return 0 }
                    continue
                }
                var partial = ProtobufReader(bytes: raw, range: range)
                while let field = try? partial.nextTag() {
                    if field.fieldNumber == 1, field.wireType == .varint, let spans = try? partial.readVarint() {
                        return Int(clamping: Int64(bitPattern: spans))
                    }
                    guard (try? partial.skip(field.wireType)) != nil else { return 0 }
                }
            }
            return 0
        }
    }

    /// The delay of a `google.rpc.RetryInfo` in a `google.rpc.Status` (`grpc-status-details-bin`): `Status.details`
    /// (field 3) `Any`s whose `type_url` (1) ends in `RetryInfo`, `value` (2) holding `retry_delay` (1), a `Duration`
    /// of `seconds` (1) and `nanos` (2).
    static func retryDelay(status: [UInt8]) -> Duration? {
        status.withUnsafeBytes { raw -> Duration? in
            var reader = ProtobufReader(bytes: raw)
            while let tag = try? reader.nextTag() {
                guard tag.fieldNumber == 3, let any = try? reader.readLengthDelimited() else {
                    guard (try? reader.skip(tag.wireType)) != nil else { return nil }
                    continue
                }
                var anyReader = ProtobufReader(bytes: raw, range: any)
                var isRetryInfo = false
                var value: Range<Int>?
                while let field = try? anyReader.nextTag() {
                    switch field.fieldNumber {
                    case 1:
                        guard let url = try? anyReader.readLengthDelimited() else { return nil }
                        isRetryInfo = raw[url].elementsEqual("type.googleapis.com/google.rpc.RetryInfo".utf8)
                    case 2: value = try? anyReader.readLengthDelimited()
                    default: guard (try? anyReader.skip(field.wireType)) != nil else { return nil }
                    }
                }
                guard isRetryInfo, let value else { continue }
                return duration(in: raw, value)
            }
            return nil
        }
    }

    private static func duration(in raw: UnsafeRawBufferPointer, _ retryInfo: Range<Int>) -> Duration? {
        var reader = ProtobufReader(bytes: raw, range: retryInfo)
        while let tag = try? reader.nextTag() {
            guard tag.fieldNumber == 1, let range = try? reader.readLengthDelimited() else {
                guard (try? reader.skip(tag.wireType)) != nil else { return nil }
                continue
            }
            var seconds: Int64 = 0
            var nanos: Int64 = 0
            var duration = ProtobufReader(bytes: raw, range: range)
            while let field = try? duration.nextTag() {
                guard field.wireType == .varint, let value = try? duration.readVarint() else { return nil }
                if field.fieldNumber == 1 { seconds = Int64(bitPattern: value) }
                if field.fieldNumber == 2 { nanos = Int64(Int32(truncatingIfNeeded: value)) }
            }
            return .seconds(max(0, min(seconds, 3600))) + .nanoseconds(max(0, nanos))
        }
        return nil
    }
}
