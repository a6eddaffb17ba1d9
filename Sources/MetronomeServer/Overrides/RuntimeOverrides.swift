import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import Synchronization

/// Each tenant's overrides: `overrides.defaults` from the main file, replaced for a tenant by its block (or the `*`
/// block) of the per-tenant overrides file, which ``reload()`` re-reads. A file that cannot be read or is invalid
/// keeps the last good overrides in force.
final class RuntimeOverrides: Sendable {
    /// The main file's generator settings, before any overrides.
    let base: Generator.Configuration
    /// `overrides.defaults`.
    let defaults: TenantOverrides
    /// The overrides file, if any.
    let path: String?
    private let processor: MetricsGeneratorSection.Processor
    private let file = Mutex(OverridesFile())
    /// Keys already logged as not applied, so each is logged once.
    private let reportedNotApplied = Mutex<Set<String>>([])
    private let failures = SelfMetric.overridesReloadFailures.counter()
    private let lastSuccess = SelfMetric.overridesLastReloadSuccess.gauge()
    private let logger: Logger

    init(
        base: Generator.Configuration,
        defaults: TenantOverrides,
        path: String?,
        processor: MetricsGeneratorSection.Processor,
        logger: Logger
    ) {
        self.base = base
        self.defaults = defaults
        self.path = path
        self.processor = processor
        self.logger = logger
        reportNotApplied(defaults.notApplied, in: "overrides.defaults")
    }

    /// The overrides of a configuration: its `overrides.defaults`, and its per-tenant overrides file, read now.
    /// - Throws: ``ConfigurationError`` when the overrides file cannot be read or is invalid (at start, that stops the
    ///   server; later reloads keep the last good file instead).
    static func load(_ configuration: MetronomeConfiguration, logger: Logger) throws(ConfigurationError)
        -> RuntimeOverrides
    {
        let section = configuration.overrides
        let path = section.perTenantOverrideConfig.isEmpty ? nil : section.perTenantOverrideConfig
        let processor = configuration.metricsGenerator.processor
        if let path { _ = try OverridesFile.load(path: path, processor: processor) }
        let overrides = RuntimeOverrides(
            base: configuration.generatorBase,
            defaults: section.defaults,
            path: path,
            processor: processor,
            logger: logger
        )
        overrides.reload()
        return overrides
    }

    /// The settings of `tenant` now.
    func settings(for tenant: TenantID) -> TenantSettings {
        let (source, block) = file.withLock { file -> (String, TenantOverrides) in
            if let own = file.tenants[tenant.value] { return (tenant.value, own) }
            if let wildcard = file.tenants[OverridesFile.wildcard] { return (OverridesFile.wildcard, wildcard) }
            return ("defaults", defaults)
        }
        var generator = block.generator
        // Spec §6: unset in a tenant's block, the sanitization mode is the defaults block's.
        if generator.spanNameSanitization == .disabled {
            generator.spanNameSanitization = defaults.generator.spanNameSanitization
        }
        // Spec §6: so do the native-histogram keys, one by one.
        generator.nativeHistograms = generator.nativeHistograms.falling(backTo: defaults.generator.nativeHistograms)
        return TenantSettings(
            generator: generator.apply(to: base),
            ingestion: block.ingestion,
            remoteWriteHeaders: block.generator.remoteWriteHeaders,
            forwarders: block.forwarders,
            source: source
        )
    }

    /// The forwarders `tenant`'s requests go to (a lookup, without building the rest of its settings).
    func forwarders(for tenant: TenantID) -> [String] {
        file.withLock { file in
            (file.tenants[tenant.value] ?? file.tenants[OverridesFile.wildcard])?.forwarders
        } ?? defaults.forwarders
    }

    /// The tenants (and `*`) the overrides file has a block for.
    var blockNames: [String] { file.withLock { $0.tenants.keys.sorted() } }

    /// Re-reads the overrides file. An unreadable or invalid file is logged with its line, counted, and changes
    /// nothing.
    /// - Returns: whether the overrides changed.
    @discardableResult
    func reload() -> Bool {
        guard let path else { return false }
        let loaded: OverridesFile
        do {
            loaded = try OverridesFile.load(path: path, processor: processor)
        } catch {
            failures.increment()
            lastSuccess.record(0)
            logger.error(
                "overrides file invalid; keeping the last good overrides",
                metadata: ["file": "\(path)", "error": "\(error)"]
            )
            return false
        }
        lastSuccess.record(1)
        for (tenant, block) in loaded.tenants { reportNotApplied(block.notApplied, in: "overrides.\(tenant)") }
        return file.withLock { file in
            defer { file = loaded }
            return file != loaded
        }
    }

    /// Logs, once per key, the keys of Tempo's schema that were accepted and are not applied.
    private func reportNotApplied(_ keys: [String], in block: String) {
        let new = reportedNotApplied.withLock { reported in keys.filter { reported.insert($0).inserted } }
        guard !new.isEmpty else { return }
        logger.notice(
            "overrides keys accepted but not applied by Metronome",
            metadata: ["block": "\(block)", "keys": "\(new.joined(separator: ", "))"]
        )
    }
}
