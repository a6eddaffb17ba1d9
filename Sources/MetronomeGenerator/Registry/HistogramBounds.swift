/// A classic histogram's upper bounds, sorted ascending with `+Inf` implied, and where an observation goes among
/// the histogram's doubles (see ``MetricLayout``: sum, count, then one non-cumulative count per bucket).
struct HistogramBounds: Sendable, Equatable {
    /// The finite upper bounds, ascending.
    let upperBounds: [Double]

    init(_ buckets: [Double]) { upperBounds = buckets.sorted() }

    /// The index of the bucket `value` falls in: the first bound not below it, or the `+Inf` bucket.
    @inline(__always)
    func bucket(of value: Double) -> Int {
        var bucket = 0
        while bucket < upperBounds.count && value > upperBounds[bucket] { bucket += 1 }
        return bucket
    }

    /// Adds `weight` observations of `value` to the histogram whose doubles start at `offset` in `values`.
    /// - Returns: the value slot of the bucket it fell in, for its exemplar.
    @inline(__always)
    @discardableResult
    func observe(
        _ value: Double,
        weight: Double,
        bucket: Int,
        into values: UnsafeMutableBufferPointer<Double>,
        at offset: Int
    ) -> Int {
        values[offset] += value * weight
        values[offset + 1] += weight
        values[offset + 2 + bucket] += weight
        return offset + 2 + bucket
    }
}
