import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire
import NIOPosix
import ServiceLifecycle

/// Collects every tenant's series each `collection_interval` with one timestamp per run, and hands the encoded
/// remote-write requests to the ``CollectionOutput`` (the WAL) in chunks of ``ChunkedRemoteWrite/defaultChunkBytes``
/// as they are encoded, then checkpoints the tenant. At graceful shutdown it runs one final collection, so spans
/// accepted before the receivers stopped are not lost.
final class CollectionLoop: Service, Sendable {
    private let tenants: Tenants
    private let output: any CollectionOutput
    private let intervalMs: Int64
    private let maxSamplesPerSend: Int
    private let sendShards: Int
    private let logger: Logger
    private let duration = Metrics.Timer(label: "metronome_collection_duration_seconds")

    init(
        tenants: Tenants,
        output: any CollectionOutput,
        intervalMs: Int64,
        maxSamplesPerSend: Int,
        sendShards: Int,
        logger: Logger
    ) {
        self.tenants = tenants
        self.output = output
        self.intervalMs = intervalMs
        self.maxSamplesPerSend = maxSamplesPerSend
        self.sendShards = sendShards
        self.logger = logger
    }

    func run() async throws {
        let workers = NIOThreadPool(numberOfThreads: Self.workerThreads)
        workers.start()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(self.intervalMs))
            }
            if Task.isCancelled && !Task.isShuttingDownGracefully { break }
            await collectOnce(on: workers)
        }
        try? await workers.shutdownGracefully()
        if Task.isShuttingDownGracefully { logger.info("final collection done") }
    }

    /// Tenants collected at once. Each collection ends in two synchronous disk flushes (the WAL's `fdatasync` and
    /// the checkpoint's `fsync`), so many tenants collected one after the other would take as many flush times: 500
    /// tenants took 30 s to shut down. Threads of their own keep the blocking calls off Swift's cooperative pool.
    static let workerThreads = 8

    /// Collects every tenant once at the current time, `workerThreads` tenants at a time.
    func collectOnce(on workers: NIOThreadPool) async {
        let start = ContinuousClock.now
        let timestampMs = Int64(Date().timeIntervalSince1970 * 1000)
        await withTaskGroup(of: Void.self) { group in
            for generator in tenants.all {
                group.addTask {
                    _ = try? await workers.runIfActive { self.collect(generator, timestampMs: timestampMs) }
                }
            }
        }
        duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    /// Collects one tenant: its series go to the WAL in chunks, then its state to its checkpoint.
    private func collect(_ generator: Generator, timestampMs: Int64) {
        let tenant = [("tenant", generator.tenant.value)]
        // Dry run: state is kept and limited as usual, but nothing is sent or counted as collected (spec §1.4).
        let dryRun = generator.configuration.disableCollection
        var sink = ChunkedRemoteWrite(
            encoder: RemoteWriteEncoder(maxSamplesPerRequest: maxSamplesPerSend, shards: sendShards)
        ) { [output] requests in
            if !dryRun { output.write(tenant: generator.tenant.value, requests: requests) }
        }
        let result = generator.collect(.collect, timestampMs: timestampMs, into: &sink)
        sink.finish()
        let limiter = generator.limiter.statistics
        let limiterLabels = tenant + [("limiter", generator.limiter.mode.rawValue)]
        Gauge(label: "metronome_registry_active_series", dimensions: tenant).record(result.activeSeries)
        Gauge(label: "metronome_registry_active_series_demand_estimate", dimensions: tenant)
            .record(result.activeSeriesDemand)
        for (label, estimate) in result.labelCardinalityDemand {
            Gauge(
                label: "metronome_registry_label_cardinality_demand_estimate",
                dimensions: tenant + [("label_name", label)]
            ).record(estimate)
        }
        Gauge(label: "metronome_registry_limiter_active", dimensions: limiterLabels).record(limiter.active)
        Gauge(label: "metronome_registry_limiter_max", dimensions: limiterLabels).record(generator.limiter.maximum)
        Counter(label: "metronome_registry_series_removed_total", dimensions: tenant).increment(
            by: result.removedSeries
        )
        if result.newlyLimited > 0 {
            Counter(label: "metronome_registry_limited_total", dimensions: limiterLabels).increment(
                by: result.newlyLimited
            )
            logger.warning(
                "active series limit reached; new label sets go to the metric_overflow=\"true\" series",
                metadata: [
                    "tenant": "\(generator.tenant)", "limit": "\(generator.limiter.maximum)",
                    "limited": "\(result.newlyLimited)", "limiter": "\(generator.limiter.mode.rawValue)",
                ]
            )
        }
        if !dryRun {
            Counter(label: "metronome_samples_collected_total", dimensions: tenant).increment(
                by: sink.sampleCount
            )
            Counter(label: "metronome_registry_collections_total", dimensions: tenant).increment()
        }
        // The WAL before the checkpoint: a crash between the two at worst repeats this run's initial zeros
        // (same time and value, which Prometheus takes as duplicates); the other order could lose them.
        tenants.writeCheckpoint(generator)
    }
}
