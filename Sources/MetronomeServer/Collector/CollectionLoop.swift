import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeSelfMetrics
import MetronomeWire
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Collects each tenant's series every `collection_interval` (the tenant's own, from its overrides), at the
/// multiples of the interval since the epoch, so tenants of the same interval are collected together with one
/// timestamp; hands the encoded remote-write requests to the ``CollectionOutput`` (the WAL) in chunks of
/// ``ChunkedRemoteWrite/defaultChunkBytes`` as they are encoded, then checkpoints the tenant, and lets it go if it is
/// idle. At graceful shutdown it runs one final collection of every tenant, so spans accepted before the receivers
/// stopped are not lost.
final class CollectionLoop: Service, Sendable {
    private let tenants: Tenants
    private let output: any CollectionOutput
    private let maxSamplesPerSend: Int
    private let sendShards: Int
    private let logger: Logger
    private let duration = SelfMetric.collectionDuration.timer()

    init(
        tenants: Tenants,
        output: any CollectionOutput,
        maxSamplesPerSend: Int,
        sendShards: Int,
        logger: Logger
    ) {
        self.tenants = tenants
        self.output = output
        self.maxSamplesPerSend = maxSamplesPerSend
        self.sendShards = sendShards
        self.logger = logger
    }

    func run() async throws {
        let workers = NIOThreadPool(numberOfThreads: Self.workerThreads)
        workers.start()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(Self.tickMs))
            }
            if Task.isCancelled && !Task.isShuttingDownGracefully { break }
            await collect(onlyDue: !Task.isShuttingDownGracefully, on: workers)
        }
        try? await workers.shutdownGracefully()
        if Task.isShuttingDownGracefully { logger.info("final collection done") }
    }

    /// Tenants collected at once. Each collection ends in two synchronous disk flushes (the WAL's `fdatasync` and
    /// the checkpoint's `fsync`), so many tenants collected one after the other would take as many flush times: 500
    /// tenants took 30 s to shut down. Threads of their own keep the blocking calls off Swift's cooperative pool.
    static let workerThreads = 8

    /// How often the loop looks for tenants due: the resolution of collection times.
    static let tickMs: Int64 = 100

    /// Collects, at the current time, every tenant whose interval has come round since its last collection (or
    /// every tenant), `workerThreads` tenants at a time.
    func collect(onlyDue: Bool, on workers: NIOThreadPool) async {
        let start = ContinuousClock.now
        let timestampMs = Int64(Date().timeIntervalSince1970 * 1000)
        let due = tenants.all.filter { tenant in
            let intervalMs = max(1, tenant.generator.configuration.registry.collectionIntervalMs)
            return !onlyDue || timestampMs / intervalMs > tenant.lastCollectionMs.load(ordering: .relaxed) / intervalMs
        }
        guard !due.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for tenant in due {
                group.addTask {
                    _ = try? await workers.runIfActive { self.collect(tenant, timestampMs: timestampMs) }
                }
            }
        }
        duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    /// Collects one tenant: its series go to the WAL in chunks, then its state to its checkpoint.
    private func collect(_ tenant: Tenant, timestampMs: Int64) {
        tenant.lastCollectionMs.store(timestampMs, ordering: .relaxed)
        let generator = tenant.generator
        let metrics = tenant.metrics
        // Dry run: state is kept and limited as usual, but nothing is sent or counted as collected (spec §1.4).
        let dryRun = generator.configuration.disableCollection
        var sink = ChunkedRemoteWrite(
            encoder: RemoteWriteEncoder(maxSamplesPerRequest: maxSamplesPerSend, shards: sendShards)
        ) { [output] requests in
            if !dryRun { output.write(tenant: tenant.id.value, requests: requests) }
        }
        let result = generator.collect(.collect, timestampMs: timestampMs, into: &sink)
        sink.finish()
        metrics.activeSeries.record(result.activeSeries)
        metrics.activeSeriesDemand.record(result.activeSeriesDemand)
        if let demand = result.postSanitizationDemand { metrics.gauge(.postSanitizationDemand).record(demand) }
        for (label, estimate) in result.labelCardinalityDemand {
            metrics.gauge(.labelCardinalityDemand, label).record(estimate)
        }
        metrics.limiterActive.record(generator.limiter.statistics.active)
        metrics.limiterMax.record(generator.limiter.maximum)
        metrics.seriesRemoved.increment(by: result.removedSeries)
        if result.newlyLimited > 0 {
            metrics.limited.increment(by: result.newlyLimited)
            logger.warning(
                "active series limit reached; new label sets go to the metric_overflow=\"true\" series",
                metadata: [
                    "tenant": "\(tenant.id)", "limit": "\(generator.limiter.maximum)",
                    "limited": "\(result.newlyLimited)", "limiter": "\(generator.limiter.mode.rawValue)",
                ]
            )
        }
        recordNativeBucketLimit(result, tenant: tenant)
        if !dryRun {
            metrics.samplesCollected.increment(by: sink.sampleCount)
            metrics.collections.increment()
        }
        // The WAL before the checkpoint: a crash between the two at worst repeats this run's initial zeros
        // (same time and value, which Prometheus takes as duplicates); the other order could lose them.
        tenants.writeCheckpoint(tenant)
        tenants.removeIfIdle(tenant, nowMs: timestampMs, idleMs: generator.configuration.registry.collectionIntervalMs)
    }

    /// Counts and logs (once per collection that saw any) native histograms passing their bucket limit.
    private func recordNativeBucketLimit(_ result: Generator.CollectionResult, tenant: Tenant) {
        let (resets, halvings) = (result.nativeBucketLimitResets, result.nativeBucketLimitHalvings)
        guard resets + halvings > 0 else { return }
        if resets > 0 { tenant.metrics.counter(.nativeHistogramBucketLimit, "reset").increment(by: resets) }
        if halvings > 0 { tenant.metrics.counter(.nativeHistogramBucketLimit, "halved").increment(by: halvings) }
        let settings = tenant.generator.configuration.nativeHistograms
        logger.notice(
            "native histograms passed native_histogram_max_bucket_number; they reset or halved their resolution",
            metadata: [
                "tenant": "\(tenant.id)", "max_bucket_number": "\(settings.maxBucketNumber)",
                "resets": "\(resets)", "halvings": "\(halvings)",
            ]
        )
    }
}
