import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire
import Yams

/// The YAML documents of `/status/overrides` (each tenant's effective generator settings) and `/status/config`
/// (the running configuration, with every default filled in and secrets shown as `<secret>`), in Tempo's key names.
enum StatusDocument {
    static let secret = "<secret>"

    /// Every running tenant's settings, and those of every block of the overrides file and the defaults block (what
    /// a tenant with that block would run with).
    static func overrides(_ tenants: Tenants) -> String {
        var document: [String: Any] = [:]
        let running = tenants.all
        for tenant in running { document[tenant.id.value] = settings(tenant.settings) }
        let overrides = tenants.overrides
        for name in overrides.blockNames where document[name] == nil {
            guard let id = try? TenantID(validating: name) else { continue }
            document[name] = settings(overrides.settings(for: id))
        }
        return dump(["tenants": document])
    }

    /// The running configuration.
    static func configuration(_ configuration: MetronomeConfiguration) -> String {
        let server = configuration.server
        let distributor = configuration.distributor
        let generator = configuration.metricsGenerator
        let storage = generator.storage
        let registry = generator.registry.configuration
        return dump([
            "server": [
                "http_listen_address": server.httpListenAddress, "http_listen_port": server.httpListenPort,
                "log_level": server.logLevel, "http_server_max_connections": server.connections.maxConnections,
                "http_server_read_header_timeout": "\(server.connections.readHeaderTimeout)",
                "http_server_read_timeout": "\(server.connections.readTimeout)",
                "http_server_idle_timeout": "\(server.connections.idleTimeout)",
            ] as [String: Any],
            "distributor": [
                "max_inflight_bytes": distributor.inflightBytesLimit, "max_tenants": distributor.maxTenants,
                "max_attribute_value_depth": distributor.maxAttributeValueDepth,
                "receivers": receivers(distributor.receivers),
                "forwarders": distributor.forwarders.map(forwarder),
                "forwarder_flush_deadline": duration(distributor.forwarderFlushDeadline.milliseconds),
            ] as [String: Any],
            "metrics_generator": [
                "metrics_ingestion_time_range_slack": duration(generator.metricsIngestionTimeRangeSlack.milliseconds),
                "limiter_type": generator.limiterType.rawValue,
                "registry": [
                    "collection_interval": duration(registry.collectionIntervalMs),
                    "stale_duration": duration(registry.staleDurationMs), "external_labels": registry.externalLabels,
                    "max_label_name_length": registry.maxLabelNameLength,
                    "max_label_value_length": registry.maxLabelValueLength,
                    "inject_tenant_id_as": registry.injectTenantIDAs,
                ] as [String: Any],
                "storage": [
                    "path": storage.path,
                    "wal": [
                        "max_bytes": storage.wal.limits.maxBytes, "max_age": duration(storage.wal.limits.maxAgeMs),
                        "segment_size": storage.wal.limits.segmentBytes,
                    ] as [String: Any],
                    "remote_write": storage.remoteWrite.map(remoteWrite),
                    "remote_write_flush_deadline": duration(storage.remoteWriteFlushDeadline.milliseconds),
                    "remote_write_add_org_id_header": storage.remoteWriteAddOrgIDHeader,
                    "remote_write_shards": storage.remoteWriteShards,
                ] as [String: Any],
                "processor": [
                    "span_metrics": spanMetrics(generator.processor.spanMetrics.processorConfiguration),
                    "service_graphs": serviceGraphs(generator.processor.serviceGraphs.processorConfiguration),
                    "host_info": hostInfo(generator.processor.hostInfo.processorConfiguration),
                ],
            ] as [String: Any],
            "overrides": [
                "per_tenant_override_config": configuration.overrides.perTenantOverrideConfig,
                "per_tenant_override_period": duration(configuration.overrides.perTenantOverridePeriodMs),
                "defaults": block(configuration.overrides.defaults),
            ] as [String: Any],
        ])
    }

    /// A forwarder, its header values shown as `<secret>`.
    private static func forwarder(_ forwarder: ForwarderSection) -> [String: Any] {
        var document: [String: Any] = [
            "name": forwarder.name, "backend": forwarder.backend.rawValue,
            forwarder.backend.rawValue: ["endpoints": forwarder.endpoints, "plaintext": forwarder.isPlaintext],
            "headers": forwarder.headers.mapValues { _ in "<secret>" }, "timeout": duration(forwarder.timeoutMs),
            "queue": [
                "max_bytes": forwarder.maxQueueBytes, "max_age": duration(forwarder.maxQueueAgeMs),
                "full_policy": forwarder.fullPolicy.rawValue, "fsync": forwarder.fsyncEachRequest,
            ] as [String: Any],
        ]
        if forwarder.hasFilter { document["filter"] = "accepted, not applied" }
        return document
    }

