import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeSelfMetrics
import ServiceLifecycle

/// Sends a forwarder's queue to its trace store, apart from the receive and generate paths: one loop per queue shard
/// (so several requests are in flight), each sending its records in turn to the next endpoint (those queued within a
/// batch window of each other joined into one request), retrying retryable failures with exponential backoff and
/// jitter (at least the store's `Retry-After` / `RetryInfo`), and moving its queue position past a record once the
/// store accepted it or refused it for good (dropped, counted, logged).
///
/// On graceful shutdown it keeps sending until the queue is caught up or `flushDeadline` passes; what is left is sent
/// after the next start.
struct ForwarderSender: Service {
    let queue: ForwarderQueue
    let transport: any ForwarderTransport
    let flushDeadline: Duration
    let logger: Logger

    private static let firstBackoff = Duration.milliseconds(100)
    /// The largest request a backlog is joined into: under the 4 MiB gRPC servers take by default.
    private static let maxJoinedBytes = 3 << 20
    private static let maxBackoff = Duration.seconds(30)
    /// A record younger than this waits until it is this old before it is sent, so that the requests queued meanwhile
    /// go with it, joined: a store that keeps up gets a few large requests rather than one per received request (an
    /// RPC costs both sides far more than its bytes). Traces reach the store at most this much later.
    private static let batchWindowMs: Int64 = 50

    func run() async throws {
        let connections = Task { await transport.run() }
        let everySecond = Task { await syncAndRecordGauges() }
        let shards = Task {
            await withDiscardingTaskGroup { group in
                for (shard, reader) in ForwarderQueue.readers(queue.forwarder).enumerated() {
                    group.addTask { await deliver(reader, firstEndpoint: shard) }
                }
            }
        }
        try? await gracefulShutdown()
        queue.wal.finishAppending()
        let deadline = Task {
            try await Task.sleep(for: flushDeadline)
            shards.cancel()
        }
        await shards.value
        deadline.cancel()
        everySecond.cancel()
        connections.cancel()
        await connections.value
        let left = queue.wal.held
        if left.records > 0 {
            logger.notice(
                "forwarder stopped; its queue is sent after the next start",
                metadata: ["queue_bytes": "\(left.bytes)"]
            )
        }
        queue.wal.sync()
        recordGauges()
    }

    /// Sends `reader`'s records until the queue is finished (shutdown) or the task is cancelled (the deadline).
    private func deliver(_ reader: WALReader, firstEndpoint: Int) async {
        let name = queue.forwarder
        let sent = SelfMetric.forwarderRequestsSent.counter(name)
        let spansSent = SelfMetric.forwarderSpansSent.counter(name)
        let retries = SelfMetric.forwarderRetries.counter(name)
        let partial = SelfMetric.forwarderSpansPartiallyRejected.counter(name)
        let duration = SelfMetric.forwarderSendDuration.timer(name)
        var endpoint = firstEndpoint % transport.endpointCount
        while !Task.isCancelled {
            let record: WriteAheadLog.Record
            switch queue.wal.next(for: reader) {
            case .finished: return
            case .caughtUp(let appends):
                await queue.wal.waitForAppend(after: appends)
                continue
            case .record(let found): record = found
            }
            let youngMs = record.appendedAtMs + Self.batchWindowMs - Int64(Date().timeIntervalSince1970 * 1000)
            if youngMs > 0 { try? await Task.sleep(for: .milliseconds(youngMs)) }
            guard let payload = try? queue.wal.payload(of: record),
                let (tenant, first) = ForwardedRecord.decode(payload)
            else {
                SelfMetric.forwarderSpansDropped.counter(name, "unreadable").increment(by: record.samples)
                logger.error(
                    "a forwarder queue record is unreadable; skipping it",
                    metadata: ["segment": "\(record.segment)"]
                )
                queue.wal.advance(reader, to: record.next)
                continue
            }
            let (request, last, spans) = joiningFollowers(of: record, first, tenant: tenant, reader: reader)
            var backoff = Self.firstBackoff
            attempts: while true {
                let start = ContinuousClock.now
                let outcome = await transport.send(request, tenant: tenant, endpoint: endpoint)
                duration.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
                endpoint = (endpoint + 1) % transport.endpointCount
                switch outcome {
                case .delivered(let rejectedSpans):
                    sent.increment()
                    spansSent.increment(by: spans)
                    if rejectedSpans > 0 { partial.increment(by: rejectedSpans) }
                    break attempts
                case .drop(let code, let message):
                    SelfMetric.forwarderRequestsFailed.counter(name, code).increment()
                    SelfMetric.forwarderSpansDropped.counter(name, "rejected").increment(by: spans)
                    logger.error(
                        "the trace store refused a request for good; dropping it",
                        metadata: ["code": "\(code)", "message": "\(message)", "tenant": "\(tenant)"]
                    )
                    break attempts
                case .retry(let code, let after, let message):
                    SelfMetric.forwarderRequestsFailed.counter(name, code).increment()
                    retries.increment()
                    if LogThrottle.perPush.allows("forwarder \(name) retry \(code)") {
                        logger.warning(
                            "sending to the trace store failed; retrying (one line per code every 10 s)",
                            metadata: ["code": "\(code)", "message": "\(message)", "backoff": "\(backoff)"]
                        )
                    }
                    let jittered = backoff * Double.random(in: 0.8...1.2)
                    do {
                        try await Task.sleep(for: max(jittered, after ?? .zero))
                    } catch {
                        return  // the flush deadline passed: the record stays queued
                    }
                    backoff = min(backoff * 2, Self.maxBackoff)
                }
            }
            queue.wal.advance(reader, to: last.next)
        }
    }

    /// The request of `record` joined with those of the same tenant queued after it in the reader's shard, up to
    /// ``maxJoinedBytes``: OTLP requests concatenate into one (their `resource_spans` add up), so a backlog goes out in
    /// fewer, larger requests. Returns the request, the last record it covers and its spans.
    private func joiningFollowers(
        of record: WriteAheadLog.Record,
        _ first: ArraySlice<UInt8>,
        tenant: TenantID,
        reader: WALReader
    ) -> (request: ForwardedRequest, last: WriteAheadLog.Record, spans: Int) {
        let followers = queue.wal.records(after: record, for: reader, upTo: Self.maxJoinedBytes - first.count)
        var request = ForwardedRequest(parts: [first])
        var last = record
        var spans = record.samples
        for follower in followers {
            guard let payload = try? queue.wal.payload(of: follower),
                let (owner, next) = ForwardedRecord.decode(payload), owner == tenant
            else { break }
            request.parts.append(next)
            last = follower
            spans += follower.samples
        }
        return (request, last, spans)
    }

    /// Every second: makes the queue durable (unless each request is, `queue.fsync`) and records its gauges.
    private func syncAndRecordGauges() async {
        while !Task.isCancelled {
            // A second of appends can take a while to sync: on a Dispatch thread, not one of the few the receivers'
            // tasks run on.
            await withCheckedContinuation { (synced: CheckedContinuation<Void, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    queue.wal.sync()
                    synced.resume()
                }
            }
            recordGauges()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func recordGauges() {
        let held = queue.wal.held
        SelfMetric.forwarderQueueRecords.gauge(queue.forwarder).record(held.records)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let age = held.oldestAppendedAtMs.map { Double(max(0, nowMs - $0)) / 1000 } ?? 0
        SelfMetric.forwarderQueueOldestAge.gauge(queue.forwarder).record(age)
    }
}
