/// Renders series in the Prometheus text exposition format (0.0.4), grouped by metric family with a `# TYPE` line
/// each, and without timestamps: what a scrape of `/metrics/generated` returns.
///
/// Only the latest sample of each series is written (an initial zero is a remote-write device, not a value).
public struct PrometheusTextEncoder: SampleSink {
    private var familyOrder: [String] = []
    private var families: [String: (type: MetricType, lines: [UInt8])] = [:]
    private let onlyFamily: String?

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
        if families[family] == nil {
            familyOrder.append(family)
            families[family] = (type, [])
        }
        var line: [UInt8] = []
        var nameValue: UnsafeRawBufferPointer?
        var first = true
        for label in labels where !Self.isName(label.name) {
            line.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            line.append(contentsOf: label.name)
            line.append(contentsOf: "=\"".utf8)
            Self.appendEscaped(label.value, to: &line)
            line.append(UInt8(ascii: "\""))
        }
        if !first { line.append(UInt8(ascii: "}")) }
        for label in labels where Self.isName(label.name) { nameValue = label.value }
        families[family]!.lines.append(contentsOf: nameValue ?? UnsafeRawBufferPointer(start: nil, count: 0))
        families[family]!.lines.append(contentsOf: line)
        families[family]!.lines.append(UInt8(ascii: " "))
        DecimalFormatter.append(sample.value, to: &families[family]!.lines)
        families[family]!.lines.append(UInt8(ascii: "\n"))
    }

    /// The text format has no native histograms: a family in `both` mode shows its classic series, one in `native`
    /// mode only in the protobuf exposition.
    public mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {}

    /// The complete exposition; without `typeLines`, the sample lines only.
    public func render(typeLines: Bool = true) -> [UInt8] {
        var output: [UInt8] = []
        for name in familyOrder {
            guard let family = families[name] else { continue }
            if typeLines { output.append(contentsOf: Self.typeLine(name, family.type)) }
            output.append(contentsOf: family.lines)
        }
        return output
    }

    /// The `# TYPE` line of a family.
    public static func typeLine(_ family: String, _ type: MetricType) -> [UInt8] {
        Array("# TYPE \(family) \(type.rawValue)\n".utf8)
    }

    private static func isName(_ name: UnsafeRawBufferPointer) -> Bool {
        name.elementsEqual("__name__".utf8)
    }

    private static func appendEscaped(_ value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        for byte in value {
            switch byte {
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: "\\n".utf8)
            default: output.append(byte)
            }
        }
    }
}
