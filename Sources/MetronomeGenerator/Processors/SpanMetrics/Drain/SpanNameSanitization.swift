/// Tempo's `span_name_sanitization` override (spec §5.7): whether span metrics' `span_name` label goes through
/// DRAIN clustering, so `GET /users/123` and `GET /users/456` share the series `GET /users/<_>`.
public enum SpanNameSanitization: String, Sendable, CaseIterable, Equatable {
    /// `""`: names are left alone (the default).
    case disabled = ""
    /// Names are clustered and counted, and the demand after sanitization estimated, but labels are left alone.
    case dryRun = "dry_run"
    /// Names are replaced by their cluster's template.
    case enabled
}

extension SpanNameSanitization {
    /// What sanitizing span names did, for self-metrics (Tempo's `spans_sanitized_total` and `drain_*` counters).
    public struct Counts: Sendable, Equatable {
        /// Spans whose name differs from its cluster's template (replaced, unless in dry run).
        public var sanitized = 0
        /// Spans whose names were not clustered, by reason (`too_few_tokens`, `too_many_tokens`).
        public var skipped: [String: Int] = [:]
        /// Clusters made.
        public var patternsDetected = 0
        /// Clusters evicted, by reason (`max_clusters`, `max_bytes`, `leaf_full`).
        public var patternsEvicted: [String: Int] = [:]

        public init() {}
    }
}
