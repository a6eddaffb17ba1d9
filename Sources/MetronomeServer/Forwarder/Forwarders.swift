import Foundation
import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import Synchronization

/// The configured forwarders (`distributor.forwarders`), by name: each a durable queue and the sender that empties it.
/// The distributor queues an accepted request on each forwarder its tenant's overrides name, before the receiver
/// answers.
final class Forwarders: Sendable {
    private let queues: [String: ForwarderQueue]
    private let policies: [String: ForwarderSection.FullPolicy]
    /// The senders, to run as services.
    let senders: [ForwarderSender]
    /// Names a tenant asked for that are not configured, each logged once.
    private let reportedUnknown = Mutex<Set<String>>([])
    private let logger: Logger

    /// No forwarders.
    convenience init(logger: Logger) {
        self.init(queues: [:], policies: [:], senders: [], logger: logger)
    }

    private init(
        queues: [String: ForwarderQueue],
        policies: [String: ForwarderSection.FullPolicy],
        senders: [ForwarderSender],
        logger: Logger
    ) {
        self.queues = queues
        self.policies = policies
        self.senders = senders
        self.logger = logger
    }

    /// Opens each forwarder's queue under `<storage>/forwarders/<name>`, recovering what an earlier run left.
    convenience init(
        _ sections: [ForwarderSection],
        storagePath: String,
        flushDeadline: Duration,
        logger: Logger
    ) throws {
        var queues: [String: ForwarderQueue] = [:]
        var policies: [String: ForwarderSection.FullPolicy] = [:]
        var senders: [ForwarderSender] = []
        for section in sections {
            var logger = logger
            logger[metadataKey: "forwarder"] = "\(section.name)"
            let queue = try ForwarderQueue(
                section: section,
                directory: storagePath + "/forwarders/" + section.name,
                logger: logger
            )
            let transport: any ForwarderTransport =
                switch section.backend {
                case .otlpgrpc: try OTLPGRPCForwarderTransport(section: section)
                case .otlphttp: try OTLPHTTPForwarderTransport(section: section)
                }
            queues[section.name] = queue
            policies[section.name] = section.fullPolicy
            senders.append(
                ForwarderSender(queue: queue, transport: transport, flushDeadline: flushDeadline, logger: logger)
            )
            if section.hasFilter {
                logger.notice("forwarder filter block accepted but not applied: every span is forwarded")
            }
        }
        self.init(queues: queues, policies: policies, senders: senders, logger: logger)
    }

    var isEmpty: Bool { queues.isEmpty }

    /// Queues `request` (OTLP protobuf, `spans` spans) on each of `names`, durably.
    /// - Throws: ``Refusal`` when a `reject`-policy queue is full (the client is to retry); a write failure is counted
    ///   and logged, and the request still counts as accepted (the trace store misses it, metrics do not).
    func forward(_ request: [UInt8], spans: Int, tenant: TenantID, to names: [String]) async throws(Refusal) {
        for name in names {
            guard let queue = queues[name] else {
                if reportedUnknown.withLock({ $0.insert(name).inserted }) {
                    logger.error(
                        "a tenant's overrides name a forwarder that is not configured; ignoring it",
                        metadata: ["forwarder": "\(name)", "tenant": "\(tenant)"]
                    )
                }
                continue
            }
            switch await queue.append(request, spans: spans, tenant: tenant) {
            case .success: continue
            case .failure(.full):
                SelfMetric.forwarderRequestsRefused.counter(name).increment()
                throw Refusal(
                    reason: .forwarderQueueFull,
                    description:
                        "forwarder \(name)'s queue is full (queue.max_bytes, full_policy: reject); retry later",
                    retryAfterSeconds: 5
                )
            case .failure(.write(let error)):
                SelfMetric.forwarderSpansDropped.counter(name, "write_failed").increment(by: spans)
                if LogThrottle.perPush.allows("forwarder \(name) write") {
                    logger.error(
                        "could not append to the forwarder's queue; the trace store misses these spans (one line every 10 s)",
                        metadata: ["forwarder": "\(name)", "error": "\(error)"]
                    )
                }
            }
        }
    }
}
