extension HostInfoProcessor {
    /// The `metrics_generator.processor.host_info` settings (spec §4).
    public struct Configuration: Sendable, Equatable {
        /// Resource attribute keys that name a host, in order: the first present with a non-empty string value wins
        /// and becomes `host_source`.
        public var hostIdentifiers = ["k8s.node.name", "host.id"]
        /// The gauge's name.
        public var metricName = "traces_host_info"

        public init() {}

        /// Checks what Tempo checks: at least one identifier, and a metric name Prometheus accepts.
        /// - Throws: ``ConfigurationProblem`` naming the key.
        public func validate() throws(ConfigurationProblem) {
            guard !hostIdentifiers.isEmpty else {
                throw ConfigurationProblem("must name at least one resource attribute", key: "host_identifiers")
            }
            guard PrometheusName.isMetricName(metricName) else {
                throw ConfigurationProblem("'\(metricName)' is not a valid metric name", key: "metric_name")
            }
        }
    }
}
