/// Encodes series into Prometheus remote-write 1.0 `WriteRequest` messages (`prompb`), uncompressed, splitting them
/// so that no request carries more than a set number of samples, and partitioning series into send shards by a hash
/// of their labels, so a series always travels in the same shard and its samples stay in order.
///
/// Field numbers: `WriteRequest.timeseries = 1`; `TimeSeries.labels = 1, samples = 2, exemplars = 3, histograms = 4`; `Label.name = 1, value = 2`;
/// `Sample.value = 1 (double), timestamp = 2 (int64 ms)`. Sizes are computed before writing, so every length prefix
/// is minimal, nothing is moved, and a series is written in place in one piece.
public struct RemoteWriteEncoder: SampleSink {
    /// One finished `WriteRequest`.
    public struct Request: Sendable, Equatable {
        /// The uncompressed protobuf bytes.
        public var bytes: [UInt8]
        /// The number of samples it carries.
        public var samples: Int
        /// The send shard of every series in it, in `0..<shards`.
        public var shard: Int

        public init(bytes: [UInt8], samples: Int, shard: Int) {
            self.bytes = bytes
            self.samples = samples
            self.shard = shard
        }
    }

    /// The finished requests: per shard in the order their series were appended.
    public private(set) var requests: [Request] = []
    /// The number of samples written across all requests.
    public private(set) var sampleCount = 0
    /// The bytes of ``requests``.
    public private(set) var finishedBytes = 0

    private let maxSamplesPerRequest: Int
    /// Where a series' histogram messages are written first, to learn their sizes.
    private var histogramScratch = ProtobufWriter()
    private var open: [(writer: ProtobufWriter, samples: Int)]

    /// - Parameters:
    ///   - maxSamplesPerRequest: a series is never split; a request is closed once it holds at least this many
    ///     samples (Prometheus' `max_samples_per_send`, default 2000).
    ///   - shards: the number of send shards series are partitioned into.
    public init(maxSamplesPerRequest: Int = 2000, shards: Int = 1) {
        self.maxSamplesPerRequest = max(1, maxSamplesPerRequest)
        open = Array(repeating: (ProtobufWriter(), 0), count: max(1, shards))
    }

    /// The send shard of a series: a hash of its label bytes, so it never changes while the labels do not.
    static func shard(of labels: UnsafeBufferPointer<LabelRef>, shards: Int) -> Int {
        guard shards > 1 else { return 0 }
        var hash = SeriesHash.seed
        for (column, label) in labels.enumerated() {
            hash = SeriesHash.combine(hash, SeriesHash.hash(label.value), column: column)
        }
        return Int(hash % UInt64(shards))
    }

