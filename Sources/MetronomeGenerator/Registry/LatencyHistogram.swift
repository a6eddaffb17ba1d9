import Synchronization

/// Where one latency histogram of a processor lives in its entries — classic doubles, a native histogram, or both
/// (`generate_native_histograms`) — and how an observation is added to it (spec §5.3, §5.4).
struct LatencyHistogram: Sendable {
    let bounds: HistogramBounds
    /// The classic part's offset among an entry's doubles, or -1.
    let offset: Int
    /// The native part's slot among an entry's native histograms, or -1.
    let nativeSlot: Int
    let settings: NativeHistogramSettings
    /// How often its native histograms passed the bucket limit.
    let bucketLimitEvents = BucketLimitEvents()

    /// The histogram named `name` of `layout`; neither part when the layout has no such metric.
    init(_ name: String, layout: MetricLayout, bounds: HistogramBounds, settings: NativeHistogramSettings) {
        self.bounds = bounds
        self.offset = layout.offset(of: name)
        self.nativeSlot = layout.nativeSlot(of: name)
        self.settings = settings
    }

    var isEnabled: Bool { offset >= 0 || nativeSlot >= 0 }

    /// Observes `latency` (seconds) with the span's multiplier `weight`, in classic bucket `bucket`
    /// (``HistogramBounds/bucket(of:)``). Classic: weighted sums and counts, and the trace id as the bucket's
    /// exemplar. Native: `ceil(weight)` observations (Tempo's loop, spec §5.4 QUIRK, kept), with the trace id among
    /// the histogram's exemplars in `native` mode.
    @inline(__always)
    func observe(
        _ latency: Double,
        weight: Double,
        bucket: Int,
        traceID: (high: UInt64, low: UInt64)?,
        values: UnsafeMutableBufferPointer<Double>,
        natives: UnsafeMutableBufferPointer<NativeHistogram>,
        exemplars: inout SeriesStore.Exemplars,
        nowMs: Int64
    ) {
        if offset >= 0 {
            let slot = bounds.observe(latency, weight: weight, bucket: bucket, into: values, at: offset)
            if traceID != nil {
                exemplars.traceID = traceID
                exemplars.add(slot: slot, value: latency)
            }
        }
        guard nativeSlot >= 0 else { return }
        let action = natives[nativeSlot].observe(
            latency,
            times: Self.observations(weight),
            exemplar: settings.mode == .native ? traceID : nil,
            nowMs: nowMs,
            settings: settings
        )
        if let action { bucketLimitEvents.count(action) }
    }

    /// Tempo observes a native histogram `while i < multiplier`: `ceil(weight)` times, none for a weight that is not
    /// positive. Bounded so that an absurd multiplier cannot overflow a count.
    @inline(__always)
    static func observations(_ weight: Double) -> UInt64 {
        guard weight > 0 else { return 0 }
        return weight >= 0x1p40 ? 1 << 40 : UInt64(weight.rounded(.up))
    }
}

/// Counts of native histograms passing `native_histogram_max_bucket_number`, by what they did, until collection takes
/// them for self-metrics.
final class BucketLimitEvents: Sendable {
    private let resets = Atomic<Int>(0)
    private let halvings = Atomic<Int>(0)

    func count(_ action: NativeHistogram.BucketLimitAction) {
        switch action {
        case .reset: resets.add(1, ordering: .relaxed)
        case .halved: halvings.add(1, ordering: .relaxed)
        }
    }

    /// The counts since the previous call, zeroing them.
    func take() -> (resets: Int, halvings: Int) {
        (resets.exchange(0, ordering: .relaxed), halvings.exchange(0, ordering: .relaxed))
    }
}
