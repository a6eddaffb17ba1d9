import AsyncHTTPClient
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Delivers snappy-compressed `WriteRequest`s to one remote-write endpoint, one at a time and in order, so the
/// samples of a series always arrive in time order.
///
/// 2xx is done; a 4xx other than 429 is a permanent rejection (Prometheus refuses the whole request for one bad
/// series), so the request is dropped and counted; 5xx, 429 and connection errors are retried with exponential
/// backoff from `minBackoffMs` to `maxBackoffMs`. At graceful shutdown the queue is drained until the flush deadline.
public final class RemoteWriteSender: Service, Sendable {
    /// One request on its way.
    public struct Payload: Sendable {
        public var tenant: String
        /// The snappy-compressed `WriteRequest`.
        public var body: [UInt8]
        public var samples: Int

        public init(tenant: String, body: [UInt8], samples: Int) {
            self.tenant = tenant
            self.body = body
            self.samples = samples
        }
    }

    public let endpoint: RemoteWriteEndpoint
    private let settings: RemoteWriteSettings
    private let client: HTTPClient
    private let logger: Logger
    private let stream: AsyncStream<Payload>
    private let continuation: AsyncStream<Payload>.Continuation
    private let shutdownStarted = Mutex<ContinuousClock.Instant?>(nil)
    private let samplesSent: Counter
    private let requestsSent: Counter

    /// Whether this sender made `client` for itself (TLS settings) and shuts it down when it stops.
    private let ownsClient: Bool

    /// - Parameter client: the HTTP client to send with; `ownsClient` says whether the sender shuts it down.
    public init(
        endpoint: RemoteWriteEndpoint,
        settings: RemoteWriteSettings,
        client: HTTPClient,
        ownsClient: Bool = false,
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.settings = settings
        self.client = client
        self.ownsClient = ownsClient
        var logger = logger
        logger[metadataKey: "endpoint"] = "\(endpoint.url)"
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(settings.maxQueuedRequests))
        samplesSent = Counter(label: "metronome_remote_write_samples_sent_total", dimensions: [("url", endpoint.url)])
        requestsSent = Counter(label: "metronome_remote_write_requests_sent_total", dimensions: [("url", endpoint.url)])
    }

    /// Queues a request; when the queue is full the oldest queued request is dropped and counted.
    public func enqueue(_ payload: Payload) {
        switch continuation.yield(payload) {
        case .dropped(let dropped):
            countDropped(dropped, reason: "queue_full")
            logger.warning(
                "remote-write queue full; dropped the oldest request",
                metadata: ["samples": "\(dropped.samples)"]
            )
        case .terminated:
            countDropped(payload, reason: "shutdown")
        case .enqueued:
            break
        @unknown default:
            break
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await payload in stream {
                await deliver(payload)
            }
        } onGracefulShutdown: {
            self.shutdownStarted.withLock { $0 = .now }
            self.continuation.finish()
        }
        if ownsClient { try? await client.shutdown() }
    }

    private func deliver(_ payload: Payload) async {
        var backoffMs = settings.minBackoffMs
        var delayMs = backoffMs
        while true {
            let outcome = await post(payload)
            switch outcome {
            case .delivered:
                samplesSent.increment(by: payload.samples)
                requestsSent.increment()
                return
            case .rejected(let status, let message):
                countFailure(status: "\(status)")
                countDropped(payload, reason: "rejected")
                logger.error(
                    "remote-write endpoint rejected a request; dropping it",
                    metadata: ["status": "\(status)", "samples": "\(payload.samples)", "response": "\(message)"]
                )
                return
            case .retryable(let status, let message, let retryAfterMs):
                countFailure(status: status)
                // Jitter spreads the retries of many senders; a receiver's Retry-After wins when it asks for longer.
                delayMs = max(Int64.random(in: (backoffMs / 2)...backoffMs), retryAfterMs ?? 0)
                logger.warning(
                    "remote write failed; retrying",
                    metadata: ["status": "\(status)", "delay_ms": "\(delayMs)", "response": "\(message)"]
                )
            }
            if Task.isCancelled || flushDeadlinePassed {
                countDropped(payload, reason: "shutdown")
                logger.error("flush deadline passed at shutdown; dropping an undelivered request")
                return
            }
            try? await Task.sleep(for: .milliseconds(delayMs))
            backoffMs = min(backoffMs * 2, settings.maxBackoffMs)
        }
    }

    private enum Outcome {
        case delivered
        case rejected(status: UInt, message: String)
        /// `retryAfterMs`: what the receiver's `Retry-After` header asked for, if anything.
        case retryable(status: String, message: String, retryAfterMs: Int64?)
    }

    private func post(_ payload: Payload) async -> Outcome {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Encoding", value: "snappy")
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        request.headers.add(name: "User-Agent", value: "metronome")
        for (name, value) in requestHeaders(for: endpoint, tenant: payload.tenant, settings: settings) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: payload.body))
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

    private var flushDeadlinePassed: Bool {
        guard let started = shutdownStarted.withLock({ $0 }) else { return false }
        return ContinuousClock.now - started > .milliseconds(settings.flushDeadlineMs)
    }

    private func countFailure(status: String) {
        Counter(
            label: "metronome_remote_write_requests_failed_total",
            dimensions: [("url", endpoint.url), ("status", status)]
        )
        .increment()
    }

    private func countDropped(_ payload: Payload, reason: String) {
        Counter(
            label: "metronome_remote_write_samples_dropped_total",
            dimensions: [("url", endpoint.url), ("reason", reason)]
        )
        .increment(by: payload.samples)
    }
}
