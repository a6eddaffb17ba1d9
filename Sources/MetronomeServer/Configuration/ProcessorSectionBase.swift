import MetronomeGenerator

/// What the keys of a processor section are applied to, so one decoder serves the main file and the overrides.
///
/// In the main file's `metrics_generator.processor`, keys replace the processors' defaults. In an overrides block
/// (`overrides.defaults` or a tenant's block of the overrides file), keys replace the main file's settings one by
/// one and absent keys keep them (Tempo's "replaces if set"), only Tempo's overridable keys are allowed, and Tempo's
/// two exceptions hold (an empty `span_multiplier_key` and a false `enable_client_server_prefix` change nothing).
/// Set for the duration of a decode with ``$current``.
struct ProcessorSectionBase: Sendable {
    var spanMetrics = SpanMetricsProcessor.Configuration()
    var serviceGraphs = ServiceGraphsProcessor.Configuration()
    var hostInfo = HostInfoProcessor.Configuration()
    /// Whether an overrides block is being decoded.
    var isOverride = false
    /// Whether it is a tenant's (or `*`'s) block of the overrides file, which replaces `overrides.defaults`
    /// wholesale: its absent keys take their zero value (no processors, no limits), as in Tempo.
    var isTenantBlock = false

    @TaskLocal static var current = ProcessorSectionBase()
}
