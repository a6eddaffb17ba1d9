import Foundation
import Logging
import MetronomeGenerator
import Testing

@testable import MetronomeServer

/// The per-tenant overrides file in Tempo's format (spec §6): what each key sets, Tempo's merge rules, and the errors
/// a bad file gets.
struct OverridesTests {
    /// The main file these tests run with: span metrics with a dimension, service graphs with a peer attribute.
    static let main = """
        metrics_generator:
          registry: {collection_interval: 15s}
          processor:
            span_metrics: {dimensions: [http.method], histogram_buckets: [0.1, 1]}
            service_graphs: {peer_attributes: [peer.service], wait: 5s}
        overrides:
          defaults:
            ingestion: {rate_limit_bytes: 1000}
            metrics_generator:
              processors: [span-metrics, service-graphs]
              max_active_series: 500
              generate_native_histograms: both
        """

    static func overrides(_ file: String, main: String = main) throws -> (RuntimeOverrides, String) {
        let configuration = try ConfigurationLoader.load(yaml: main)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overrides-\(UUID()).yaml").path
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        var application = configuration
        application.overrides.perTenantOverrideConfig = path
        return (try RuntimeOverrides.load(application, logger: Logger(label: "test")), path)
    }

    static func tenant(_ name: String) -> TenantID { try! TenantID(validating: name) }

    @Test func aTenantBlockReplacesTheDefaultsAndTheWildcardServesTheRest() throws {
        let (overrides, _) = try Self.overrides(
            """
            overrides:
              team-a:
                metrics_generator:
                  processors: [service-graphs]
              "*":
                metrics_generator:
                  processors: [span-metrics]
                  max_active_series: 10
            """
        )
        let a = overrides.settings(for: Self.tenant("team-a"))
        #expect(a.source == "team-a")
        #expect(a.generator.processors == ["service-graphs"])
        // Wholesale: what the block leaves out is zero, not the defaults block's.
        #expect(a.generator.limits.maxActiveSeries == 0)
        #expect(a.ingestion == .init())
        // …except the processor settings, which fall back to the main file's, and the native-histogram keys,
        // which fall back to the defaults block.
        #expect(a.generator.spanMetrics.dimensions == ["http.method"])
        #expect(a.generator.serviceGraphs.peerAttributes == ["peer.service"])
        #expect(a.generator.serviceGraphs.waitMs == 5_000)
        #expect(a.generator.nativeHistograms.mode == .both)
        let b = overrides.settings(for: Self.tenant("team-b"))
        #expect(b.source == "*")
        #expect(b.generator.processors == ["span-metrics"] && b.generator.limits.maxActiveSeries == 10)
    }

    @Test func withoutAFileBlockTenantsGetTheDefaultsBlock() throws {
        let (overrides, _) = try Self.overrides("overrides: {}\n")
        let settings = overrides.settings(for: Self.tenant("anyone"))
        #expect(settings.source == "defaults")
        #expect(settings.generator.limits.maxActiveSeries == 500)
        #expect(settings.ingestion.rateLimitBytes == 1000)
    }

