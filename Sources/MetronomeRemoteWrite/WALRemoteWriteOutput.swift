import Foundation
import Logging
import Metrics
import MetronomeSelfMetrics
import MetronomeWire
import ServiceLifecycle
import Synchronization

/// Durable remote write: each collection is appended to its tenant's ``WriteAheadLog`` before anything is sent, and
/// every endpoint's send shards deliver the log in order from their own persisted positions.
///
/// Shard `k` of an endpoint sends only the records of series shard `k` (series are partitioned by a hash of their
/// labels at encoding), one request at a time, so a series' samples always arrive in time order while shards send in
/// parallel. At graceful shutdown — after the collection loop's final collection — the shards send what remains until
/// `remote_write_flush_deadline`; what is still unsent stays in the WAL and goes out after the next start.
public final class WALRemoteWriteOutput: CollectionOutput, Service, Sendable {
    private let senders: [RemoteWriteSender]
    private let shards: Int
    private let limits: WriteAheadLog.Limits
    private let directoryForTenant: @Sendable (String) -> String?
    private let logger: Logger
    private let logs = Mutex<[String: WriteAheadLog]>([:])
    private let opened: AsyncStream<WriteAheadLog>
    private let openedContinuation: AsyncStream<WriteAheadLog>.Continuation

    /// - Parameters:
    ///   - senders: one per endpoint; with none, collections are not kept at all.
    ///   - shards: send shards per endpoint, the number the encoder partitions series into.
    ///   - directoryForTenant: where a tenant's WAL lives; nil for an id that cannot name a directory.
    public init(
        senders: [RemoteWriteSender],
        shards: Int,
        limits: WriteAheadLog.Limits,
        directoryForTenant: @escaping @Sendable (String) -> String?,
        logger: Logger
    ) {
        self.senders = senders
        self.shards = max(1, shards)
        self.limits = limits
        self.directoryForTenant = directoryForTenant
        self.logger = logger
        (opened, openedContinuation) = AsyncStream.makeStream()
    }

    /// Opens the WALs of tenants found on disk at start, so what they hold is sent again.
    public func recover(tenants: [String]) {
        guard !senders.isEmpty else { return }
        for tenant in tenants where directoryForTenant(tenant).map(FileManager.default.fileExists) ?? false {
            do {
                _ = try log(for: tenant)
            } catch {
                logger.error("could not open the WAL", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    public func write(tenant: String, requests: [RemoteWriteEncoder.Request]) {
        guard !senders.isEmpty, !requests.isEmpty else { return }
        let samples = requests.reduce(0) { $0 + $1.samples }
        do {
            try log(for: tenant).append(requests, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        } catch {
            SelfMetric.walWriteFailures.counter(tenant).increment()
            for sender in senders {
                SelfMetric.remoteWriteSamplesDropped.counter(sender.endpoint.url, "wal_write_failed")
                    .increment(by: samples)
            }
            logger.error(
                "could not append a collection to the WAL; its samples are lost",
                metadata: ["tenant": "\(tenant)", "samples": "\(samples)", "error": "\(error)"]
            )
        }
    }

    /// The tenant's log, opened (and announced to the send shards) on first use.
    private func log(for tenant: String) throws -> WriteAheadLog {
        try logs.withLock { logs in
            if let log = logs[tenant] { return log }
            guard let directory = directoryForTenant(tenant) else {
                throw WALError("name a WAL directory for tenant", tenant, code: EINVAL)
            }
            let log = try WriteAheadLog(
                directory: directory,
                tenant: tenant,
                readers: readers,
                limits: limits,
                logger: logger
            )
            logs[tenant] = log
            openedContinuation.yield(log)
            return log
        }
    }

    private var readers: [WALReader] {
        senders.flatMap { sender in (0..<shards).map { WALReader(endpoint: sender.endpoint.key, shard: $0) } }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await log in opened {
                    for sender in senders {
                        for shard in 0..<shards {
                            group.addTask { await self.send(log, to: sender, shard: shard) }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.openedContinuation.finish()
            for sender in self.senders { sender.beginFlush() }
            for log in self.logs.withLock({ Array($0.values) }) { log.finishAppending() }
        }
        for log in logs.withLock({ Array($0.values) }) { log.closeActiveSegment() }
        for sender in senders { await sender.shutdown() }
    }

    /// One send shard: delivers the shard's records in order, advancing its position after each accepted or
    /// permanently rejected request; returns once appending has finished and it has caught up, or at the deadline.
    private func send(_ log: WriteAheadLog, to sender: RemoteWriteSender, shard: Int) async {
        let reader = WALReader(endpoint: sender.endpoint.key, shard: shard)
        while true {
            switch log.next(for: reader) {
            case .finished:
                return
            case .caughtUp(let appends):
                await log.waitForAppend(after: appends)
            case .record(let record):
                let payload: [UInt8]
                do {
                    payload = try log.payload(of: record)
                } catch {
                    SelfMetric.walSamplesDropped.counter(log.tenant, reader.endpoint, "unreadable")
                        .increment(by: record.samples)
                    logger.error("could not read a WAL record; skipping it", metadata: ["error": "\(error)"])
                    log.advance(reader, to: record.next)
                    continue
                }
                switch await sender.deliver(body: payload, samples: record.samples, tenant: log.tenant) {
                case .delivered, .rejected:
                    log.advance(reader, to: record.next)
                case .abandoned:
                    return
                }
            }
        }
    }
}
