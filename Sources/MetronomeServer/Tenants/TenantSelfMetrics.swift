import Logging
import Metrics
import MetronomeGenerator
import MetronomeSelfMetrics
import MetronomeWire
import Synchronization

/// A tenant's self-metric handles, made once when the tenant is created (a handle per label set, kept), so a push
/// or a collection only adds to counters: no registry lock and no label rendering per request.
final class TenantSelfMetrics: Sendable {
    let tenant: String
    let spansReceived: Counter
    let bytesReceived: Counter
    let activeSeries: Gauge
    let activeSeriesDemand: Gauge
    let seriesRemoved: Counter
    let collections: Counter
    let samplesCollected: Counter
    let checkpointWriteFailures: Counter
    let limiterActive: Gauge
    let limiterMax: Gauge
    let limited: Counter
    let serviceGraphEdges: Counter
    let serviceGraphCompletedEdges: Counter
    let serviceGraphDroppedSpans: Counter
    let serviceGraphDroppedEdges: Counter
    let serviceGraphMarkerOverflow: Counter
    let serviceGraphInvalidUTF8Edges: Counter
    let pendingEdges: Gauge
    let pendingBytes: Gauge
    /// Handles whose label values are known only when they occur: made on first use, then kept.
    private let labelled = Mutex<[LabelledKey: any Sendable]>([:])

    private struct LabelledKey: Hashable {
        let metric: String
        let values: [String]
    }

    init(tenant: TenantID, limiter: SeriesLimiter.Mode) {
        let tenant = tenant.value
        self.tenant = tenant
        spansReceived = SelfMetric.spansReceived.counter(tenant)
        bytesReceived = SelfMetric.bytesReceived.counter(tenant)
        activeSeries = SelfMetric.activeSeries.gauge(tenant)
        activeSeriesDemand = SelfMetric.activeSeriesDemand.gauge(tenant)
        seriesRemoved = SelfMetric.seriesRemoved.counter(tenant)
        collections = SelfMetric.collections.counter(tenant)
        samplesCollected = SelfMetric.samplesCollected.counter(tenant)
        checkpointWriteFailures = SelfMetric.checkpointWriteFailures.counter(tenant)
        limiterActive = SelfMetric.limiterActive.gauge(tenant, limiter.rawValue)
        limiterMax = SelfMetric.limiterMax.gauge(tenant, limiter.rawValue)
        limited = SelfMetric.limited.counter(tenant, limiter.rawValue)
        serviceGraphEdges = SelfMetric.serviceGraphEdges.counter(tenant)
        serviceGraphCompletedEdges = SelfMetric.serviceGraphCompletedEdges.counter(tenant)
        serviceGraphDroppedSpans = SelfMetric.serviceGraphDroppedSpans.counter(tenant)
        serviceGraphDroppedEdges = SelfMetric.serviceGraphDroppedEdges.counter(tenant)
        serviceGraphMarkerOverflow = SelfMetric.serviceGraphMarkerOverflow.counter(tenant)
        serviceGraphInvalidUTF8Edges = SelfMetric.serviceGraphInvalidUTF8Edges.counter(tenant)
        pendingEdges = SelfMetric.serviceGraphPendingEdges.gauge(tenant)
        pendingBytes = SelfMetric.serviceGraphPendingBytes.gauge(tenant)
    }

    /// The tenant's counter of `metric` whose other labels (after `tenant`) are `values`.
    func counter(_ metric: SelfMetric, _ values: String...) -> Counter {
        handle(metric, values) { metric.counter(labelValues: $0) }
    }

    /// The tenant's gauge of `metric` whose other labels (after `tenant`) are `values`.
    func gauge(_ metric: SelfMetric, _ values: String...) -> Gauge {
        handle(metric, values) { metric.gauge(labelValues: $0) }
    }

