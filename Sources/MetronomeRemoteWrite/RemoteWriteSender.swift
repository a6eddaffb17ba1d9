import AsyncHTTPClient
import Logging
import Metrics
import MetronomeSelfMetrics
import NIOCore
import NIOHTTP1
import Synchronization

/// Delivers snappy-compressed `WriteRequest`s to one remote-write endpoint: one request at a time per caller, retried
/// until the endpoint takes it.
///
/// 2xx is done; a 4xx other than 429 is a permanent rejection (Prometheus refuses the whole request for one bad
/// series), so the request is dropped and counted; 5xx, 429 and connection errors are retried with exponential
/// backoff and jitter from `minBackoffMs` to `maxBackoffMs`, or after the receiver's `Retry-After`. Once shutdown has
/// begun, retrying stops at the flush deadline and the request is abandoned — it stays in the WAL for the next start.
public final class RemoteWriteSender: Sendable {
    /// How a delivery ended.
    public enum Delivery: Sendable {
        /// The endpoint accepted the request.
        case delivered
        /// The endpoint refused it for good (a 4xx other than 429); counted and logged.
        case rejected
        /// The flush deadline passed at shutdown before the endpoint took it.
        case abandoned
    }

    public let endpoint: RemoteWriteEndpoint
    private let settings: RemoteWriteSettings
    private let client: HTTPClient
    private let logger: Logger
    private let flushStarted = Mutex<ContinuousClock.Instant?>(nil)
    private let samplesSent: Counter
    private let requestsSent: Counter
    private let samplesRejected: Counter

    /// Whether this sender made `client` for itself (TLS settings) and shuts it down in ``shutdown()``.
    private let ownsClient: Bool
    /// A tenant's `remote_write_headers` override, looked up as each request is sent.
    private let tenantHeaders: @Sendable (String) -> [String: String]

    /// - Parameters:
    ///   - client: the HTTP client to send with; `ownsClient` says whether the sender shuts it down.
    ///   - tenantHeaders: a tenant's extra headers (its `remote_write_headers` override) by tenant name.
    public init(
        endpoint: RemoteWriteEndpoint,
        settings: RemoteWriteSettings,
        client: HTTPClient,
        ownsClient: Bool = false,
        tenantHeaders: @escaping @Sendable (String) -> [String: String] = { _ in [:] },
        logger: Logger
    ) {
        self.tenantHeaders = tenantHeaders
        self.endpoint = endpoint
        self.settings = settings
        self.client = client
        self.ownsClient = ownsClient
        var logger = logger
        logger[metadataKey: "endpoint"] = "\(endpoint.url)"
        self.logger = logger
        samplesSent = SelfMetric.remoteWriteSamplesSent.counter(endpoint.url)
        requestsSent = SelfMetric.remoteWriteRequestsSent.counter(endpoint.url)
        samplesRejected = SelfMetric.remoteWriteSamplesDropped.counter(endpoint.url, "rejected")
    }

    /// Starts the flush deadline: from now on, retrying ends `flushDeadlineMs` later.
    public func beginFlush() {
        flushStarted.withLock { $0 = $0 ?? .now }
    }

    /// Shuts down the HTTP client if this sender made it.
    public func shutdown() async {
        if ownsClient { try? await client.shutdown() }
    }

