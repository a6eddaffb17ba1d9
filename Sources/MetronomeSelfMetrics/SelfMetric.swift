import Metrics

/// One of the `metronome_*` metrics Metronome reports about itself on `/metrics`: its name, type, label names and
/// help text. Every self-metric is an entry of the catalog (``all``); code names it by its entry, never by a string.
///
/// Handles (``counter(_:)``, ``gauge(_:)``) are made once per label set and kept: making one takes the metrics
/// registry's lock and renders the labels.
public struct SelfMetric: Sendable, Hashable {
    /// The Prometheus type the metric is exported as.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public let name: String
    public let kind: Kind
    /// Label names, in the order ``counter(_:)`` and ``gauge(_:)`` take their values.
    public let labels: [String]
    /// The `# HELP` text; for a label with a fixed set of values, it lists them.
    public let help: String

    init(_ kind: Kind, _ name: String, labels: [String] = [], _ help: String) {
        self.kind = kind
        self.name = name
        self.labels = labels
        self.help = help
    }

    /// The counter of the label set `values` (one per label name, in order).
    public func counter(_ values: String...) -> Counter { counter(labelValues: values) }

    /// The counter of the label set `labelValues` (one per label name, in order).
    public func counter(labelValues: [String]) -> Counter {
        precondition(kind == .counter, "\(name) is a \(kind)")
        return Counter(label: name, dimensions: dimensions(labelValues))
    }

    /// The gauge of the label set `values` (one per label name, in order).
    public func gauge(_ values: String...) -> Gauge { gauge(labelValues: values) }

    /// The gauge of the label set `labelValues` (one per label name, in order).
    public func gauge(labelValues: [String]) -> Gauge {
        precondition(kind == .gauge, "\(name) is a \(kind)")
        return Gauge(label: name, dimensions: dimensions(labelValues))
    }

    /// The timer (a histogram of seconds) of the label set `values` (none for an unlabelled metric).
    public func timer(_ values: String...) -> Metrics.Timer {
        precondition(kind == .histogram, "\(name) is a \(kind)")
        return Metrics.Timer(label: name, dimensions: dimensions(values))
    }

    private func dimensions(_ values: [String]) -> [(String, String)] {
        precondition(values.count == labels.count, "\(name) takes labels \(labels)")
        return Array(zip(labels, values))
    }

    /// The catalog entry named `name`, if any.
    public static func named(_ name: String) -> SelfMetric? { byName[name] }

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
