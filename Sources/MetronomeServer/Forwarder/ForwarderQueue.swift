import Foundation
import Logging
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeSelfMetrics
import Synchronization

/// A forwarder's durable queue: the WAL's segments, CRCs and reader positions (``WriteAheadLog``), holding one record
/// per forwarded request — its tenant and its OTLP protobuf bytes — spread over the sender's shards.
///
/// Appends are group-committed: requests that arrive while a write is in progress are written together by the next
/// one (with one `fdatasync` under `queue.fsync`; else the sender syncs every second), so concurrent receivers share
/// the cost of durability instead of queueing for it.
final class ForwarderQueue: Sendable {
    /// Why a request was not queued.
    enum Failure: Error {
        /// The queue holds `max_bytes` and the policy is `reject`.
        case full
        /// The write failed (the disk is full, say).
        case write(WALError)
    }

    /// How many records the sender has in flight at once: one per shard.
    static let shards = 4

    let wal: WriteAheadLog
    let forwarder: String
    private let maxBytes: Int
    private let policy: ForwarderSection.FullPolicy
    private let pending = Mutex(Pending())
    private let nextShard = Atomic<Int>(0)

    private struct Pending {
        var records: [(payload: WriteAheadLog.Payload, done: CheckedContinuation<Result<Void, Failure>, Never>)] = []
        var writing = false
    }

    /// The sender's readers: one per shard.
    static func readers(_ forwarder: String) -> [WALReader] {
        (0..<shards).map { WALReader(endpoint: forwarder, shard: $0) }
    }

    init(section: ForwarderSection, directory: String, logger: Logger) throws {
        forwarder = section.name
        maxBytes = section.maxQueueBytes
        policy = section.fullPolicy
        var limits = WriteAheadLog.Limits()
        limits.maxBytes = section.maxQueueBytes
        limits.maxAgeMs = section.maxQueueAgeMs
        // Whole segments are dropped: small ones keep max_bytes close.
        limits.segmentBytes = max(1 << 20, min(16 << 20, section.maxQueueBytes / 16))
        // A sender keeping up reads what was just appended from memory.
        limits.recentPayloadBytes = min(8 << 20, section.maxQueueBytes)
        limits.syncEachAppend = section.fsyncEachRequest
        let name = section.name
        wal = try WriteAheadLog(
            directory: directory,
            tenant: name,
            readers: Self.readers(name),
            limits: limits,
            metrics: WriteAheadLog.Metrics(
                appended: SelfMetric.forwarderSpansQueued.counter(name),
                bytesAppended: SelfMetric.forwarderBytesQueued.counter(name),
                bytes: SelfMetric.forwarderQueueBytes.gauge(name),
                segments: SelfMetric.forwarderQueueSegments.gauge(name),
                truncations: SelfMetric.forwarderQueueTruncations.counter(name),
                dropped: { _, reason in SelfMetric.forwarderSpansDropped.counter(name, reason) }
            ),
            logger: logger
        )
    }

    /// Queues one request; returns once it is written to the queue file (and synced, under `queue.fsync`), or refused.
    func append(_ request: [UInt8], spans: Int, tenant: TenantID) async -> Result<Void, Failure> {
        if policy == .reject && wal.unreadBytes + request.count > maxBytes { return .failure(.full) }
        let payload = WriteAheadLog.Payload(
            bytes: ForwardedRecord.encode(tenant: tenant, request: request),
            shard: nextShard.add(1, ordering: .relaxed).oldValue % Self.shards,
            count: spans
        )
        return await withCheckedContinuation { done in
            let leads = pending.withLock { pending in
                pending.records.append((payload, done))
                defer { pending.writing = true }
                return !pending.writing
            }
            if leads { writeWhilePending() }
        }
    }

    /// Writes what is pending, and what arrives meanwhile, until nothing is: the group commit.
    private func writeWhilePending() {
        while true {
            let batch = pending.withLock { pending in
                defer { pending.records = [] }
                if pending.records.isEmpty { pending.writing = false }
                return pending.records
            }
            guard !batch.isEmpty else { return }
            let result: Result<Void, Failure>
            do {
                try wal.append(batch.map(\.payload), nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                result = .success(())
            } catch {
                result = .failure(.write(error))
            }
            for record in batch { record.done.resume(returning: result) }
        }
    }
}

/// A queued record's payload: `tenant length u8 | tenant | OTLP ExportTraceServiceRequest`.
enum ForwardedRecord {
    static func encode(tenant: TenantID, request: [UInt8]) -> [UInt8] {
        let name = Array(tenant.value.utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(1 + name.count + request.count)
        bytes.append(UInt8(name.count))
        bytes += name
        bytes += request
        return bytes
    }

    /// The tenant and request of a payload, or nil when it is not one.
    static func decode(_ payload: [UInt8]) -> (tenant: TenantID, request: ArraySlice<UInt8>)? {
        guard let length = payload.first.map(Int.init), payload.count > length else { return nil }
        guard let tenant = try? TenantID(validating: String(decoding: payload[1...length], as: UTF8.self)) else {
            return nil
        }
        return (tenant, payload[(1 + length)...])
    }
}
