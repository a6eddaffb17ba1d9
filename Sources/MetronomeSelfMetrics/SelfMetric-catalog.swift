extension SelfMetric {
    /// Every self-metric, in the order the README lists them.
    public static let all: [SelfMetric] = [
        spansReceived, bytesReceived, spansDiscarded, receiverRequests, receiverSpans, receiverBytes, requestsRejected,
        inflightBytes, inflightBytesLimit, tenants,
        connections, connectionsRefused, connectionsTimedOut,
        activeSeries, seriesRemoved, limiterActive, limiterMax, limited, activeSeriesDemand, labelValuesLimited,
        labelCardinalityDemand, nativeHistogramBucketLimit, spansSanitized, postSanitizationDemand,
        drainPatternsDetected, drainPatternsEvicted,
        drainLinesSkipped, collections, samplesCollected, collectionDuration,
        checkpointWriteFailures, checkpointLoadFailures, overridesReloadFailures, overridesLastReloadSuccess,
        tenantsReconfigured, tenantsRemoved,
        remoteWriteSamplesSent, remoteWriteRequestsSent, remoteWriteRequestsFailed, remoteWriteSamplesDropped,
        walSamplesAppended, walBytesAppended, walBytes, walSegments, walSamplesDropped, walTruncations,
        walWriteFailures,
        forwarderSpansQueued, forwarderBytesQueued, forwarderQueueBytes, forwarderQueueSegments, forwarderQueueRecords,
        forwarderQueueOldestAge, forwarderQueueTruncations, forwarderRequestsRefused, forwarderRequestsSent,
        forwarderSpansSent, forwarderRequestsFailed, forwarderRetries, forwarderSpansDropped,
        forwarderSpansPartiallyRejected, forwarderSendDuration,
        serviceGraphEdges, serviceGraphCompletedEdges, serviceGraphExpiredEdges, serviceGraphDroppedSpans,
        serviceGraphDroppedEdges, serviceGraphMarkerOverflow, serviceGraphInvalidUTF8Edges, serviceGraphPendingEdges,
        serviceGraphPendingBytes,
    ]

    // MARK: Distributor and receivers

    public static let spansReceived = SelfMetric(
        .counter,
        "metronome_spans_received_total",
        labels: ["tenant"],
        "Spans received, before any check."
    )
    public static let bytesReceived = SelfMetric(
        .counter,
        "metronome_bytes_received_total",
        labels: ["tenant"],
        "Protobuf bytes of the requests received."
    )
    public static let spansDiscarded = SelfMetric(
        .counter,
        "metronome_spans_discarded_total",
        labels: ["tenant", "processor", "reason"],
        "Spans not counted, by processor (all: the distributor) and reason: outside_metrics_ingestion_slack, "
            + "invalid_utf8, span_metrics_filtered, service_graphs_filtered."
    )
    public static let receiverRequests = SelfMetric(
        .counter,
        "metronome_receiver_requests_total",
        labels: ["receiver"],
        "Requests (UDP: datagrams) a receiver decoded (otlp_grpc, otlp_http, zipkin, jaeger_grpc, jaeger_thrift_http, "
            + "jaeger_thrift_compact, jaeger_thrift_binary); those refused whole count in "
            + "metronome_receiver_requests_rejected_total."
    )
    public static let receiverSpans = SelfMetric(
        .counter,
        "metronome_receiver_spans_total",
        labels: ["receiver"],
        "Spans in the requests a receiver decoded."
    )
    public static let receiverBytes = SelfMetric(
        .counter,
        "metronome_receiver_bytes_total",
        labels: ["receiver"],
        "Bytes of the requests a receiver decoded, as received after decompression."
    )
    public static let requestsRejected = SelfMetric(
        .counter,
        "metronome_receiver_requests_rejected_total",
        labels: ["receiver", "status", "reason"],
        "Requests refused whole, by reason: invalid, invalid_tenant, too_large, unsupported_media_type, "
            + "unsupported_version, inflight_bytes, rate_limited, max_tenants (and for gRPC: unimplemented, "
            + "unsupported_encoding, method_not_allowed, read_timeout); status is the HTTP status, the gRPC code, "
            + "or dropped (UDP datagrams, which get no answer)."
    )
    public static let inflightBytes = SelfMetric(
        .gauge,
        "metronome_inflight_bytes",
        "Bytes of requests being read, decoded and processed."
    )
    public static let inflightBytesLimit = SelfMetric(
        .gauge,
        "metronome_inflight_bytes_limit",
        "distributor.max_inflight_bytes."
    )
    public static let tenants = SelfMetric(
        .gauge,
        "metronome_tenants",
        "Tenants with a generator."
    )
    public static let connections = SelfMetric(
        .gauge,
        "metronome_connections",
        labels: ["listener"],
        "Open connections, by listener: otlp_http, otlp_grpc, zipkin, jaeger_grpc, jaeger_thrift_http, admin."
    )
    public static let connectionsRefused = SelfMetric(
        .counter,
        "metronome_connections_refused_total",
        labels: ["listener"],
        "Connections closed at once because the listener had max_connections open."
    )
    public static let connectionsTimedOut = SelfMetric(
        .counter,
        "metronome_connections_timed_out_total",
        labels: ["listener", "phase"],
        "Connections closed for a slow client, by phase: header, body, idle, preface."
    )

    // MARK: Registry and collection

    public static let activeSeries = SelfMetric(
        .gauge,
        "metronome_registry_active_series",
        labels: ["tenant"],
        "Series alive after the last collection (a histogram counts its buckets + 3)."
    )
    public static let seriesRemoved = SelfMetric(
        .counter,
        "metronome_registry_series_removed_total",
        labels: ["tenant"],
        "Series ended with a staleness marker: idle longer than stale_duration, or their processor removed."
    )
    public static let limiterActive = SelfMetric(
        .gauge,
        "metronome_registry_limiter_active",
        labels: ["tenant", "limiter"],
        "What the active-series limit counts now (series or entities)."
    )
    public static let limiterMax = SelfMetric(
        .gauge,
        "metronome_registry_limiter_max",
        labels: ["tenant", "limiter"],
        "The tenant's max_active_series or max_active_entities (0: unlimited)."
    )
    public static let limited = SelfMetric(
        .counter,
        "metronome_registry_limited_total",
        labels: ["tenant", "limiter"],
        "New label sets sent to the metric_overflow=\"true\" series by the active-series limit."
    )
    public static let activeSeriesDemand = SelfMetric(
        .gauge,
        "metronome_registry_active_series_demand_estimate",
        labels: ["tenant"],
        "Estimated series the spans of the stale window would make without limits."
    )
    public static let labelValuesLimited = SelfMetric(
        .counter,
        "metronome_registry_label_values_limited_total",
        labels: ["tenant", "label_name"],
        "Label values replaced by __cardinality_overflow__ (max_cardinality_per_label)."
    )
    public static let labelCardinalityDemand = SelfMetric(
        .gauge,
        "metronome_registry_label_cardinality_demand_estimate",
        labels: ["tenant", "label_name"],
        "Estimated distinct values of a label over the stale window, with a per-label limit set."
    )
    public static let spansSanitized = SelfMetric(
        .counter,
        "metronome_spans_sanitized_total",
        labels: ["tenant"],
        "Spans whose span_name span_name_sanitization replaced by its DRAIN template (in dry_run: would replace)."
    )
    public static let nativeHistogramBucketLimit = SelfMetric(
        .counter,
        "metronome_registry_native_histogram_bucket_limit_total",
        labels: ["tenant", "action"],
        "Native-histogram observations that passed native_histogram_max_bucket_number, by what the histogram did: "
            + "reset (min_reset_duration had passed) or halved (its resolution, until the reset is due)."
    )
    public static let postSanitizationDemand = SelfMetric(
        .gauge,
        "metronome_registry_post_sanitization_demand_estimate",
        labels: ["tenant"],
        "With span_name_sanitization on, the estimated span-metrics series after sanitizing span names."
    )
    public static let drainPatternsDetected = SelfMetric(
        .counter,
        "metronome_drain_patterns_detected_total",
        labels: ["tenant"],
        "Span-name clusters (patterns) made by span_name_sanitization."
    )
    public static let drainPatternsEvicted = SelfMetric(
        .counter,
        "metronome_drain_patterns_evicted_total",
        labels: ["tenant", "reason"],
        "Span-name clusters evicted, least recently used first, by reason: max_clusters (100,000), max_bytes "
            + "(64 MiB), leaf_full (64 clusters on one prefix-tree leaf)."
    )
    public static let drainLinesSkipped = SelfMetric(
        .counter,
        "metronome_drain_lines_skipped_total",
        labels: ["tenant", "reason"],
        "Span names span_name_sanitization leaves alone: too_few_tokens (under 3), too_many_tokens (over 80)."
    )
    public static let collections = SelfMetric(
        .counter,
        "metronome_registry_collections_total",
        labels: ["tenant"],
        "Collections run (none in a disable_collection dry run)."
    )
    public static let samplesCollected = SelfMetric(
        .counter,
        "metronome_samples_collected_total",
        labels: ["tenant"],
        "Samples collected and handed to the WAL."
    )
    public static let collectionDuration = SelfMetric(
        .histogram,
        "metronome_collection_duration_seconds",
        "Time to collect and checkpoint every tenant once."
    )
    public static let checkpointWriteFailures = SelfMetric(
        .counter,
        "metronome_checkpoint_write_failures_total",
        labels: ["tenant"],
        "Checkpoints that could not be written."
    )
    public static let checkpointLoadFailures = SelfMetric(
        .counter,
        "metronome_checkpoint_load_failures_total",
        labels: ["tenant"],
        "Checkpoints found torn or corrupted at start (renamed checkpoint.corrupt; the tenant starts from zero)."
    )

    // MARK: Overrides and tenants

    public static let overridesReloadFailures = SelfMetric(
        .counter,
        "metronome_overrides_reload_failures_total",
        "Re-reads of the per-tenant overrides file that failed (unreadable or invalid); the last good overrides stay."
    )
    public static let overridesLastReloadSuccess = SelfMetric(
        .gauge,
        "metronome_overrides_last_reload_success",
        "1 when the last read of the per-tenant overrides file succeeded, else 0."
    )
    public static let tenantsReconfigured = SelfMetric(
        .counter,
        "metronome_tenants_reconfigured_total",
        "Changes of a tenant's settings applied while it runs."
    )
    public static let tenantsRemoved = SelfMetric(
        .counter,
        "metronome_tenants_removed_total",
        "Idle tenants let go: no series left and nothing pending."
    )

    // MARK: Remote write and WAL

    public static let remoteWriteSamplesSent = SelfMetric(
        .counter,
        "metronome_remote_write_samples_sent_total",
        labels: ["url"],
        "Samples the endpoint accepted."
    )
    public static let remoteWriteRequestsSent = SelfMetric(
        .counter,
        "metronome_remote_write_requests_sent_total",
        labels: ["url"],
        "Requests the endpoint accepted."
    )
    public static let remoteWriteRequestsFailed = SelfMetric(
        .counter,
        "metronome_remote_write_requests_failed_total",
        labels: ["url", "status"],
        "Failed attempts, by HTTP status or transport error."
    )
    public static let remoteWriteSamplesDropped = SelfMetric(
        .counter,
        "metronome_remote_write_samples_dropped_total",
        labels: ["url", "reason"],
        "Samples given up on, by reason: rejected, wal_write_failed."
    )
    public static let walSamplesAppended = SelfMetric(
        .counter,
        "metronome_wal_samples_appended_total",
        labels: ["tenant"],
        "Samples appended to the tenant's WAL."
    )
    public static let walBytesAppended = SelfMetric(
        .counter,
        "metronome_wal_bytes_appended_total",
        labels: ["tenant"],
        "Bytes appended to the tenant's WAL."
    )
    public static let walBytes = SelfMetric(
        .gauge,
        "metronome_wal_bytes",
        labels: ["tenant"],
        "Bytes the tenant's WAL holds."
    )
    public static let walSegments = SelfMetric(
        .gauge,
        "metronome_wal_segments",
        labels: ["tenant"],
        "Segments the tenant's WAL holds."
    )
    public static let walSamplesDropped = SelfMetric(
        .counter,
        "metronome_wal_samples_dropped_total",
        labels: ["tenant", "endpoint", "reason"],
        "Unsent samples lost from the WAL, by reason: max_bytes, max_age, unreadable."
    )
    public static let walTruncations = SelfMetric(
        .counter,
        "metronome_wal_truncations_total",
        labels: ["tenant"],
        "WAL segments whose torn or corrupted tail was cut off at start."
    )
    public static let walWriteFailures = SelfMetric(
        .counter,
        "metronome_wal_write_failures_total",
        labels: ["tenant"],
        "Collections that could not be appended to the WAL (their samples are lost)."
    )

    // MARK: Forwarders

    public static let forwarderSpansQueued = SelfMetric(
        .counter,
        "metronome_forwarder_spans_queued_total",
        labels: ["forwarder"],
        "Spans of the requests appended to the forwarder's queue."
    )
    public static let forwarderBytesQueued = SelfMetric(
        .counter,
        "metronome_forwarder_bytes_queued_total",
        labels: ["forwarder"],
        "Bytes appended to the forwarder's queue."
    )
    public static let forwarderQueueBytes = SelfMetric(
        .gauge,
        "metronome_forwarder_queue_bytes",
        labels: ["forwarder"],
        "Bytes the forwarder's queue holds on disk."
    )
    public static let forwarderQueueSegments = SelfMetric(
        .gauge,
        "metronome_forwarder_queue_segments",
        labels: ["forwarder"],
        "Segments the forwarder's queue holds."
    )
    public static let forwarderQueueRecords = SelfMetric(
        .gauge,
        "metronome_forwarder_queue_records",
        labels: ["forwarder"],
        "Requests the forwarder's queue holds (sent ones until their segment is deleted)."
    )
    public static let forwarderQueueOldestAge = SelfMetric(
        .gauge,
        "metronome_forwarder_queue_oldest_age_seconds",
        labels: ["forwarder"],
        "Age of the oldest request the forwarder's queue holds (0 when empty)."
    )
    public static let forwarderQueueTruncations = SelfMetric(
        .counter,
        "metronome_forwarder_queue_truncations_total",
        labels: ["forwarder"],
        "Queue segments whose torn or corrupted tail was cut off at start."
    )
    public static let forwarderRequestsRefused = SelfMetric(
        .counter,
        "metronome_forwarder_requests_refused_total",
        labels: ["forwarder"],
        "Requests answered 503 / RESOURCE_EXHAUSTED because the queue was full (full_policy: reject)."
    )
    public static let forwarderRequestsSent = SelfMetric(
        .counter,
        "metronome_forwarder_requests_sent_total",
        labels: ["forwarder"],
        "Requests the trace store accepted."
    )
    public static let forwarderSpansSent = SelfMetric(
        .counter,
        "metronome_forwarder_spans_sent_total",
        labels: ["forwarder"],
        "Spans of the requests the trace store accepted."
    )
    public static let forwarderRequestsFailed = SelfMetric(
        .counter,
        "metronome_forwarder_requests_failed_total",
        labels: ["forwarder", "code"],
        "Failed send attempts, by gRPC code, HTTP status or transport error."
    )
    public static let forwarderRetries = SelfMetric(
        .counter,
        "metronome_forwarder_retries_total",
        labels: ["forwarder"],
        "Send attempts retried after a retryable failure."
    )
    public static let forwarderSpansDropped = SelfMetric(
        .counter,
        "metronome_forwarder_spans_dropped_total",
        labels: ["forwarder", "reason"],
        "Spans given up on, by reason: max_bytes, max_age, write_failed (disk full), rejected (a permanent error from "
            + "the store), unreadable."
    )
    public static let forwarderSpansPartiallyRejected = SelfMetric(
        .counter,
        "metronome_forwarder_spans_partially_rejected_total",
        labels: ["forwarder"],
        "Spans the trace store reported rejected in an OTLP partial success."
    )
    public static let forwarderSendDuration = SelfMetric(
        .histogram,
        "metronome_forwarder_send_duration_seconds",
        labels: ["forwarder"],
        "Time of each send attempt to the trace store."
    )

    // MARK: Service graphs

    public static let serviceGraphEdges = SelfMetric(
        .counter,
        "metronome_service_graph_edges_total",
        labels: ["tenant"],
        "New edges: a half buffered, or completed on arrival."
    )
    public static let serviceGraphCompletedEdges = SelfMetric(
        .counter,
        "metronome_service_graph_completed_edges_total",
        labels: ["tenant"],
        "Edges recorded in the service-graph series."
    )
    public static let serviceGraphExpiredEdges = SelfMetric(
        .counter,
        "metronome_service_graph_expired_edges_total",
        labels: ["tenant", "unmatched_span_kind"],
        "Edges whose other half did not come within wait and made no virtual node, by the span kind seen."
    )
    public static let serviceGraphDroppedSpans = SelfMetric(
        .counter,
        "metronome_service_graph_dropped_spans_total",
        labels: ["tenant"],
        "Spans refused because the pairing store was full (max_items or max_pending_bytes)."
    )
    public static let serviceGraphDroppedEdges = SelfMetric(
        .counter,
        "metronome_service_graph_dropped_edges_total",
        labels: ["tenant"],
        "Edges lost because their other side was filtered out."
    )
    public static let serviceGraphMarkerOverflow = SelfMetric(
        .counter,
        "metronome_service_graph_dropped_span_side_cache_overflow_total",
        labels: ["tenant"],
        "Filtered-side markers not kept because the marker cache was full."
    )
    public static let serviceGraphInvalidUTF8Edges = SelfMetric(
        .counter,
        "metronome_service_graph_invalid_utf8_edges_total",
        labels: ["tenant"],
        "Edges not recorded because a label value was not valid UTF-8."
    )
    public static let serviceGraphPendingEdges = SelfMetric(
        .gauge,
        "metronome_service_graph_pending_edges",
        labels: ["tenant"],
        "Half-edges waiting for their other half."
    )
    public static let serviceGraphPendingBytes = SelfMetric(
        .gauge,
        "metronome_service_graph_pending_bytes",
        labels: ["tenant"],
        "Estimated heap bytes of the waiting half-edges."
    )
}