    /// The receivers: OTLP's protocols, and Zipkin's and Jaeger's that are configured.
    private static func receivers(_ receivers: MetronomeConfiguration.Distributor.Receivers) -> [String: Any] {
        let protocols = receivers.otlp.protocols
        var document: [String: Any] = [
            "otlp": [
                "protocols": [
                    "grpc": listener(protocols.grpc, http: false),
                    "http": listener(protocols.http, http: true),
                ]
            ]
        ]
        if let zipkin = receivers.zipkin { document["zipkin"] = listener(zipkin, http: true) }
        let jaeger = receivers.jaeger
        var jaegerProtocols: [String: Any] = [:]
        if let grpc = jaeger.grpc { jaegerProtocols["grpc"] = listener(grpc, http: false) }
        if let http = jaeger.thriftHTTP { jaegerProtocols["thrift_http"] = listener(http, http: true) }
        for (name, udp) in [("thrift_compact", jaeger.thriftCompact), ("thrift_binary", jaeger.thriftBinary)] {
            guard let udp else { continue }
            var document: [String: Any] = [
                "endpoint": udp.endpoint, "enabled": udp.enabled, "tenant": udp.tenant,
                "max_packet_size": udp.maxPacketSize,
            ]
            if let size = udp.socketBufferSize { document["socket_buffer_size"] = size }
            jaegerProtocols[name] = document
        }
        if !jaegerProtocols.isEmpty { document["jaeger"] = ["protocols": jaegerProtocols] }
        return document
    }

    private static func dump(_ document: [String: Any]) -> String {
        (try? Yams.dump(object: document, sortKeys: true)) ?? "error: the document could not be rendered\n"
    }

