/// How a tenant's latency histograms are written — `generate_native_histograms` and the native histograms'
/// parameters (spec §5.4, §6) — for span metrics' `traces_spanmetrics_latency` and the service graphs' latency
/// histograms.
public struct NativeHistogramSettings: Sendable, Equatable {
    /// `generate_native_histograms`.
    public enum Mode: String, Sendable, CaseIterable {
        /// `_bucket`, `_sum` and `_count` series with the configured buckets (Tempo's default).
        case classic
        /// One native-histogram series per label set, with its exemplars.
        case native
        /// Both; exemplars on the classic buckets only (as Tempo).
        case both
    }

    public var mode = Mode.classic
    /// `native_histogram_bucket_factor`: how much wider each bucket may be than the previous (> 1); it picks the
    /// schema.
    public var bucketFactor = 1.1
    /// `native_histogram_max_bucket_number`: beyond this many buckets the histogram resets or halves its resolution
    /// (0: no limit).
    public var maxBucketNumber = 100
    /// `native_histogram_min_reset_duration`: a histogram over its bucket limit resets at most this often.
    public var minResetDurationMs: Int64 = 15 * 60_000

    public init() {}

    /// The resolution the bucket factor picks (1.1 → 3).
    public var schema: Int32 { NativeHistogram.schema(forBucketFactor: bucketFactor) }
    /// Whether the classic series are written.
    public var writesClassic: Bool { mode != .native }
    /// Whether native histograms are written (and so the remote-write receiver must accept them).
    public var writesNative: Bool { mode != .classic }
}
