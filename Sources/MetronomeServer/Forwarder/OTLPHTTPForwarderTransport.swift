import AsyncHTTPClient
import Foundation
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire
import NIOCore
import NIOHTTP1

/// OTLP/HTTP to the trace store: `POST` of the request bytes (`application/x-protobuf`) to each endpoint URL, with the
/// tenant as `X-Scope-OrgID` and the forwarder's headers.
struct OTLPHTTPForwarderTransport: ForwarderTransport {
    private static let maxRetryAfterSeconds: Int64 = 300

    private let client: HTTPClient
    private let urls: [String]
    private let headers: [String: String]
    private let timeoutMs: Int64

    init(section: ForwarderSection) throws {
        urls = section.endpoints
        headers = section.headers
        timeoutMs = section.timeoutMs
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(tlsConfiguration: try section.tls.configuration())
        )
    }

    var endpointCount: Int { urls.count }

    func run() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        try? await client.shutdown()
    }

    func send(_ request: ForwardedRequest, tenant: TenantID, endpoint: Int) async -> ForwardOutcome {
        var post = HTTPClientRequest(url: urls[endpoint])
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/x-protobuf")
        post.headers.add(name: "User-Agent", value: "metronome")
        for (name, value) in headers { post.headers.replaceOrAdd(name: name, value: value) }
        post.headers.replaceOrAdd(name: "X-Scope-OrgID", value: tenant.value)
        let size = request.count
        var payload = ByteBuffer()
        payload.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { free in
            request.copy(into: free)
            return size
        }
        post.body = .bytes(payload)
        do {
            let response = try await client.execute(post, timeout: .milliseconds(timeoutMs))
            var body: [UInt8] = []
            for try await chunk in response.body where body.count < 1 << 16 { body += chunk.readableBytesView }
            return Self.outcome(
                status: Int(response.status.code),
                retryAfter: response.headers.first(name: "Retry-After"),
                body: body
            )
        } catch {
            return .retry(code: "transport", after: nil, message: ClientText.quoted("\(error)"))
        }
    }

    /// Retries 429 and 5xx (after `Retry-After` seconds, at most 5 minutes, when given); drops other failures.
    static func outcome(status: Int, retryAfter: String?, body: [UInt8]) -> ForwardOutcome {
        switch status {
        case 200..<300: return .delivered(rejectedSpans: OTLPResponseDetails.rejectedSpans(body))
        case 429, 500...:
            let seconds = retryAfter.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            return .retry(code: "\(status)", after: seconds.map { .seconds(min(max(0, $0), maxRetryAfterSeconds)) })
        default:
            return .drop(code: "\(status)", message: String(decoding: body.prefix(512), as: UTF8.self))
        }
    }
}
