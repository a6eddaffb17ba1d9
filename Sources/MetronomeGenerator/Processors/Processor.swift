import MetronomeWire

/// One of a tenant's processors, as its ``Generator`` drives it: a processor turns span batches into series kept in
/// stores that the generator collects, snapshots, checkpoints and measures without knowing what they hold.
///
/// A processor is registered in ``ProcessorRegistry``; the generator needs nothing else to run it.
protocol Processor: AnyObject, Sendable {
    /// The name in `processors` lists, self-metric labels and checkpoints.
    static var name: String { get }
    /// The processor names that enable it in `overrides…processors`: its own and its sub-processors'.
    static var enablingNames: [String] { get }
    /// Makes the processor for a tenant, or nil when `configuration.processors` leaves it out. After a
    /// reconfiguration, `previous` is the processor it replaces: series whose identity is unchanged continue in it.
    static func make(
        _ configuration: Generator.Configuration,
        limiter: SeriesLimiter,
        nowMs: Int64,
        continuing previous: Self?
    ) -> Self?

    /// Its series, in collection order.
    var stores: ProcessorStores { get }
    /// Updates the series of every span in `batch` it takes part in, adding what it did to `report`.
    func push(_ batch: SpanBatch, nowMs: Int64, report: inout ProcessorReport)
    /// Periodic work between pushes (service graphs expire unpaired edges); by default none.
    func expire(nowMs: Int64, report: inout ProcessorReport)
    /// State held outside the stores while it waits for more spans (service graphs' unpaired edges).
    var pending: (count: Int, bytes: Int) { get }
    /// Adds its estimate of the series it would have without limits to `result`; by default none.
    func addDemand(to result: inout Generator.CollectionResult)
    /// Its latency histograms, whose native bucket-limit events collection reports; by default none.
    var latencyHistograms: [LatencyHistogram] { get }
    /// Heap bytes of state it keeps beside its stores and pending state (span metrics' span-name clusters).
    var auxiliaryBytes: Int { get }
    /// Rebuilds what it derives from its series after they were restored from a checkpoint; by default nothing.
    func restored()
}

extension Processor {
    func expire(nowMs: Int64, report: inout ProcessorReport) {}
    var pending: (count: Int, bytes: Int) { (0, 0) }
    func addDemand(to result: inout Generator.CollectionResult) {}
    var latencyHistograms: [LatencyHistogram] { [] }
    var auxiliaryBytes: Int { 0 }
    func restored() {}
}

/// A processor's stores: series with fixed label names, checkpointed under their names, then info series (label
/// names that vary, such as `traces_target_info`), which are not.
struct ProcessorStores: Sendable {
    var series: [(name: String, store: SeriesStore)] = []
    var info: [InfoStore] = []
}

/// Every processor Metronome implements, in collection order. A new processor is its folder plus one line here.
public enum ProcessorRegistry {
    static let all: [any Processor.Type] = [
        SpanMetricsProcessor.self, ServiceGraphsProcessor.self, HostInfoProcessor.self,
    ]

    /// Every name a `processors` list may use for a processor Metronome implements.
    public static var enablingNames: [String] { all.flatMap { $0.enablingNames } }
}

/// What a tenant's processors did in one push or expiry pass, for self-metrics.
public struct ProcessorReport: Sendable, Equatable {
    /// Spans a processor left out, by processor and reason (Tempo's `spans_discarded_total{processor, reason}`).
    public var discardedSpans: [SpanDiscard: Int] = [:]
    /// Spans (or edges) counted in a processor's `{metric_overflow="true"}` series because of the series limit,
    /// by processor.
    public var overflowed: [String: Int] = [:]
    /// Label values replaced by `__cardinality_overflow__`, by label name.
    public var labelValuesLimited: [String: Int] = [:]
    /// What the service-graph pairing did.
    public var serviceGraphs = ServiceGraphsProcessor.Result()
    /// What span-name sanitization did.
    public var spanNames = SpanNameSanitization.Counts()

    public init() {}

    /// Counts `count` spans `processor` left out for `reason`.
    mutating func discard(_ count: Int, processor: String, reason: String) {
        guard count > 0 else { return }
        discardedSpans[SpanDiscard(processor: processor, reason: reason), default: 0] += count
    }

    /// Counts `count` spans (or edges) `processor` sent to its overflow series.
    mutating func overflow(_ count: Int, processor: String) {
        guard count > 0 else { return }
        overflowed[processor, default: 0] += count
    }

    /// The spans `processor` left out for `reason`.
    public func discarded(by processor: String, _ reason: String) -> Int {
        discardedSpans[SpanDiscard(processor: processor, reason: reason)] ?? 0
    }
}

/// Who left a span out and why.
public struct SpanDiscard: Hashable, Sendable {
    /// The processor's name, or `all` for the distributor's checks.
    public var processor: String
    /// The `reason` label: `span_metrics_filtered`, `service_graphs_filtered`, `invalid_utf8`, ….
    public var reason: String

    public init(processor: String, reason: String) {
        self.processor = processor
        self.reason = reason
    }
}
