import Foundation
import MetronomeWire

/// A Prometheus native histogram as the Prometheus Go client keeps one, which is what Tempo observes into (spec §5.4):
/// exponential buckets whose resolution is the schema, a zero bucket, and a bounded bucket count.
///
/// Buckets are sparse: only those observed are stored, sorted by index, so memory grows with the buckets used, not
/// with the schema's range. Counts are integers, as the client's are.
struct NativeHistogram: Equatable, Sendable {
    /// The client's default zero threshold, which Tempo keeps: values of at most 2^-128 (and 0) count in the zero
    /// bucket.
    static let zeroThreshold = 0x1p-128
    /// Exemplars kept per histogram between collections in `native` mode (the client's default).
    static let maxExemplars = 10

    /// A bucket in use: its index and count (never 0).
    struct Bucket: Equatable, Sendable {
        var index: Int32
        var count: UInt64
    }

    private(set) var schema: Int32
    private(set) var count: UInt64 = 0
    private(set) var sum: Double = 0
    private(set) var zeroCount: UInt64 = 0
    private(set) var positive: [Bucket] = []
    private(set) var negative: [Bucket] = []
    /// When the histogram was created or last reset.
    private(set) var lastResetMs: Int64
    /// When a reset is due because the bucket limit was passed before the minimum reset duration (0: none).
    private(set) var resetDueMs: Int64 = 0
    /// Observations with a trace id since the last collection, at most ``maxExemplars``.
    private(set) var exemplars: [StoredExemplar] = []

    init(schema: Int32, nowMs: Int64) {
        self.schema = schema
        self.lastResetMs = nowMs
    }

    /// Puts back a histogram from a checkpoint.
    init(
        schema: Int32,
        count: UInt64,
        sum: Double,
        zeroCount: UInt64,
        positive: [Bucket],
        negative: [Bucket],
        lastResetMs: Int64,
        resetDueMs: Int64
    ) {
        self.schema = schema
        self.count = count
        self.sum = sum
        self.zeroCount = zeroCount
        self.positive = positive
        self.negative = negative
        self.lastResetMs = lastResetMs
        self.resetDueMs = resetDueMs
    }

    /// The number of buckets in use (the zero bucket aside), which ``NativeHistogramSettings/maxBucketNumber`` bounds.
    var bucketCount: Int { positive.count + negative.count }

    // MARK: - Bucket index

    /// The client's schema for a bucket factor: the largest resolution whose buckets grow by at most `factor`,
    /// `-floor(log2(log2(factor)))`, within −4…8.
    static func schema(forBucketFactor factor: Double) -> Int32 {
        let floor = (log2(log2(factor))).rounded(.down)
        if floor <= -8 { return 8 }
        if floor >= 4 { return -4 }
        return -Int32(floor)
    }

    /// Per positive schema, the upper bounds of one power of two's buckets as fractions of it: `2^(i/2^schema) / 2`.
    private static let fractionBounds: [[Double]] = (1...8).map { schema in
        let buckets = 1 << schema
        return (0..<buckets).map { exp2(Double($0) / Double(buckets)) / 2 }
    }

    /// The index of the bucket holding `magnitude` (> 0) at `schema`: the bucket `i` with
    /// `2^((i-1)/2^schema) < magnitude ≤ 2^(i/2^schema)`, computed as the Go client does, from the binary exponent
    /// and mantissa so that powers of two land exactly on their bucket's upper bound. +Inf goes one past the largest
    /// finite value's bucket.
    static func bucketIndex(of magnitude: Double, schema: Int32) -> Int32 {
        let isInfinite = magnitude.isInfinite
        let value = isInfinite ? Double.greatestFiniteMagnitude : magnitude
        // frexp: value = fraction · 2^exponent with fraction in [0.5, 1).
        let exponent = Int(value.exponent) + 1
        let fraction = value.significand / 2
        var index: Int
        if schema > 0 {
            let bounds = fractionBounds[Int(schema) - 1]
            var low = 0
            var high = bounds.count
            while low < high {
                let middle = (low + high) / 2
                if bounds[middle] < fraction { low = middle + 1 } else { high = middle }
            }
            index = low + (exponent - 1) * bounds.count
        } else {
            index = fraction == 0.5 ? exponent - 1 : exponent
            let offset = (1 << -schema) - 1
            index = (index + offset) >> -schema
        }
        if isInfinite { index += 1 }
        return Int32(index)
    }

