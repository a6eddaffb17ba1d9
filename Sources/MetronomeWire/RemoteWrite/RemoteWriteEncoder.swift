/// Encodes series into Prometheus remote-write 1.0 `WriteRequest` messages (`prompb`), uncompressed, splitting them
/// so that no request carries more than a set number of samples, and partitioning series into send shards by a hash
/// of their labels, so a series always travels in the same shard and its samples stay in order.
///
/// Field numbers: `WriteRequest.timeseries = 1`; `TimeSeries.labels = 1, samples = 2`; `Label.name = 1, value = 2`;
/// `Sample.value = 1 (double), timestamp = 2 (int64 ms)`. Sizes are computed before writing, so every length prefix
/// is minimal and nothing is moved.
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
        var seriesSize = 0
        for label in labels {
            let size = Self.labelSize(label)
            seriesSize += 1 + ProtobufWriter.varintSize(UInt64(size)) + size
        }
        for sample in samples {
            let size = Self.sampleSize(sample)
            seriesSize += 1 + ProtobufWriter.varintSize(UInt64(size)) + size
        }
        if let exemplar {
            let size = Self.exemplarSize(exemplar)
            seriesSize += 1 + ProtobufWriter.varintSize(UInt64(size)) + size
        }
        let shard = Self.shard(of: labels, shards: open.count)
        var current = open[shard].writer
        open[shard].writer = ProtobufWriter()
        defer { open[shard].writer = current }
        current.writeTag(1, .lengthDelimited)
        current.writeVarint(UInt64(seriesSize))
        for label in labels {
            current.writeTag(1, .lengthDelimited)
            current.writeVarint(UInt64(Self.labelSize(label)))
            current.writeBytesField(1, label.name)
            current.writeBytesField(2, label.value)
        }
        for sample in samples {
            current.writeTag(2, .lengthDelimited)
            current.writeVarint(UInt64(Self.sampleSize(sample)))
            current.writeDoubleField(1, sample.value)
            if sample.timestampMs != 0 {
                current.writeVarintField(2, UInt64(bitPattern: sample.timestampMs))
            }
        }
        if let exemplar {
            // Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3 }
            current.writeTag(3, .lengthDelimited)
            current.writeVarint(UInt64(Self.exemplarSize(exemplar)))
            let label = LabelRef(name: exemplar.labelName, value: exemplar.labelValue)
            current.writeTag(1, .lengthDelimited)
            current.writeVarint(UInt64(Self.labelSize(label)))
            current.writeBytesField(1, label.name)
            current.writeBytesField(2, label.value)
            current.writeDoubleField(2, exemplar.value)
            current.writeVarintField(3, UInt64(bitPattern: exemplar.timestampMs))
        }
        sampleCount += samples.count
        open[shard].samples += samples.count
        if open[shard].samples >= maxSamplesPerRequest {
            finishedBytes += current.bytes.count
            requests.append(Request(bytes: current.bytes, samples: open[shard].samples, shard: shard))
            current = ProtobufWriter()
            open[shard].samples = 0
        }
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
