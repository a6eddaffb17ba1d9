/// Renders series in the Prometheus protobuf exposition format: length-delimited `io.prometheus.client.MetricFamily`
/// messages, what Prometheus asks for first when it scrapes native histograms. A histogram's classic series (`_count`,
/// `_sum`, `_bucket`, which collection emits one after the other) and its native series become one `Histogram`
/// message; counters and gauges one `Metric` each. No timestamps, like the text format; the latest sample only.
///
/// Field numbers (`prometheus/client_model` `metrics.proto`): `MetricFamily.name = 1, type = 3, metric = 4`;
/// `Metric.label = 1, gauge = 2, counter = 3, histogram = 7`; `LabelPair.name = 1, value = 2`;
/// `Counter.value = 1`, `Gauge.value = 1`; `Histogram.sample_count = 1, sample_sum = 2, bucket = 3, schema = 5`
/// (sint32), `zero_threshold = 6, zero_count = 7, negative_span = 9, negative_delta = 10, positive_span = 12,
/// positive_delta = 13, exemplars = 16`; `Bucket.cumulative_count = 1, upper_bound = 2, exemplar = 3`;
/// `Exemplar.label = 1, value = 2, timestamp = 3` (`google.protobuf.Timestamp.seconds = 1, nanos = 2`).
public struct PrometheusProtobufEncoder: SampleSink {
    /// The `Content-Type` of the format (and the media type Prometheus' `Accept` header names).
    public static let contentType =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

    /// The family being written: its key (the sink's family), the name it is exposed under, its type and its
    /// finished `Metric` fields.
    private struct OpenFamily {
        var key: String
        var name: [UInt8]
        var type: MetricType
        var metrics = ProtobufWriter()
    }

    /// A histogram's `Metric` being assembled from its classic and native series.
    private struct OpenHistogram {
        /// The series' `LabelPair` fields without `__name__` and `le`: what its series share.
        var labels: [UInt8]
        var count: UInt64 = 0
        var sum = 0.0
        /// The `Bucket` fields of the classic buckets, and then the native fields, of the `Histogram` message.
        var fields = ProtobufWriter()
    }

    private let onlyFamily: String?
    private var output: [UInt8] = []
    private var family: OpenFamily?
    private var histogram: OpenHistogram?

    /// - Parameter onlyFamily: keep the series of this family only (to render an exposition family by family).
    public init(onlyFamily: String? = nil) {
        self.onlyFamily = onlyFamily
    }

