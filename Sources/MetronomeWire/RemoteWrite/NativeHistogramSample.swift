/// One sample of a Prometheus native histogram, as remote write carries it (`prompb.Histogram` with integer counts):
/// buckets as spans of consecutive bucket indexes, and each bucket's count as the difference from the previous one.
public struct NativeHistogramSample: Equatable, Sendable {
    /// A run of `length` consecutive buckets starting `offset` indexes after the end of the previous run (after 0
    /// for the first).
    public struct BucketSpan: Equatable, Sendable {
        public var offset: Int32
        public var length: UInt32

        public init(offset: Int32, length: UInt32) {
            self.offset = offset
            self.length = length
        }
    }

    /// Resolution: bucket `i` ends at `2^(i · 2^-schema)`.
    public var schema: Int32
    public var zeroThreshold: Double
    public var zeroCount: UInt64
    public var count: UInt64
    public var sum: Double
    public var positiveSpans: [BucketSpan]
    /// Bucket counts in span order, each as its difference from the previous bucket's (the first from 0).
    public var positiveDeltas: [Int64]
    public var negativeSpans: [BucketSpan]
    public var negativeDeltas: [Int64]
    public var timestampMs: Int64

    public init(
        schema: Int32,
        zeroThreshold: Double,
        zeroCount: UInt64 = 0,
        count: UInt64 = 0,
        sum: Double = 0,
        positiveSpans: [BucketSpan] = [],
        positiveDeltas: [Int64] = [],
        negativeSpans: [BucketSpan] = [],
        negativeDeltas: [Int64] = [],
        timestampMs: Int64
    ) {
        self.schema = schema
        self.zeroThreshold = zeroThreshold
        self.zeroCount = zeroCount
        self.count = count
        self.sum = sum
        self.positiveSpans = positiveSpans
        self.positiveDeltas = positiveDeltas
        self.negativeSpans = negativeSpans
        self.negativeDeltas = negativeDeltas
        self.timestampMs = timestampMs
    }

    /// The bucket counts as (index, count) pairs, from spans and deltas (for tests and decoders).
    public static func buckets(spans: [BucketSpan], deltas: [Int64]) -> [(index: Int32, count: Int64)] {
        var buckets: [(index: Int32, count: Int64)] = []
        var index: Int32 = 0
        var count: Int64 = 0
        var delta = deltas.makeIterator()
        for span in spans {
            index += span.offset
            for _ in 0..<span.length {
                count += delta.next() ?? 0
                buckets.append((index, count))
                index += 1
            }
        }
        return buckets
    }
}