    private func handle<Handle: Sendable>(
        _ metric: SelfMetric,
        _ values: [String],
        make: ([String]) -> Handle
    ) -> Handle {
        let key = LabelledKey(metric: metric.name, values: values)
        return labelled.withLock { handles in
            if let handle = handles[key] as? Handle { return handle }
            let handle = make([tenant] + values)
            handles[key] = handle
            return handle
        }
    }

    /// Counts what the tenant's processors did in a push or an expiry pass, and logs (at most every 10 s) what lost
    /// data.
    func record(_ report: ProcessorReport, logger: Logger) {
        for (discard, count) in report.discardedSpans {
            counter(.spansDiscarded, discard.processor, discard.reason).increment(by: count)
        }
        for (label, count) in report.labelValuesLimited {
            counter(.labelValuesLimited, label).increment(by: count)
        }
        let invalid = report.discardedSpans.reduce(0) { $0 + ($1.key.reason == "invalid_utf8" ? $1.value : 0) }
        if invalid > 0 && LogThrottle.perPush.allows("\(tenant)/invalid_utf8") {
            logger.warning(
                "dropped spans whose label values are not valid UTF-8 (logged at most every 10 s)",
                metadata: ["tenant": "\(tenant)", "spans": "\(invalid)"]
            )
        }
        record(report.serviceGraphs, logger: logger)
        record(report.spanNames, logger: logger)
    }

    /// Tempo's `spans_sanitized_total` and `drain_*` counters.
    private func record(_ counts: SpanNameSanitization.Counts, logger: Logger) {
        if counts.sanitized > 0 { counter(.spansSanitized).increment(by: counts.sanitized) }
        if counts.patternsDetected > 0 { counter(.drainPatternsDetected).increment(by: counts.patternsDetected) }
        for (reason, count) in counts.skipped { counter(.drainLinesSkipped, reason).increment(by: count) }
        for (reason, count) in counts.patternsEvicted { counter(.drainPatternsEvicted, reason).increment(by: count) }
        let evicted = counts.patternsEvicted.values.reduce(0, +)
        if evicted > 0 && LogThrottle.perPush.allows("\(tenant)/drain_patterns_evicted") {
            logger.warning(
                "span-name cluster cache full; least recently used clusters evicted (logged at most every 10 s)",
                metadata: ["tenant": "\(tenant)", "evicted": "\(evicted)"]
            )
        }
    }

    /// Tempo's `tempo_metrics_generator_processor_service_graphs_*` counters, prefixed `metronome_service_graph_`.
    private func record(_ result: ServiceGraphsProcessor.Result, logger: Logger) {
        func add(_ counter: Counter, _ value: Int) { if value > 0 { counter.increment(by: value) } }
        add(serviceGraphEdges, result.newEdges)
        add(serviceGraphCompletedEdges, result.completedEdges)
        add(serviceGraphDroppedSpans, result.droppedSpans)
        add(serviceGraphDroppedEdges, result.droppedEdges)
        add(serviceGraphMarkerOverflow, result.markerOverflow)
        add(serviceGraphInvalidUTF8Edges, result.invalidUTF8)
        for (kind, expired) in result.expiredByKind where expired > 0 {
            let name =
                kind >= 0 && Int(kind) < OTLPEnumNames.spanKinds.count ? OTLPEnumNames.spanKinds[Int(kind)] : "\(kind)"
            counter(.serviceGraphExpiredEdges, name).increment(by: expired)
        }
        if result.droppedSpans > 0 && LogThrottle.perPush.allows("\(tenant)/service_graph_dropped_spans") {
            logger.warning(
                "service-graph pairing store full (max_items or max_pending_bytes); spans dropped (logged at most every 10 s)",
                metadata: ["tenant": "\(tenant)", "spans": "\(result.droppedSpans)"]
            )
        }
        if result.invalidUTF8 > 0 && LogThrottle.perPush.allows("\(tenant)/service_graph_invalid_utf8") {
            logger.warning(
                "dropped service-graph edges whose labels are not valid UTF-8",
                metadata: ["tenant": "\(tenant)", "edges": "\(result.invalidUTF8)"]
            )
        }
    }
}