    public mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    ) {
        var bodySize = 0
        for sample in samples { bodySize += Self.fieldSize(Self.sampleSize(sample)) }
        if let exemplar { bodySize += Self.fieldSize(Self.exemplarSize(exemplar)) }
        appendSeries(labels: labels, bodySize: bodySize, samples: samples.count) { writer in
            for sample in samples {
                writer.writeTag(2, .lengthDelimited)
                writer.writeVarint(UInt64(Self.sampleSize(sample)))
                writer.writeDoubleField(1, sample.value)
                if sample.timestampMs != 0 {
                    writer.writeVarintField(2, UInt64(bitPattern: sample.timestampMs))
                }
            }
            if let exemplar { Self.write(exemplar, to: &writer) }
        }
    }

    /// Writes a native-histogram series: `TimeSeries.exemplars = 3`, `histograms = 4` (`prompb.Histogram`: integer
    /// counts `count_int = 1`, `sum = 3`, `schema = 4` (sint32), `zero_threshold = 5`, `zero_count_int = 6`,
    /// `negative_spans = 8`, `negative_deltas = 9` (packed sint64), `positive_spans = 11`, `positive_deltas = 12`,
    /// `timestamp = 15`; `BucketSpan.offset = 1` (sint32), `length = 2`). Each histogram counts as one sample; the
    /// exemplars follow in a second entry of the same series.
    public mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {
        histogramScratch.reset()
        var ends: [Int] = []
        ends.reserveCapacity(histograms.count)
        for histogram in histograms {
            Self.write(histogram, to: &histogramScratch)
            ends.append(histogramScratch.bytes.count)
        }
        var bodySize = 0
        var start = 0
        for end in ends {
            bodySize += Self.fieldSize(end - start)
            start = end
        }
        let encoded = histogramScratch.bytes
        encoded.withUnsafeBytes { encoded in
            appendSeries(labels: labels, bodySize: bodySize, samples: histograms.count) { writer in
                var start = 0
                for end in ends {
                    writer.writeBytesField(4, UnsafeRawBufferPointer(rebasing: encoded[start..<end]))
                    start = end
                }
            }
        }
        guard !exemplars.isEmpty else { return }
        // Prometheus' receiver adds a series' exemplars before its histograms, and drops an exemplar of a series it
        // does not have yet: a new native series would lose its first exemplars. So they follow in a series entry
        // of their own, after the histograms (same labels, so the same shard, in order).
        var exemplarSize = 0
        for exemplar in exemplars { exemplarSize += Self.fieldSize(Self.exemplarSize(exemplar)) }
        appendSeries(labels: labels, bodySize: exemplarSize, samples: 0) { writer in
            for exemplar in exemplars { Self.write(exemplar, to: &writer) }
        }
    }

    /// Writes one `TimeSeries` of `labels` whose other fields `writeBody` writes in exactly `bodySize` bytes, in place
    /// (``ProtobufWriter/writeInPlace(count:_:)``), into the open request of the series' shard, and closes that request
    /// once it holds enough samples.
    private mutating func appendSeries(
        labels: UnsafeBufferPointer<LabelRef>,
        bodySize: Int,
        samples: Int,
        _ writeBody: (inout FixedProtobufWriter) -> Void
    ) {
        var seriesSize = bodySize
        for label in labels { seriesSize += Self.fieldSize(Self.labelSize(label)) }
        let shard = Self.shard(of: labels, shards: open.count)
        var current = open[shard].writer
        open[shard].writer = ProtobufWriter()
        defer { open[shard].writer = current }
        current.writeInPlace(count: Self.fieldSize(seriesSize)) { writer in
            writer.writeTag(1, .lengthDelimited)
            writer.writeVarint(UInt64(seriesSize))
            for label in labels { Self.write(label, to: &writer) }
            writeBody(&writer)
        }
        sampleCount += samples
        open[shard].samples += samples
        if open[shard].samples >= maxSamplesPerRequest {
            finishedBytes += current.bytes.count
            requests.append(Request(bytes: current.bytes, samples: open[shard].samples, shard: shard))
            current = ProtobufWriter()
            open[shard].samples = 0
        }
    }

    private static func write(_ label: LabelRef, to writer: inout FixedProtobufWriter) {
        writer.writeTag(1, .lengthDelimited)
        writer.writeVarint(UInt64(labelSize(label)))
        writer.writeBytesField(1, label.name)
        writer.writeBytesField(2, label.value)
    }

    /// `Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3 }` as field 3 of a series.
    private static func write(_ exemplar: ExemplarRef, to writer: inout FixedProtobufWriter) {
        writer.writeTag(3, .lengthDelimited)
        writer.writeVarint(UInt64(exemplarSize(exemplar)))
        write(LabelRef(name: exemplar.labelName, value: exemplar.labelValue), to: &writer)
        writer.writeDoubleField(2, exemplar.value)
        writer.writeVarintField(3, UInt64(bitPattern: exemplar.timestampMs))
    }

    /// One `Histogram` message, without its field tag and length.
    private static func write(_ histogram: NativeHistogramSample, to writer: inout ProtobufWriter) {
        // The counts are a oneof: written even when 0, so the histogram is read as an integer one.
        writer.writeVarintField(1, histogram.count)
        writer.writeDoubleField(3, histogram.sum)
        if histogram.schema != 0 { writer.writeVarintField(4, ProtobufWriter.zigzag(Int64(histogram.schema))) }
        writer.writeDoubleField(5, histogram.zeroThreshold)
        writer.writeVarintField(6, histogram.zeroCount)
        writer.writeBucketSpans(8, histogram.negativeSpans)
        writer.writePackedDeltas(9, histogram.negativeDeltas)
        writer.writeBucketSpans(11, histogram.positiveSpans)
        writer.writePackedDeltas(12, histogram.positiveDeltas)
        writer.writeVarintField(15, UInt64(bitPattern: histogram.timestampMs))
    }

    /// The bytes of a length-delimited field holding `size` bytes (one-byte tag).
    private static func fieldSize(_ size: Int) -> Int {
        1 + ProtobufWriter.varintSize(UInt64(size)) + size
    }

    /// Closes the requests being written, if they hold anything, and returns every finished request.
    public mutating func finish() -> [Request] {
        for shard in open.indices where !open[shard].writer.bytes.isEmpty {
            requests.append(Request(bytes: open[shard].writer.bytes, samples: open[shard].samples, shard: shard))
            open[shard] = (ProtobufWriter(), 0)
        }
        return takeFinished()
    }

    /// Removes and returns the finished requests (the open ones stay open), so a long collection can hand its
    /// requests on in chunks instead of holding them all.
    public mutating func takeFinished() -> [Request] {
        defer {
            requests = []
            finishedBytes = 0
        }
        return requests
    }

    private static func labelSize(_ label: LabelRef) -> Int {
        2 + ProtobufWriter.varintSize(UInt64(label.name.count)) + label.name.count
            + ProtobufWriter.varintSize(UInt64(label.value.count)) + label.value.count
    }

    private static func exemplarSize(_ exemplar: ExemplarRef) -> Int {
        let label = labelSize(LabelRef(name: exemplar.labelName, value: exemplar.labelValue))
        return 1 + ProtobufWriter.varintSize(UInt64(label)) + label + 9 + 1
            + ProtobufWriter.varintSize(UInt64(bitPattern: exemplar.timestampMs))
    }

    private static func sampleSize(_ sample: Sample) -> Int {
        9 + (sample.timestampMs != 0 ? 1 + ProtobufWriter.varintSize(UInt64(bitPattern: sample.timestampMs)) : 0)
    }
}
