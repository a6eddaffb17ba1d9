import Logging
import Metrics
import MetronomeGenerator
import MetronomeWire

/// Self-metrics and log lines for what service graphs did in a push or an expiry pass (Tempo's
/// `tempo_metrics_generator_processor_service_graphs_*`, prefixed `metronome_service_graph_`).
enum ServiceGraphSelfMetrics {
    static func record(_ result: ServiceGraphsProcessor.Result, tenant: String, logger: Logger) {
        let tenantLabel = [("tenant", tenant)]
        func count(_ name: String, _ value: Int, _ extra: [(String, String)] = []) {
            guard value > 0 else { return }
            Counter(label: name, dimensions: tenantLabel + extra).increment(by: value)
        }
        count("metronome_service_graph_edges_total", result.newEdges)
        count("metronome_service_graph_completed_edges_total", result.completedEdges)
        count("metronome_service_graph_dropped_spans_total", result.droppedSpans)
        count("metronome_service_graph_dropped_edges_total", result.droppedEdges)
        count("metronome_service_graph_dropped_span_side_cache_overflow_total", result.markerOverflow)
        count("metronome_spans_discarded_total", result.filtered, [("reason", "service_graphs_filtered")])
        count("metronome_service_graph_invalid_utf8_edges_total", result.invalidUTF8)
        for (kind, expired) in result.expiredByKind {
            let name =
                kind >= 0 && Int(kind) < OTLPEnumNames.spanKinds.count ? OTLPEnumNames.spanKinds[Int(kind)] : "\(kind)"
            count("metronome_service_graph_expired_edges_total", expired, [("unmatched_span_kind", name)])
        }
        if result.droppedSpans > 0 && LogThrottle.perPush.allows("\(tenant)/service_graph_dropped_spans") {
            logger.warning(
                "service-graph pairing store full (max_items or max_pending_bytes); spans dropped (logged at most every 10 s)",
                metadata: ["tenant": "\(tenant)", "spans": "\(result.droppedSpans)"]
            )
        }
        if result.invalidUTF8 > 0 && LogThrottle.perPush.allows("\(tenant)/service_graph_invalid_utf8") {
            logger.warning(
                "dropped service-graph edges whose labels are not valid UTF-8",
                metadata: ["tenant": "\(tenant)", "edges": "\(result.invalidUTF8)"]
            )
        }
    }
}