    /// Sends one request until the endpoint accepts or refuses it, or the flush deadline passes.
    /// - Parameters:
    ///   - body: the snappy-compressed `WriteRequest`.
    ///   - samples: how many samples it carries, for the self-metrics.
    ///   - tenant: whose samples they are (the `X-Scope-OrgID` header).
    public func deliver(body: [UInt8], samples: Int, tenant: String) async -> Delivery {
        var backoffMs = settings.minBackoffMs
        while true {
            let delayMs: Int64
            switch await postUntilFlushDeadline(body: body, tenant: tenant) {
            case nil:
                return abandon(samples: samples)
            case .delivered:
                samplesSent.increment(by: samples)
                requestsSent.increment()
                return .delivered
            case .rejected(let status, let message):
                countFailure(status: "\(status)")
                samplesRejected.increment(by: samples)
                logger.error(
                    "remote-write endpoint rejected a request; dropping it",
                    metadata: ["status": "\(status)", "samples": "\(samples)", "response": "\(message)"]
                )
                return .rejected
            case .retryable(let status, let message, let retryAfterMs):
                countFailure(status: status)
                // Jitter spreads the retries of many senders; a receiver's Retry-After wins when it asks for longer.
                delayMs = max(Int64.random(in: (backoffMs / 2)...backoffMs), retryAfterMs ?? 0)
                logger.warning(
                    "remote write failed; retrying",
                    metadata: ["status": "\(status)", "delay_ms": "\(delayMs)", "response": "\(message)"]
                )
            }
            if let remainingMs = flushTimeRemainingMs, remainingMs <= 0 { return abandon(samples: samples) }
            try? await Task.sleep(for: .milliseconds(min(delayMs, flushTimeRemainingMs ?? delayMs)))
            backoffMs = min(backoffMs * 2, settings.maxBackoffMs)
        }
    }

    private func abandon(samples: Int) -> Delivery {
        logger.warning(
            "flush deadline passed at shutdown; the request stays in the WAL for the next start",
            metadata: ["samples": "\(samples)"]
        )
        return .abandoned
    }

    /// Posts, or gives up (nil) once the flush deadline passes mid-request: AsyncHTTPClient waits for a connection
    /// for the whole request timeout, which must not hold shutdown up while the endpoint is down.
    private func postUntilFlushDeadline(body: [UInt8], tenant: String) async -> Outcome? {
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await self.post(body: body, tenant: tenant) }
            group.addTask {
                while !Task.isCancelled {
                    let remainingMs = self.flushTimeRemainingMs ?? 100
                    if remainingMs <= 0 { return nil }
                    try? await Task.sleep(for: .milliseconds(min(100, remainingMs)))
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private enum Outcome {
        case delivered
        case rejected(status: UInt, message: String)
        /// `retryAfterMs`: what the receiver's `Retry-After` header asked for, if anything.
        case retryable(status: String, message: String, retryAfterMs: Int64?)
    }

    private func post(body: [UInt8], tenant: String) async -> Outcome {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Encoding", value: "snappy")
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        request.headers.add(name: "User-Agent", value: "metronome")
        let headers = requestHeaders(
            for: endpoint,
            tenant: tenant,
            tenantHeaders: tenantHeaders(tenant),
            settings: settings
        )
        for (name, value) in headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(endpoint.timeoutMs))
            var message = ""
            for try await chunk in response.body where message.utf8.count < 512 {
                message += String(buffer: chunk)
            }
            let status = response.status.code
            switch status {
            case 200..<300: return .delivered
            case 429, 500...:
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int64($0.trimmingSpaces) }
                return .retryable(
                    status: "\(status)",
                    message: message,
                    retryAfterMs: retryAfter.map { min($0, Self.maxRetryAfterSeconds) * 1000 }
                )
            default: return .rejected(status: status, message: message)
            }
        } catch {
            return .retryable(status: "error", message: "\(error)", retryAfterMs: nil)
        }
    }

    /// The longest `Retry-After` honoured (a misbehaving receiver must not park a queue for hours).
    static let maxRetryAfterSeconds: Int64 = 300

    /// Milliseconds left before the flush deadline; nil before shutdown.
    private var flushTimeRemainingMs: Int64? {
        guard let started = flushStarted.withLock({ $0 }) else { return nil }
        let deadline = started + .milliseconds(settings.flushDeadlineMs)
        return (deadline - ContinuousClock.now).nanoseconds / 1_000_000
    }

    private func countFailure(status: String) {
        SelfMetric.remoteWriteRequestsFailed.counter(endpoint.url, status).increment()
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
