import MetronomeGenerator

/// Everything decided per tenant: the main file's settings with the tenant's overrides block applied.
struct TenantSettings: Sendable, Equatable {
    /// The tenant's generator configuration.
    var generator: Generator.Configuration
    /// Its ingestion rate limit.
    var ingestion: IngestionRateLimiter.Configuration
    /// Extra headers on its remote-write requests.
    var remoteWriteHeaders: [String: String]
    /// The forwarders its requests go to.
    var forwarders: [String] = []
    /// Which block they come from: the tenant's own, `*`, or `defaults`.
    var source: String
}