    @Test func everyOverridableKeyOfTempoIsRead() throws {
        let (overrides, _) = try Self.overrides(
            """
            overrides:
              team-a:
                ingestion: {rate_strategy: global, rate_limit_bytes: 2MB, burst_size_bytes: 4MB, max_traces_per_user: 5}
                read: {max_bytes_per_tag_values_query: 1000}
                compaction: {block_retention: 24h}
                global: {max_bytes_per_trace: 5000}
                storage: {parquet_dedicated_columns: []}
                forwarders: [otel]
                cost_attribution: {dimensions: {}}
                metrics_generator:
                  ring_size: 3
                  processors: [span-metrics, service-graphs, host-info]
                  max_active_series: 100
                  max_active_entities: 50
                  max_cardinality_per_label: 20
                  collection_interval: 30s
                  disable_collection: true
                  trace_id_label_name: trace_id
                  ingestion_time_range_slack: 1m
                  remote_write_headers: {X-Team: a}
                  generate_native_histograms: native
                  native_histogram_bucket_factor: 1.2
                  native_histogram_max_bucket_number: 160
                  native_histogram_min_reset_duration: 1h
                  span_name_sanitization: dry_run
                  forwarder: {queue_size: 10, workers: 1}
                  processor:
                    span_metrics:
                      histogram_buckets: [0.5, 2]
                      dimensions: [http.route]
                      intrinsic_dimensions: {status_message: true, span_kind: false}
                      filter_policies: [{include: {match_type: strict, attributes: [{key: kind, value: SPAN_KIND_SERVER}]}}]
                      dimension_mappings: [{name: route, source_labels: [http.method, http.route], join: " "}]
                      enable_target_info: true
                      target_info_excluded_dimensions: [host.name]
                      enable_instance_label: false
                      span_multiplier_key: ratio
                      enable_tracestate_span_multiplier: true
                    service_graphs:
                      histogram_buckets: [1, 2]
                      dimensions: [cluster]
                      peer_attributes: [db.name]
                      filter_policies: []
                      enable_client_server_prefix: true
                      enable_messaging_system_latency_histogram: true
                      enable_virtual_node_label: true
                      span_multiplier_key: ratio
                      enable_tracestate_span_multiplier: true
                    host_info: {host_identifiers: [host.id], metric_name: traces_host_info}
                    local_blocks: {max_live_traces: 100}
            """
        )
        let settings = overrides.settings(for: Self.tenant("team-a"))
        let generator = settings.generator
        #expect(settings.ingestion == .init(rateLimitBytes: 2_000_000, burstSizeBytes: 4_000_000))
        #expect(generator.processors == ["span-metrics", "service-graphs", "host-info"])
        #expect(generator.limits.maxActiveSeries == 100 && generator.limits.maxActiveEntities == 50)
        #expect(generator.limits.maxCardinalityPerLabel == 20)
        #expect(generator.registry.collectionIntervalMs == 30_000 && generator.disableCollection)
        #expect(generator.registry.traceIDLabelName == "trace_id")
        #expect(generator.ingestionTimeRangeSlackMs == 60_000)
        #expect(settings.remoteWriteHeaders == ["X-Team": "a"])
        #expect(generator.nativeHistograms.mode == .native && generator.nativeHistograms.bucketFactor == 1.2)
        #expect(generator.nativeHistograms.maxBucketNumber == 160)
        #expect(generator.nativeHistograms.minResetDurationMs == 3_600_000)
        #expect(generator.nativeHistograms.schema == 2)
        #expect(generator.spanNameSanitization == .dryRun)
        let spanMetrics = generator.spanMetrics
        #expect(spanMetrics.histogramBuckets == [0.5, 2] && spanMetrics.dimensions == ["http.route"])
        #expect(spanMetrics.intrinsicDimensions.statusMessage && !spanMetrics.intrinsicDimensions.spanKind)
        #expect(spanMetrics.intrinsicDimensions.service)
        #expect(spanMetrics.filterPolicies.count == 1)
        #expect(
            spanMetrics.dimensionMappings == [
                .init(name: "route", sourceLabels: ["http.method", "http.route"], join: " ")
            ]
        )
        #expect(spanMetrics.enableTargetInfo && spanMetrics.targetInfoExcludedDimensions == ["host.name"])
        #expect(!spanMetrics.enableInstanceLabel)
        #expect(spanMetrics.spanMultiplierKey == "ratio" && spanMetrics.enableTracestateSpanMultiplier)
        let serviceGraphs = generator.serviceGraphs
        #expect(serviceGraphs.histogramBuckets == [1, 2] && serviceGraphs.dimensions == ["cluster"])
        #expect(serviceGraphs.peerAttributes == ["db.name"] && serviceGraphs.filterPolicies.isEmpty)
        #expect(serviceGraphs.enableClientServerPrefix && serviceGraphs.enableMessagingSystemLatencyHistogram)
        #expect(serviceGraphs.enableVirtualNodeLabel && serviceGraphs.enableTracestateSpanMultiplier)
        #expect(serviceGraphs.spanMultiplierKey == "ratio")
        // Not overridable per tenant: the main file's.
        #expect(serviceGraphs.waitMs == 5_000)
        #expect(
            generator.hostInfo.hostIdentifiers == ["host.id"] && generator.hostInfo.metricName == "traces_host_info"
        )
    }

    @Test func tempoExceptionsHold() throws {
        let configuration = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  processor:
                    span_metrics: {span_multiplier_key: ratio}
                    service_graphs: {enable_client_server_prefix: true}
                """
        )
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overrides-\(UUID()).yaml").path
        try """
        overrides:
          a:
            metrics_generator:
              processor:
                span_metrics: {span_multiplier_key: ""}
                service_graphs: {enable_client_server_prefix: false}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let file = try OverridesFile.load(path: path, processor: configuration.metricsGenerator.processor)
        let block = try #require(file.tenants["a"])
        // An empty multiplier key and a false prefix change nothing (spec §6).
        #expect(block.generator.spanMetrics.spanMultiplierKey == "ratio")
        #expect(block.generator.serviceGraphs.enableClientServerPrefix)
    }

    @Test func anUnsetSanitizationModeFallsBackToTheDefaultsBlock() throws {
        let (overrides, _) = try Self.overrides(
            """
            overrides:
              a: {metrics_generator: {span_name_sanitization: dry_run}}
              b: {metrics_generator: {max_active_series: 5}}
            """,
            main: "overrides: {defaults: {metrics_generator: {span_name_sanitization: enabled}}}"
        )
        #expect(overrides.settings(for: Self.tenant("a")).generator.spanNameSanitization == .dryRun)
        // Spec §6: `""` is "not set", so block b, which replaces the defaults wholesale, still gets their mode.
        let b = overrides.settings(for: Self.tenant("b")).generator
        #expect(b.spanNameSanitization == .enabled && b.limits.maxActiveSeries == 5)
    }

    @Test(
        arguments: [
            ("overrides: {a: [", "invalid YAML"),
            (
                "overrides:\n  a:\n    metrics_generator:\n      max_active_serie: 1\n",
                "line 4: overrides.a.metrics_generator.max_active_serie: unknown key 'max_active_serie'"
            ),
            (
                "overrides:\n  a:\n    metrics_generator:\n      processor:\n        span_metrics:\n          filter_policies: [{include: {match_type: regex, attributes: [{key: name, value: \"(\"}]}}]\n",
                "line 6: overrides.a.metrics_generator.processor.span_metrics.filter_policies"
            ),
            (
                "overrides:\n  a:\n    metrics_generator:\n      processor:\n        span_metrics: {dimensions: [foo_bar], dimension_mappings: [{name: foo_bar, source_labels: [x]}]}\n",
                "collides with dimension"
            ),
            ("overrides:\n  a:\n    metrics_generator_processors: [span-metrics]\n", "legacy flat format"),
            (
                "overrides:\n  a:\n    metrics_generator:\n      processor:\n        service_graphs: {wait: 1s}\n",
                "unknown key 'wait'"
            ),
            ("overrides:\n  a/b:\n    metrics_generator: {}\n", "not a tenant id"),
            ("overrides:\n  a:\n    metrics_generator: {trace_id_label_name: 1abc}\n", "not a valid label name"),
            (
                "overrides:\n  a:\n    metrics_generator: {span_name_sanitization: on}\n",
                "line 3: overrides.a.metrics_generator.span_name_sanitization: 'on' is not a mode"
            ),
        ]
    )
    func aBadFileIsAnErrorWithTheFileAndLine(file: String, expected: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overrides-\(UUID()).yaml").path
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try OverridesFile.load(path: path, processor: .init())
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(path) && text.contains(expected)
        }
    }

    @Test func aReloadOfABrokenFileKeepsTheLastGoodOverrides() throws {
        let (overrides, path) = try Self.overrides("overrides:\n  a:\n    metrics_generator: {max_active_series: 7}\n")
        #expect(overrides.settings(for: Self.tenant("a")).generator.limits.maxActiveSeries == 7)
        try "overrides:\n  a:\n    metrics_generator: {max_active_series: 8}\n".write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        #expect(overrides.reload())
        #expect(!overrides.reload())
        try "overrides: {a: [".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!overrides.reload())
        #expect(overrides.settings(for: Self.tenant("a")).generator.limits.maxActiveSeries == 8)
        try FileManager.default.removeItem(atPath: path)
        #expect(!overrides.reload())
        #expect(overrides.settings(for: Self.tenant("a")).generator.limits.maxActiveSeries == 8)
    }

    @Test func tenantsPickUpAReloadKeepingTheirSeries() throws {
        let (overrides, path) = try Self.overrides(
            "overrides:\n  a:\n    metrics_generator: {processors: [span-metrics]}\n"
        )
        let tenants = Tenants(overrides: overrides, dataPath: nil, logger: Logger(label: "test"))
        let nowNanos = Distributor.nowNanos()
        let nowMs = Int64(nowNanos / 1_000_000)
        let tenant = try tenants.tenant(Self.tenant("a"), nowMs: nowMs)
        let before = tenant.generator
        try """
        overrides:
          a:
            metrics_generator: {processors: [span-metrics], max_active_series: 99}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(overrides.reload())
        tenants.reconfigure(nowMs: nowMs)
        #expect(tenant.generator !== before)
        #expect(tenant.generator.limiter === before.limiter && tenant.generator.limiter.maximum == 99)
        #expect(tenant.generator.continuation.kept == [SpanMetricsProcessor.name])
    }

    @Test func theExampleOverridesFileLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/overrides.example.yaml")
        let file = try OverridesFile.load(path: url.path, processor: .init())
        #expect(file.tenants.keys.sorted() == ["*", "team-payments"])
        #expect(file.tenants["team-payments"]?.generator.maxActiveSeries == 200_000)
    }
}
