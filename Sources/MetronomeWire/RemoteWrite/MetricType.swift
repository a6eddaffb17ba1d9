/// The kind of a metric family, as the Prometheus text format names it.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}