    // MARK: - Observing

    /// Observes `value` `times` times (Tempo observes a span `ceil(multiplier)` times, spec §5.4), then keeps the
    /// bucket count within the settings' maximum as the client does: reset when the minimum reset duration has
    /// passed since the last one (keeping this observation), else halve the resolution and schedule a reset for
    /// when that duration has passed.
    /// - Returns: what the bucket limit made it do, if anything.
    @discardableResult
    mutating func observe(
        _ value: Double,
        times: UInt64,
        exemplar: (high: UInt64, low: UInt64)?,
        nowMs: Int64,
        settings: NativeHistogramSettings
    ) -> BucketLimitAction? {
        guard times > 0 else { return nil }
        resetIfDue(nowMs: nowMs, settings: settings)
        add(value, times: times)
        if let exemplar {
            keepExemplar(StoredExemplar(traceIDHigh: exemplar.high, traceIDLow: exemplar.low, value: value))
        }
        guard settings.maxBucketNumber > 0, bucketCount > settings.maxBucketNumber else { return nil }
        if settings.minResetDurationMs > 0 && resetDueMs == 0 && nowMs - lastResetMs >= settings.minResetDurationMs {
            reset(nowMs: nowMs, settings: settings)
            add(value, times: times)
            return .reset
        }
        if settings.minResetDurationMs > 0 && resetDueMs == 0 {
            resetDueMs = lastResetMs + settings.minResetDurationMs
        }
        halveResolution()
        return .halved
    }

    /// What passing `native_histogram_max_bucket_number` made a histogram do.
    enum BucketLimitAction {
        /// Started over (the minimum reset duration had passed).
        case reset
        /// Halved its resolution (a reset follows once the minimum reset duration has passed).
        case halved
    }

    /// Resets the histogram when a scheduled reset is due (the client's reset timer).
    mutating func resetIfDue(nowMs: Int64, settings: NativeHistogramSettings) {
        if resetDueMs > 0 && nowMs >= resetDueMs { reset(nowMs: nowMs, settings: settings) }
    }

    private mutating func add(_ value: Double, times: UInt64) {
        count &+= times
        sum += value * Double(times)
        guard !value.isNaN else { return }
        if value > Self.zeroThreshold {
            Self.add(times, at: Self.bucketIndex(of: value, schema: schema), to: &positive)
        } else if value < -Self.zeroThreshold {
            Self.add(times, at: Self.bucketIndex(of: -value, schema: schema), to: &negative)
        } else {
            zeroCount &+= times
        }
    }

    private static func add(_ count: UInt64, at index: Int32, to buckets: inout [Bucket]) {
        var low = 0
        var high = buckets.count
        while low < high {
            let middle = (low + high) / 2
            if buckets[middle].index < index { low = middle + 1 } else { high = middle }
        }
        if low < buckets.count && buckets[low].index == index {
            buckets[low].count &+= count
        } else {
            buckets.insert(Bucket(index: index, count: count), at: low)
        }
    }

    /// Starts over empty at the configured schema (the client's `resetCounts`).
    private mutating func reset(nowMs: Int64, settings: NativeHistogramSettings) {
        let kept = exemplars
        self = NativeHistogram(schema: settings.schema, nowMs: nowMs)
        exemplars = kept
    }

