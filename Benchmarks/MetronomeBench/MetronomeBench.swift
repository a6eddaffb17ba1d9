import ArgumentParser

/// The project's benchmarks. Run in release mode:
/// `swift build -c release --product metronome-bench && .build/release/metronome-bench <benchmark>`.
@main
struct MetronomeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metronome-bench",
        abstract: "Metronome's benchmarks: per-span nanoseconds, spans per CPU-second, bytes per series.",
        subcommands: [
            DecodeBenchmark.self, SpanMetricsBenchmark.self, ServiceGraphsBenchmark.self, LoadBenchmark.self,
            WALBenchmark.self, HostInfoBenchmark.self, AllocationBenchmark.self, FuzzCommand.self,
        ]
    )
}
