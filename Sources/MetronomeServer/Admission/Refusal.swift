/// Why a request was refused before being processed, though it was well-formed: the server or the tenant is at a
/// limit. Receivers answer HTTP 429 / gRPC `RESOURCE_EXHAUSTED`, with `Retry-After` / `google.rpc.RetryInfo` when
/// waiting helps.
struct Refusal: Error, CustomStringConvertible {
    enum Reason: String {
        /// `distributor.max_inflight_bytes`.
        case inflightBytes = "inflight_bytes"
        /// `overrides.defaults.ingestion.rate_limit_bytes`.
        case rateLimited = "rate_limited"
        /// `distributor.max_tenants`.
        case maxTenants = "max_tenants"
        /// A forwarder's queue is full and its `full_policy` is `reject` (HTTP 503, not 429).
        case forwarderQueueFull = "forwarder_queue_full"
    }

    let reason: Reason
    let description: String
    /// Seconds after which the same request may succeed; nil when retrying will not help.
    let retryAfterSeconds: Int?
}

extension Refusal {
    /// The refusal of a request whose `bytes` do not fit in the in-flight budget now.
    static func inflightBytes(_ bytes: Int, budget: InflightBudget) -> Refusal {
        Refusal(
            reason: .inflightBytes,
            description:
                "server busy: \(bytes) more bytes would exceed distributor.max_inflight_bytes (\(budget.limit) bytes, \(budget.inUse) in flight); retry later",
            retryAfterSeconds: 1
        )
    }
}