    /// Merges every two neighbouring buckets into one of the next lower schema (bucket `i` goes to `ceil(i/2)`), as
    /// the client's `doubleBucketWidth`; nothing below schema −4.
    mutating func halveResolution() {
        guard schema > -4 else { return }
        schema -= 1
        for side in [\NativeHistogram.positive, \NativeHistogram.negative] {
            var merged: [Bucket] = []
            merged.reserveCapacity(self[keyPath: side].count / 2 + 1)
            for bucket in self[keyPath: side] {
                let index = bucket.index > 0 ? (bucket.index + 1) / 2 : bucket.index / 2
                if let last = merged.last, last.index == index {
                    merged[merged.count - 1].count &+= bucket.count
                } else {
                    merged.append(Bucket(index: index, count: bucket.count))
                }
            }
            self[keyPath: side] = merged
        }
    }

    /// Adds `other` (the overflow series gathers a batch's turned-away observations this way), at the lower of the
    /// two schemas.
    mutating func merge(_ other: NativeHistogram, nowMs: Int64, settings: NativeHistogramSettings) {
        var other = other
        while other.schema > schema { other.halveResolution() }
        while schema > other.schema { halveResolution() }
        count &+= other.count
        sum += other.sum
        zeroCount &+= other.zeroCount
        for bucket in other.positive { Self.add(bucket.count, at: bucket.index, to: &positive) }
        for bucket in other.negative { Self.add(bucket.count, at: bucket.index, to: &negative) }
        while settings.maxBucketNumber > 0 && bucketCount > settings.maxBucketNumber && schema > -4 {
            halveResolution()
        }
    }

    // MARK: - Exemplars

    /// Keeps `exemplar`; when ``maxExemplars`` are kept, it replaces the one closest in value, so the kept ones stay
    /// spread over the observed values.
    private mutating func keepExemplar(_ exemplar: StoredExemplar) {
        guard exemplars.count >= Self.maxExemplars else {
            exemplars.append(exemplar)
            return
        }
        var closest = 0
        for index in exemplars.indices
        where abs(exemplars[index].value - exemplar.value) < abs(exemplars[closest].value - exemplar.value) {
            closest = index
        }
        exemplars[closest] = exemplar
    }

    /// Forgets the exemplars (after a collection emitted them).
    mutating func clearExemplars() {
        if !exemplars.isEmpty { exemplars.removeAll(keepingCapacity: true) }
    }

    // MARK: - Exposition

    /// Writes the histogram as a remote-write sample into `sample`, reusing its arrays. Spans bridge gaps of up to
    /// two empty buckets, as the client's `makeBuckets` does.
    func export(timestampMs: Int64, into sample: inout NativeHistogramSample) {
        sample.schema = schema
        sample.zeroThreshold = Self.zeroThreshold
        sample.zeroCount = zeroCount
        sample.count = count
        sample.sum = sum
        sample.timestampMs = timestampMs
        Self.encode(positive, spans: &sample.positiveSpans, deltas: &sample.positiveDeltas)
        Self.encode(negative, spans: &sample.negativeSpans, deltas: &sample.negativeDeltas)
    }

    private static func encode(
        _ buckets: [Bucket],
        spans: inout [NativeHistogramSample.BucketSpan],
        deltas: inout [Int64]
    ) {
        spans.removeAll(keepingCapacity: true)
        deltas.removeAll(keepingCapacity: true)
        var next: Int32 = 0
        var previous: Int64 = 0
        for (position, bucket) in buckets.enumerated() {
            let gap = bucket.index - next
            if position == 0 || gap > 2 {
                spans.append(NativeHistogramSample.BucketSpan(offset: gap, length: 0))
            } else {
                for _ in 0..<gap {
                    spans[spans.count - 1].length += 1
                    deltas.append(-previous)
                    previous = 0
                }
            }
            let count = Int64(truncatingIfNeeded: bucket.count)
            spans[spans.count - 1].length += 1
            deltas.append(count - previous)
            previous = count
            next = bucket.index + 1
        }
    }

    /// Approximate heap bytes of the buckets and exemplars.
    var heapBytes: Int {
        (positive.capacity + negative.capacity) * MemoryLayout<Bucket>.stride
            + exemplars.capacity * MemoryLayout<StoredExemplar>.stride
    }
}
