import ArgumentParser
import Logging
import Metrics
import MetronomeServer
import Prometheus

/// The `metronome` command: runs the server, or checks a configuration file.
@main
struct Metronome: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metronome",
        abstract: "Turns traces into span metrics and writes them to Prometheus by remote write.",
        subcommands: [Serve.self, ValidateConfig.self],
        defaultSubcommand: Serve.self
    )

    /// Tunes malloc first, on the main thread, before the threads of the concurrency pool open arenas of their own
    /// (``MallocTuning``), then runs the command.
    static func main() async {
        _ = MallocTuning.applied
        await main(nil)
    }
}

/// `metronome [serve] [--config FILE]`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Metronome (the default). Without --config, the embedded defaults are used."
    )

    @Option(name: .shortAndLong, help: "YAML configuration file.")
    var config: String?

    func run() async throws {
        let configuration: MetronomeConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: config)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let level = Logger.Level(configName: configuration.server.logLevel)
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(SelfMetricsFactory(registry: registry))
        let logger = Logger(label: "metronome")
        logger.info(
            "starting",
            metadata: ["config": "\(config ?? "(embedded defaults)")", "malloc": "\(MallocTuning.applied)"]
        )
        try await MetronomeApplication(configuration: configuration, selfMetrics: registry, logger: logger).run()
    }
}

/// `metronome validate-config FILE [--overrides FILE]`.
struct ValidateConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-config",
        abstract: "Check a configuration file, and an overrides file, without starting."
    )

    @Argument(help: "YAML configuration file.")
    var file: String

    @Option(
        help:
            "A per-tenant overrides file (Tempo's runtime format) to check against the configuration; by default the one the configuration names, if any."
    )
    var overrides: String?

    func run() throws {
        let configuration: MetronomeConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: file)
            print("\(file): configuration is valid")
        } catch {
            throw ValidationError("\(file): \(error)")
        }
        let named = configuration.overrides.perTenantOverrideConfig
        guard let path = overrides ?? (named.isEmpty ? nil : named) else { return }
        do {
            let file = try OverridesFile.load(path: path, processor: configuration.metricsGenerator.processor)
            print("\(path): overrides are valid (\(file.tenants.count) tenant blocks)")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension Logger.Level {
    /// Reads a level name as Tempo's `log_level` spells it; unknown names mean `info`.
    init(configName name: String) {
        switch name.lowercased() {
        case "warn", "warning": self = .warning
        default: self = Logger.Level(rawValue: name.lowercased()) ?? .info
        }
    }
}