    public mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    ) {
        guard let sample = samples.last, !sample.isStaleMarker, onlyFamily == nil || onlyFamily == family else {
            return
        }
        let name = Self.name(in: labels)
        open(family, type: type, name: type == .histogram ? Array(family.utf8) : Array(name))
        switch type {
        case .counter, .gauge:
            let labelFields = Self.labelFields(labels)
            self.family!.metrics.writeMessage(4) { metric in
                metric.bytes += labelFields
                metric.writeMessage(type == .counter ? 3 : 2) { $0.writeDoubleField(1, sample.value) }
            }
        case .histogram:
            let labelFields = Self.labelFields(labels)
            openHistogram(labels: labelFields)
            if Self.name(name, endsWith: "_count") {
                histogram!.count = UInt64(exactly: sample.value.rounded()) ?? 0
            } else if Self.name(name, endsWith: "_sum") {
                histogram!.sum = sample.value
            } else {
                let bound = Self.upperBound(in: labels)
                histogram!.fields.writeMessage(3) { bucket in
                    bucket.writeVarintField(1, UInt64(exactly: sample.value.rounded()) ?? 0)
                    bucket.writeDoubleField(2, bound)
                    if let exemplar { Self.write(exemplar, field: 3, to: &bucket) }
                }
            }
        }
    }

    /// The native part of a histogram's `Histogram` message; its count and sum are the message's (in `both` mode
    /// they replace the classic ones, so the native histogram is consistent with its buckets).
    public mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {
        guard let native = histograms.last, onlyFamily == nil || onlyFamily == family else { return }
        open(family, type: .histogram, name: Array(family.utf8))
        openHistogram(labels: Self.labelFields(labels))
        histogram!.count = native.count
        histogram!.sum = native.sum
        var fields = histogram!.fields
        histogram!.fields = ProtobufWriter()
        fields.writeVarintField(5, ProtobufWriter.zigzag(Int64(native.schema)))
        fields.writeDoubleField(6, native.zeroThreshold)
        fields.writeVarintField(7, native.zeroCount)
        fields.writeBucketSpans(9, native.negativeSpans)
        fields.writePackedDeltas(10, native.negativeDeltas)
        // The format's marker of a native histogram without observations: a no-op span.
        fields.writeBucketSpans(12, native.positiveSpans.isEmpty ? [.init(offset: 0, length: 0)] : native.positiveSpans)
        fields.writePackedDeltas(13, native.positiveDeltas)
        for exemplar in exemplars { Self.write(exemplar, field: 16, to: &fields) }
        histogram!.fields = fields
    }

    /// The exposition: every family appended, each as one length-delimited `MetricFamily` (empty when nothing was).
    public mutating func render() -> [UInt8] {
        closeFamily()
        return output
    }

    /// Makes `key` the open family, closing the previous one.
    private mutating func open(_ key: String, type: MetricType, name: @autoclosure () -> [UInt8]) {
        guard family?.key != key else { return }
        closeFamily()
        family = OpenFamily(key: key, name: name(), type: type)
    }

    /// Makes the histogram of `labels` the open one, closing the previous one.
    private mutating func openHistogram(labels: [UInt8]) {
        guard histogram?.labels != labels else { return }
        closeHistogram()
        histogram = OpenHistogram(labels: labels)
    }

    private mutating func closeHistogram() {
        guard let histogram = histogram.take() else { return }
        family!.metrics.writeMessage(4) { metric in
            metric.bytes += histogram.labels
            metric.writeMessage(7) { message in
                message.writeVarintField(1, histogram.count)
                message.writeDoubleField(2, histogram.sum)
                message.bytes += histogram.fields.bytes
            }
        }
    }

    private mutating func closeFamily() {
        closeHistogram()
        guard let family = family.take(), !family.metrics.bytes.isEmpty else { return }
        var message = ProtobufWriter()
        message.writeBytesField(1, family.name)
        message.writeVarintField(3, Self.typeNumber(family.type))
        message.bytes += family.metrics.bytes
        var delimited = ProtobufWriter(capacity: message.bytes.count + 5)
        delimited.writeVarint(UInt64(message.bytes.count))
        output += delimited.bytes
        output += message.bytes
    }

    /// `MetricType`: `COUNTER = 0`, `GAUGE = 1`, `HISTOGRAM = 4`.
    private static func typeNumber(_ type: MetricType) -> UInt64 {
        switch type {
        case .counter: 0
        case .gauge: 1
        case .histogram: 4
        }
    }

    /// The `Metric.label` fields of a series: every label but `__name__` and a bucket's `le`.
    private static func labelFields(_ labels: UnsafeBufferPointer<LabelRef>) -> [UInt8] {
        var writer = ProtobufWriter()
        for label in labels where !label.name.elementsEqual("__name__".utf8) && !label.name.elementsEqual("le".utf8) {
            writer.writeMessage(1) { pair in
                pair.writeBytesField(1, label.name)
                pair.writeBytesField(2, label.value)
            }
        }
        return writer.bytes
    }

    private static func name(in labels: UnsafeBufferPointer<LabelRef>) -> UnsafeRawBufferPointer {
        labels.first(where: { $0.name.elementsEqual("__name__".utf8) })?.value
            ?? UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Whether a series of a histogram family is its `_count` or `_sum` (the family's name, then the suffix).
    private static func name(_ name: UnsafeRawBufferPointer, endsWith suffix: StaticString) -> Bool {
        let suffix = UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        return name.count >= suffix.count && name.suffix(suffix.count).elementsEqual(suffix)
    }

    /// A bucket's `le`, which collection formats as Prometheus does (`+Inf` for the last).
    private static func upperBound(in labels: UnsafeBufferPointer<LabelRef>) -> Double {
        guard let le = labels.first(where: { $0.name.elementsEqual("le".utf8) })?.value else { return .infinity }
        return Double(String(decoding: le, as: UTF8.self)) ?? .infinity
    }

    /// An `Exemplar` message in `field`, with its trace-id label and, when it has one, its time.
    private static func write(_ exemplar: ExemplarRef, field: UInt32, to writer: inout ProtobufWriter) {
        writer.writeMessage(field) { message in
            message.writeMessage(1) { pair in
                pair.writeBytesField(1, exemplar.labelName)
                pair.writeBytesField(2, exemplar.labelValue)
            }
            message.writeDoubleField(2, exemplar.value)
            guard exemplar.timestampMs > 0 else { return }
            message.writeMessage(3) { timestamp in
                timestamp.writeVarintField(1, UInt64(exemplar.timestampMs / 1000))
                timestamp.writeVarintField(2, UInt64((exemplar.timestampMs % 1000) * 1_000_000))
            }
        }
    }
}
