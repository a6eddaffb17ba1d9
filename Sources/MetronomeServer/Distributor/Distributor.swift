import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import MetronomeWire

/// Takes decoded span batches (span ids checked by the decoder) from every receiver: resolves the tenant, drops
/// spans outside the ingestion window, and hands the batch to the tenant's ``Generator`` (from ``Tenants``, which
/// creates it on first use); before a request is decoded, ``admit(_:tenant:)`` applies the tenant and rate limits.
public final class Distributor: Sendable {
    /// What a push did, for the receiver's response.
    public struct Outcome: Sendable, Equatable {
        /// Spans dropped because they ended outside the ingestion window (reported as OTLP partial success).
        public var rejectedSpans = 0
        public var message = ""
    }

    /// Why a request was refused as a whole (HTTP 400 / gRPC INVALID_ARGUMENT).
    public struct InvalidRequest: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The tenants, whose generators take the batches.
    let tenants: Tenants
    private let rateLimiter = IngestionRateLimiter()
    /// The bytes of requests in flight, shared by every receiver.
    let inflight: InflightBudget
    /// The trace stores accepted requests also go to.
    let forwarders: Forwarders
    private let logger: Logger

    /// - Parameter maxInflightBytes: the bytes of requests receivers may hold at once.
    init(tenants: Tenants, maxInflightBytes: Int = Int.max, forwarders: Forwarders? = nil, logger: Logger) {
        self.tenants = tenants
        self.inflight = InflightBudget(limit: maxInflightBytes)
        self.forwarders = forwarders ?? Forwarders(logger: logger)
        self.logger = logger
    }

    /// Whether requests of `tenant` are forwarded (``forward(_:tenant:)`` has work to do).
    func forwards(_ tenant: TenantID) -> Bool {
        !forwarders.isEmpty && !tenants.overrides.forwarders(for: tenant).isEmpty
    }

    /// Queues a decoded request on the forwarders of its tenant, durably, before the receiver answers: the request
    /// bytes as received (OTLP protobuf; other formats after translation), spans outside the ingestion window
    /// included (the trace store wants late spans).
    /// - Throws: ``Refusal`` when a forwarder with `full_policy: reject` is full; the request is then not processed.
    func forward(_ batch: SpanBatch, tenant: TenantID) async throws(Refusal) {
        guard !forwarders.isEmpty else { return }
        let names = tenants.overrides.forwarders(for: tenant)
        guard !names.isEmpty else { return }
        try await forwarders.forward(batch.bytes, spans: batch.spanCount, tenant: tenant, to: names)
    }

    /// Resolves the tenant of a request from its `X-Scope-OrgID` value: absent or blank means `single-tenant`.
    public static func tenant(fromHeader header: String?) throws(InvalidRequest) -> TenantID {
        guard let header, !header.allSatisfy(\.isWhitespace) else { return .singleTenant }
        do {
            return try TenantID(validating: header)
        } catch {
            throw InvalidRequest(description: error.message)
        }
    }

    /// Admits `bytes` (a request's protobuf size) for `tenant` before it is decoded: the tenant must exist or fit
    /// under `distributor.max_tenants`, and the bytes must fit its ingestion rate limit (Tempo's `RATE_LIMITED`).
    /// - Throws: ``Refusal`` saying which limit, and when a retry may succeed.
    func admit(_ bytes: Int, tenant: TenantID) throws(Refusal) {
        let (exists, limit) = try tenants.admit(tenant)
        if let retryAfter = rateLimiter.take(bytes, tenant: tenant, configuration: limit, remember: exists) {
            throw Refusal(
                reason: .rateLimited,
                description:
                    "RATE_LIMITED: ingestion rate limit (\(limit.rateLimitBytes) bytes) exceeded while adding \(bytes) bytes for tenant \(tenant)",
                retryAfterSeconds: retryAfter
            )
        }
    }

    /// Processes one request's batch (its span ids were checked when it was decoded).
    /// - Throws: ``Refusal`` when the tenant is new and `distributor.max_tenants` tenants exist already.
    func push(_ batch: SpanBatch, tenant: TenantID, nowNanos: UInt64 = Distributor.nowNanos()) throws(Refusal)
        -> Outcome
    {
        let nowMs = Int64(nowNanos / 1_000_000)
        return try tenants.withTenant(tenant, nowMs: nowMs) { tenant in push(batch, to: tenant, nowNanos: nowNanos) }
    }

    private func push(_ batch: SpanBatch, to tenant: Tenant, nowNanos: UInt64) -> Outcome {
        let nowMs = Int64(nowNanos / 1_000_000)
        let generator = tenant.generator
        let slackNanos = UInt64(max(0, generator.configuration.ingestionTimeRangeSlackMs)) * 1_000_000
        tenant.metrics.spansReceived.increment(by: batch.spanCount)
        tenant.metrics.bytesReceived.increment(by: batch.bytes.count)

        // Spec §1.3: keep spans with now - slack <= end <= now + slack.
        var batch = batch
        let lower = nowNanos >= slackNanos ? nowNanos - slackNanos : 0
        let upper = nowNanos &+ slackNanos
        let outside = batch.removeSpans { $0.endTimeUnixNano < lower || $0.endTimeUnixNano > upper }
        var outcome = Outcome()
        if outside > 0 {
            tenant.metrics.counter(.spansDiscarded, "all", "outside_metrics_ingestion_slack").increment(by: outside)
            outcome.rejectedSpans = outside
            outcome.message =
                "\(outside) span(s) ended more than \(slackNanos / 1_000_000_000)s away from now and were not counted"
        }
        guard batch.spanCount > 0 else { return outcome }
        tenant.metrics.record(generator.push(batch, nowMs: nowMs), logger: logger)
        return outcome
    }

    /// Wall-clock time in nanoseconds since the Unix epoch.
    public static func nowNanos() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
    }
}