    private static func duration(_ milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    private static func settings(_ settings: TenantSettings) -> [String: Any] {
        let generator = settings.generator
        return [
            "block": settings.source,
            "ingestion": [
                "rate_limit_bytes": settings.ingestion.rateLimitBytes,
                "burst_size_bytes": settings.ingestion.burstSizeBytes,
            ],
            "metrics_generator": [
                "processors": generator.processors,
                "max_active_series": generator.limits.maxActiveSeries,
                "max_active_entities": generator.limits.maxActiveEntities,
                "max_cardinality_per_label": generator.limits.maxCardinalityPerLabel,
                "collection_interval": duration(generator.registry.collectionIntervalMs),
                "disable_collection": generator.disableCollection,
                "trace_id_label_name": generator.registry.traceIDLabelName,
                "ingestion_time_range_slack": duration(generator.ingestionTimeRangeSlackMs),
                "remote_write_headers": settings.remoteWriteHeaders.mapValues { _ in secret },
                "span_name_sanitization": generator.spanNameSanitization.rawValue,
                "generate_native_histograms": generator.nativeHistograms.mode.rawValue,
                "native_histogram_bucket_factor": generator.nativeHistograms.bucketFactor,
                "native_histogram_max_bucket_number": generator.nativeHistograms.maxBucketNumber,
                "native_histogram_min_reset_duration": duration(generator.nativeHistograms.minResetDurationMs),
                "processor": [
                    "span_metrics": spanMetrics(generator.spanMetrics),
                    "service_graphs": serviceGraphs(generator.serviceGraphs),
                    "host_info": hostInfo(generator.hostInfo),
                ],
            ] as [String: Any],
        ]
    }

    private static func block(_ block: TenantOverrides) -> [String: Any] {
        let generator = block.generator
        return [
            "ingestion": [
                "rate_limit_bytes": block.ingestion.rateLimitBytes, "burst_size_bytes": block.ingestion.burstSizeBytes,
            ],
            "metrics_generator": [
                "processors": generator.processors, "max_active_series": generator.maxActiveSeries,
                "max_active_entities": generator.maxActiveEntities,
                "max_cardinality_per_label": generator.maxCardinalityPerLabel,
                "collection_interval": duration(generator.collectionIntervalMs),
                "disable_collection": generator.disableCollection,
                "trace_id_label_name": generator.traceIDLabelName,
                "ingestion_time_range_slack": duration(generator.ingestionTimeRangeSlackMs),
                "remote_write_headers": generator.remoteWriteHeaders.mapValues { _ in secret },
                "span_name_sanitization": generator.spanNameSanitization.rawValue,
                "generate_native_histograms": generator.nativeHistograms.mode?.rawValue ?? "",
                "native_histogram_bucket_factor": generator.nativeHistograms.bucketFactor ?? 0,
                "native_histogram_max_bucket_number": generator.nativeHistograms.maxBucketNumber ?? 0,
                "native_histogram_min_reset_duration": duration(generator.nativeHistograms.minResetDurationMs ?? 0),
            ] as [String: Any],
            "not_applied": block.notApplied,
        ]
    }

    private static func spanMetrics(_ configuration: SpanMetricsProcessor.Configuration) -> [String: Any] {
        let intrinsics = configuration.intrinsicDimensions
        return [
            "histogram_buckets": configuration.histogramBuckets.map(PlainNumber.init),
            "intrinsic_dimensions": [
                "service": intrinsics.service, "span_name": intrinsics.spanName, "span_kind": intrinsics.spanKind,
                "status_code": intrinsics.statusCode, "status_message": intrinsics.statusMessage,
            ],
            "dimensions": configuration.dimensions,
            "dimension_mappings": configuration.dimensionMappings.map {
                ["name": $0.name, "source_labels": $0.sourceLabels, "join": $0.join] as [String: Any]
            },
            "span_multiplier_key": configuration.spanMultiplierKey,
            "enable_tracestate_span_multiplier": configuration.enableTracestateSpanMultiplier,
            "filter_policies": configuration.filterPolicies.map(filterPolicy),
            "enable_target_info": configuration.enableTargetInfo,
            "target_info_excluded_dimensions": configuration.targetInfoExcludedDimensions,
            "enable_instance_label": configuration.enableInstanceLabel,
        ]
    }

    private static func serviceGraphs(_ configuration: ServiceGraphsProcessor.Configuration) -> [String: Any] {
        [
            "wait": duration(configuration.waitMs), "max_items": configuration.maxItems,
            "max_pending_bytes": configuration.maxPendingBytes,
            "histogram_buckets": configuration.histogramBuckets.map(PlainNumber.init),
            "dimensions": configuration.dimensions,
            "enable_client_server_prefix": configuration.enableClientServerPrefix,
            "enable_messaging_system_latency_histogram": configuration.enableMessagingSystemLatencyHistogram,
            "peer_attributes": configuration.peerAttributes,
            "database_name_attributes": configuration.databaseNameAttributes,
            "span_multiplier_key": configuration.spanMultiplierKey,
            "enable_tracestate_span_multiplier": configuration.enableTracestateSpanMultiplier,
            "enable_virtual_node_label": configuration.enableVirtualNodeLabel,
            "filter_policies": configuration.filterPolicies.map(filterPolicy),
            "enable_server_to_server_edges": configuration.enableServerToServerEdges,
        ]
    }

    private static func hostInfo(_ configuration: HostInfoProcessor.Configuration) -> [String: Any] {
        ["host_identifiers": configuration.hostIdentifiers, "metric_name": configuration.metricName]
    }

    private static func filterPolicy(_ policy: FilterPolicy) -> [String: Any] {
        func match(_ match: PolicyMatch?) -> [String: Any]? {
            match.map { match in
                [
                    "match_type": match.matchType.rawValue,
                    "attributes": match.attributes.map { attribute -> [String: Any] in
                        switch attribute.value {
                        case .string(let value): ["key": attribute.key, "value": value]
                        case .int(let value): ["key": attribute.key, "value": Int(value)]
                        case .double(let value): ["key": attribute.key, "value": PlainNumber(value)]
                        case .bool(let value): ["key": attribute.key, "value": value]
                        }
                    },
                ]
            }
        }
        return [
            "include": match(policy.include), "include_any": match(policy.includeAny), "exclude": match(policy.exclude),
        ]
        .compactMapValues { $0 }
    }

    private static func listener(_ listener: MetronomeConfiguration.Distributor.Listener, http: Bool) -> [String: Any] {
        var document: [String: Any] = [
            "endpoint": listener.endpoint, "enabled": listener.enabled,
            "max_recv_msg_size_mib": listener.maxRequestMiB,
        ]
        if http {
            document["max_connections"] = listener.http.maxConnections
            document["read_header_timeout"] = "\(listener.http.readHeaderTimeout)"
            document["read_timeout"] = "\(listener.http.readTimeout)"
            document["idle_timeout"] = "\(listener.http.idleTimeout)"
        } else {
            document["max_connections"] = listener.grpc.maxConnections
            document["connection_preface_timeout"] = "\(listener.grpc.connectionPrefaceTimeout)"
            document["max_connection_idle"] = "\(listener.grpc.maxConnectionIdle)"
            document["keepalive_time"] = "\(listener.grpc.keepaliveTime)"
            document["keepalive_timeout"] = "\(listener.grpc.keepaliveTimeout)"
            document["min_ping_interval"] = "\(listener.grpc.minPingInterval)"
        }
        return document
    }

    private static func remoteWrite(_ remoteWrite: MetricsGeneratorSection.RemoteWrite) -> [String: Any] {
        var document: [String: Any] = [
            "url": remoteWrite.url, "name": remoteWrite.name,
            "headers": remoteWrite.headers.mapValues { _ in secret },
            "remote_timeout": duration(remoteWrite.remoteTimeout.milliseconds),
            "send_exemplars": remoteWrite.sendExemplars,
        ]
        if remoteWrite.authorization != nil { document["authorization"] = secret }
        if let tls = remoteWrite.tls {
            document["tls_config"] =
                [
                    "ca_file": tls.caFile ?? "", "cert_file": tls.certFile ?? "",
                    "key_file": tls.keyFile.map { _ in secret } ?? "",
                    "insecure_skip_verify": tls.insecureSkipVerify,
                ] as [String: Any]
        }
        return document
    }
}

/// A number written as Prometheus and the configuration write it (`0.1`, not `1e-1`).
private struct PlainNumber: NodeRepresentable {
    let value: Double

    init(_ value: Double) { self.value = value }

    func represented() throws -> Node { Node(DecimalFormatter.string(value)) }
}
