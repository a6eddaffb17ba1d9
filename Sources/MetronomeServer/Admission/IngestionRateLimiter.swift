import MetronomeGenerator
import Synchronization

/// Tempo's per-tenant ingestion rate limit (`ingestion.rate_limit_bytes` and `burst_size_bytes` of the tenant's
/// overrides, `rate_strategy: local`): a token bucket per tenant, refilled at the rate and holding at most the burst. A request
/// whose size does not fit takes nothing and is refused (HTTP 429 / `RESOURCE_EXHAUSTED`), with a retry hint of how
/// long the bucket needs to hold it.
final class IngestionRateLimiter: Sendable {
    /// The limits, as configured.
    struct Configuration: Sendable, Equatable {
        /// Bytes per second per tenant; 0 means no limit.
        var rateLimitBytes = 0
        /// The bucket's size: the largest request and burst accepted; 0 means the rate (Tempo's default is 20 MB).
        var burstSizeBytes = 0
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[TenantID: Bucket]>([:])

    init() {}

    /// Takes `bytes` from `tenant`'s bucket, whose limits are `configuration`, or returns the seconds to wait before
    /// they would fit (nil when taken).
    /// - Parameter remember: whether to keep the tenant's bucket. Only tenants that exist are remembered, so
    ///   requests naming new tenants (refused, or failing to decode) cannot grow the map past `max_tenants`; a new
    ///   tenant's first request is checked against a full bucket and not charged.
    func take(
        _ bytes: Int,
        tenant: TenantID,
        configuration: Configuration,
        remember: Bool = true,
        now: ContinuousClock.Instant = .now
    ) -> Int? {
        guard configuration.rateLimitBytes > 0 else { return nil }
        let rate = Double(configuration.rateLimitBytes)
        let burst = Double(
            configuration.burstSizeBytes > 0 ? configuration.burstSizeBytes : configuration.rateLimitBytes
        )
        return buckets.withLock { buckets in
            var bucket = buckets[tenant] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            defer { if remember { buckets[tenant] = bucket } }
            if Double(bytes) <= bucket.tokens {
                bucket.tokens -= Double(bytes)
                return nil
            }
            // A request larger than the burst never fits; waiting for a full bucket is the best hint there is.
            let missing = min(Double(bytes), burst) - bucket.tokens
            return max(1, Int((missing / rate).rounded(.up)))
        }
    }
}
