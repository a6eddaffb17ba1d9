/// Encodes series into Prometheus remote-write 1.0 `WriteRequest` messages (`prompb`), uncompressed, splitting them
/// so that no request carries more than a set number of samples.
///
/// Field numbers: `WriteRequest.timeseries = 1`; `TimeSeries.labels = 1, samples = 2`; `Label.name = 1, value = 2`;
/// `Sample.value = 1 (double), timestamp = 2 (int64 ms)`. Sizes are computed before writing, so every length prefix
/// is minimal and nothing is moved.
public struct RemoteWriteEncoder: SampleSink {
    /// The finished requests, in the order their series were appended.
    public private(set) var requests: [[UInt8]] = []
    /// The number of samples in each finished request.
    public private(set) var requestSampleCounts: [Int] = []
    /// The number of samples written across all requests.
    public private(set) var sampleCount = 0

    private let maxSamplesPerRequest: Int
    private var current = ProtobufWriter()
    private var samplesInCurrent = 0

    /// - Parameter maxSamplesPerRequest: a series is never split; a request is closed once it holds at least this
    ///   many samples (Prometheus' `max_samples_per_send`, default 2000).
    public init(maxSamplesPerRequest: Int = 2000) {
        self.maxSamplesPerRequest = max(1, maxSamplesPerRequest)
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
        samplesInCurrent += samples.count
        if samplesInCurrent >= maxSamplesPerRequest { finishRequest() }
    }

    /// Closes the request being written, if it holds anything, and returns every finished request.
    public mutating func finish() -> [[UInt8]] {
        finishRequest()
        return requests
    }

    private mutating func finishRequest() {
        guard !current.bytes.isEmpty else { return }
        requests.append(current.bytes)
        requestSampleCounts.append(samplesInCurrent)
        current = ProtobufWriter()
        samplesInCurrent = 0
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
