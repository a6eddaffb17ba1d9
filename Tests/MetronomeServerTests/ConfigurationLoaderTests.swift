import Foundation
import MetronomeGenerator
import MetronomeRemoteWrite
import Testing

@testable import MetronomeServer

struct ConfigurationLoaderTests {
    static let issueExample = """
        server:
          http_listen_address: 127.0.0.1
          http_listen_port: 3200
        distributor:
          receivers:
            otlp:
              protocols:
                grpc: {endpoint: "127.0.0.1:4317"}
                http: {endpoint: "127.0.0.1:4318"}
        metrics_generator:
          metrics_ingestion_time_range_slack: 30s
          registry:
            collection_interval: 15s
            stale_duration: 15m
            external_labels: {source: metronome}
            max_label_name_length: 1024
            max_label_value_length: 2048
          storage:
            path: /var/lib/metronome
            remote_write:
              - url: http://127.0.0.1:9090/api/v1/write
                headers: {X-Extra: value}
          processor:
            span_metrics:
              histogram_buckets: [0.002, 0.004, 0.008]
              intrinsic_dimensions: {status_message: true}
        overrides:
          defaults:
            metrics_generator:
              processors: [span-metrics]
        """

    @Test func theDocumentedExampleLoadsEveryKey() throws {
        let config = try ConfigurationLoader.load(yaml: Self.issueExample)
        #expect(config.server.httpListenAddress == "127.0.0.1")
        #expect(config.server.httpListenPort == 3200)
        #expect(config.distributor.receivers.otlp.protocols.grpc.endpoint == "127.0.0.1:4317")
        #expect(config.distributor.receivers.otlp.protocols.http.endpoint == "127.0.0.1:4318")
        let generator = config.metricsGenerator
        #expect(generator.metricsIngestionTimeRangeSlack.milliseconds == 30_000)
        #expect(generator.registry.configuration.collectionIntervalMs == 15_000)
        #expect(generator.registry.configuration.staleDurationMs == 900_000)
        #expect(generator.registry.configuration.externalLabels == ["source": "metronome"])
        #expect(generator.storage.path == "/var/lib/metronome")
        #expect(generator.storage.remoteWrite.map(\.url) == ["http://127.0.0.1:9090/api/v1/write"])
        #expect(generator.storage.remoteWrite.first?.headers == ["X-Extra": "value"])
        let spanMetrics = generator.processor.spanMetrics.processorConfiguration
        #expect(spanMetrics.histogramBuckets == [0.002, 0.004, 0.008])
        #expect(spanMetrics.intrinsicDimensions.statusMessage)
        #expect(spanMetrics.intrinsicDimensions.spanKind)
        #expect(config.overrides.defaults.generator.processors == ["span-metrics"])
    }

    @Test func noFileAndAnEmptyFileGiveTheDefaults() throws {
        let defaults = try ConfigurationLoader.load(path: nil)
        #expect(defaults == MetronomeConfiguration())
        #expect(try ConfigurationLoader.load(yaml: "") == defaults)
        #expect(defaults.server.httpListenPort == 3200)
        #expect(defaults.distributor.receivers.otlp.protocols.grpc.endpoint == "0.0.0.0:4317")
        #expect(defaults.overrides.defaults.generator.processors == ["span-metrics", "service-graphs"])
        #expect(defaults.metricsGenerator.storage.remoteWrite.isEmpty)
    }

    @Test func theZipkinReceiverIsOffUnlessItsKeyIsPresent() throws {
        #expect(try ConfigurationLoader.load(yaml: "").distributor.receivers.zipkin == nil)
        // Tempo's shape: `zipkin:` alone turns it on at its usual port.
        let bare = try ConfigurationLoader.load(yaml: "distributor:\n  receivers:\n    zipkin:\n")
        #expect(bare.distributor.receivers.zipkin?.endpoint == "0.0.0.0:9411")
        let set = try ConfigurationLoader.load(
            yaml: "distributor:\n  receivers:\n    zipkin: {endpoint: 127.0.0.1:19411, max_recv_msg_size_mib: 2}\n"
        )
        #expect(set.distributor.receivers.zipkin?.endpoint == "127.0.0.1:19411")
        #expect(set.distributor.receivers.zipkin?.maxRequestMiB == 2)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(yaml: "distributor:\n  receivers:\n    zipkin: {keepalive_time: 1s}\n")
        }
    }

    @Test func eachJaegerProtocolIsOffUnlessItsKeyIsPresent() throws {
        let none = try ConfigurationLoader.load(yaml: "distributor:\n  receivers:\n    jaeger:\n").distributor.receivers
        #expect(none.jaeger == .init())
        // Tempo's shape: a protocol's key alone turns it on at its usual port.
        let all = try ConfigurationLoader.load(
            yaml: """
                distributor:
                  receivers:
                    jaeger:
                      protocols:
                        grpc:
                        thrift_http:
                        thrift_compact:
                        thrift_binary: {endpoint: 127.0.0.1:16832, tenant: agents, max_packet_size: 9000, socket_buffer_size: 1MiB}
                """
        ).distributor.receivers.jaeger
        #expect(all.grpc?.endpoint == "0.0.0.0:14250")
        #expect(all.thriftHTTP?.endpoint == "0.0.0.0:14268")
        #expect(all.thriftCompact?.endpoint == "0.0.0.0:6831")
        #expect(all.thriftCompact?.tenant == "single-tenant")
        #expect(all.thriftBinary?.endpoint == "127.0.0.1:16832")
        #expect(all.thriftBinary?.tenant == "agents")
        #expect(all.thriftBinary?.maxPacketSize == 9000)
        #expect(all.thriftBinary?.socketBufferSize == 1 << 20)
        for bad in [
            "thrift_compact: {tenant: 'a b'}", "thrift_binary: {max_packet_size: 70000}",
            "thrift_http: {keepalive_time: 1s}",
            "thrift: {}",
        ] {
            #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(
                    yaml: "distributor:\n  receivers:\n    jaeger:\n      protocols:\n        \(bad)\n"
                )
            }
        }
    }

    @Test func anUnknownKeyIsRejectedWithItsPathAndLine() {
        let yaml = """
            metrics_generator:
              registry:
                collection_interval: 15s
                colection_interval: 10s
            """
        #expect {
            try ConfigurationLoader.load(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.path == "metrics_generator.registry.colection_interval" && error.line == 4
                && error.description.contains("unknown key 'colection_interval'")
        }
    }

    @Test func unknownKeysInsideListsAndOverridesAreRejected() {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(
                yaml: "metrics_generator: {storage: {remote_write: [{url: 'http://x', bad: 1}]}}"
            )
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(yaml: "overrides: {defaults: {metrics_generator: {procesors: []}}}")
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(
                yaml: "metrics_generator: {processor: {span_metrics: {intrinsic_dimensions: {nope: true}}}}"
            )
        }
    }

    @Test func badValuesNameTheKey() {
        #expect {
            try ConfigurationLoader.load(yaml: "metrics_generator:\n  registry:\n    stale_duration: soon\n")
        } throws: { error in
            "\(error)".contains("metrics_generator.registry.stale_duration") && "\(error)".contains("line 3")
        }
        #expect {
            try ConfigurationLoader.load(yaml: "server: {http_listen_port: abc}")
        } throws: { error in "\(error)".contains("server.http_listen_port") }
        #expect {
            try ConfigurationLoader.load(yaml: "metrics_generator: {storage: {remote_write: [{url: 'ftp://x'}]}}")
        } throws: { error in "\(error)".contains("not an http:// or https:// URL") }
    }

    @Test(arguments: [
        ("15s", Int64(15_000)), ("1m30s", 90_000), ("500ms", 500), ("2h", 7_200_000), ("1.5h", 5_400_000),
        ("1d", 86_400_000), ("0", 0), ("250us", 0), ("1h2m3s4ms", 3_723_004),
    ])
    func durationsTakeGoAndPrometheusSyntax(text: String, milliseconds: Int64) {
        #expect(ConfigDuration.parse(text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["15", "s", "1x", "", "1.2.3s", "-5s"])
    func malformedDurationsAreRejected(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    @Test func listenAddressesParse() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:4317", key: "k") == ListenAddress(host: "127.0.0.1", port: 4317))
        #expect(try ListenAddress(parsing: ":4318", key: "k") == ListenAddress(host: "0.0.0.0", port: 4318))
        #expect(try ListenAddress(parsing: "[::1]:9", key: "k") == ListenAddress(host: "::1", port: 9))
        #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: "localhost", key: "k") }
        #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: "h:70000", key: "k") }
    }
}

struct SpanMetricsConfigurationTests {
    @Test func dimensionsAndMappingsLoad() throws {
        let config = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  processor:
                    span_metrics:
                      dimensions: [http.method, k8s.namespace.name]
                      dimension_mappings:
                        - name: route
                          source_labels: [http.method, http.route]
                          join: " "
                """
        )
        let spanMetrics = config.metricsGenerator.processor.spanMetrics.processorConfiguration
        #expect(spanMetrics.dimensions == ["http.method", "k8s.namespace.name"])
        #expect(
            spanMetrics.dimensionMappings == [
                .init(name: "route", sourceLabels: ["http.method", "http.route"], join: " ")
            ]
        )
    }

    @Test func mappingCollisionsAndIncompleteMappingsAreConfigurationErrors() {
        #expect {
            try ConfigurationLoader.load(
                yaml: """
                    metrics_generator:
                      processor:
                        span_metrics:
                          dimensions: [foo_bar]
                          dimension_mappings: [{name: foo_bar, source_labels: [a]}]
                    """
            )
        } throws: { error in
            "\(error)".contains("line 3")
                && "\(error)".contains("dimension_mapping \"foo_bar\" produces label \"foo_bar\" which collides")
        }
        #expect {
            try ConfigurationLoader.load(
                yaml: "metrics_generator: {processor: {span_metrics: {dimension_mappings: [{name: x}]}}}"
            )
        } throws: { error in "\(error)".contains("needs a name and source_labels") }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(
                yaml: "metrics_generator: {processor: {span_metrics: {dimension_mappings: [{name: x, sources: [a]}]}}}"
            )
        }
    }
}

struct FilterPolicyConfigurationTests {
    @Test func policiesLoadWithTypedValues() throws {
        let config = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  processor:
                    span_metrics:
                      filter_policies:
                        - include:
                            match_type: strict
                            attributes:
                              - {key: span.http.status_code, value: 200}
                              - {key: resource.sampled, value: true}
                              - {key: span.ratio, value: 0.5}
                              - {key: kind, value: SPAN_KIND_SERVER}
                          exclude:
                            match_type: regex
                            attributes:
                              - {key: name, value: "^health"}
                """
        )
        let policy = try #require(
            config.metricsGenerator.processor.spanMetrics.processorConfiguration.filterPolicies.first
        )
        #expect(
            policy.include?.attributes.map(\.value) == [
                .int(200), .bool(true), .double(0.5), .string("SPAN_KIND_SERVER"),
            ]
        )
        #expect(policy.exclude?.matchType == .regex)
        #expect(policy.includeAny == nil)
    }

    @Test func badPoliciesNameTheProblem() {
        let cases = [
            ("[{include: {attributes: [{key: duration, value: 1}]}}]", "unsupported filter key 'duration'"),
            ("[{include: {match_type: regex, attributes: [{key: name, value: '('}]}}]", "invalid regex"),
            ("[{include: {match_type: fuzzy}}]", "'fuzzy' is not a match type"),
            ("[{}]", "needs include, include_any or exclude"),
            ("[{include: {attributes: [{key: status, value: OK}]}}]", "'OK' is not a status"),
            ("[{inclde: {}}]", "unknown key 'inclde'"),
        ]
        for (policies, message) in cases {
            #expect {
                try ConfigurationLoader.load(
                    yaml: "metrics_generator: {processor: {span_metrics: {filter_policies: \(policies)}}}"
                )
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}

struct RemoteWriteAuthConfigurationTests {
    private func endpoint(_ settings: String) throws -> [String: String] {
        let config = try ConfigurationLoader.load(
            yaml: "metrics_generator: {storage: {remote_write: [{url: 'http://x', \(settings)}]}}"
        )
        return try #require(config.metricsGenerator.storage.remoteWrite.first).endpoint.headers
    }

    @Test func basicAuthAndBearerTokensBecomeAnAuthorizationHeader() throws {
        #expect(try endpoint("basic_auth: {username: u, password: p}")["Authorization"] == "Basic dTpw")
        #expect(try endpoint("authorization: {credentials: t}")["Authorization"] == "Bearer t")
        #expect(try endpoint("authorization: {type: Token, credentials: t}")["Authorization"] == "Token t")
        #expect(try endpoint("bearer_token: abc")["Authorization"] == "Bearer abc")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metronome-token-\(UUID())")
        try "from-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try endpoint("bearer_token_file: '\(file.path)'")["Authorization"] == "Bearer from-file")
        #expect(
            try endpoint("basic_auth: {username: u, password_file: '\(file.path)'}")["Authorization"]
                == "Basic dTpmcm9tLWZpbGU="
        )
    }

    @Test func tlsSettingsAreCheckedAtLoad() throws {
        let config = try ConfigurationLoader.load(
            yaml:
                "metrics_generator: {storage: {remote_write: [{url: 'https://x', tls_config: {insecure_skip_verify: true}}]}}"
        )
        #expect(config.metricsGenerator.storage.remoteWrite.first?.endpoint.tls?.insecureSkipVerify == true)
        #expect {
            try endpoint("tls_config: {ca_file: /nonexistent/ca.pem}")
        } throws: { error in "\(error)".contains("cannot read '/nonexistent/ca.pem'") }
        #expect {
            try endpoint("tls_config: {cert_file: /etc/hostname}")
        } throws: { error in "\(error)".contains("cert_file and key_file go together") }
        #expect {
            try endpoint("tls_config: {cert_file: /etc/hostname, key_file: /etc/hostname}")
        } throws: { error in "\(error)".contains("invalid certificate or key") }
    }

    @Test func conflictingOrIncompleteCredentialsAreErrors() {
        #expect { try endpoint("basic_auth: {username: u, password: p}, bearer_token: t") } throws: { error in
            "\(error)".contains("only one of basic_auth")
        }
        #expect { try endpoint("basic_auth: {username: u}") } throws: { error in "\(error)".contains("needs a secret") }
        #expect { try endpoint("bearer_token_file: /nonexistent/token") } throws: { error in
            "\(error)".contains("cannot read secret file")
        }
    }

    @Test func walBoundsAndShardsLoadAndTempoWALKeysAreAccepted() throws {
        let storage = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  storage:
                    wal: {max_bytes: 512MiB, max_age: 30m, wal_segment_size: 1MB, wal_compression: snappy, truncate_frequency: 2h}
                    remote_write_shards: 8
                """
        ).metricsGenerator.storage
        #expect(storage.wal.limits.maxBytes == 512 << 20)
        #expect(storage.wal.limits.maxAgeMs == 1_800_000)
        #expect(storage.wal.limits.segmentBytes == 1_000_000)
        #expect(storage.remoteWriteShards == 8)
        let defaults = try ConfigurationLoader.load(yaml: "").metricsGenerator.storage
        #expect(defaults.wal.limits == WriteAheadLog.Limits())
        #expect(ConfigByteSize.parse("1GiB")?.bytes == 1 << 30)
        #expect(ConfigByteSize.parse("100MB")?.bytes == 100_000_000)
        #expect(ConfigByteSize.parse("2048")?.bytes == 2048)
        #expect(ConfigByteSize.parse("1 GiB")?.bytes == 1 << 30)
        #expect(ConfigByteSize.parse("lots") == nil)
        #expect(ConfigByteSize.parse("1XB") == nil)
    }

    @Test func badStorageSettingsNameTheProblem() {
        func load(_ storage: String) throws {
            _ = try ConfigurationLoader.load(yaml: "metrics_generator:\n  storage: \(storage)\n")
        }
        #expect { try load("{wal: {max_bytes: huge}}") } throws: { "\($0)".contains("storage.wal.max_bytes") }
        #expect { try load("{wal: {max_bytes: 1MiB, segment_size: 16MiB}}") } throws: {
            "\($0)".contains("at least the segment size")
        }
        #expect { try load("{remote_write_shards: 0}") } throws: { "\($0)".contains("between 1 and 64") }
        #expect { try load("{path: '', remote_write: [{url: 'http://a'}]}") } throws: {
            "\($0)".contains("needs a data directory")
        }
        #expect { try load("{remote_write: [{url: 'http://a'}, {url: 'http://b', name: 'http://a'}]}") } throws: {
            "\($0)".contains("two endpoints named 'http://a'")
        }
    }

    @Test func serviceGraphsLoadTempoKeysAndMetronomesOwn() throws {
        let configuration = try ConfigurationLoader.load(
            yaml: """
                metrics_generator:
                  processor:
                    service_graphs:
                      wait: 2s
                      max_items: 5000
                      max_pending_bytes: 64MiB
                      workers: 10
                      histogram_buckets: [0.5, 0.1]
                      dimensions: [beast]
                      enable_client_server_prefix: true
                      enable_messaging_system_latency_histogram: true
                      peer_attributes: [peer.service]
                      database_name_attributes: [db.name]
                      span_multiplier_key: sampler.param
                      enable_virtual_node_label: true
                      enable_server_to_server_edges: true
                      filter_policies:
                        - exclude: {match_type: strict, attributes: [{key: kind, value: SPAN_KIND_INTERNAL}]}
                """
        ).metricsGenerator.processor.serviceGraphs.processorConfiguration
        #expect(configuration.waitMs == 2_000)
        #expect(configuration.maxItems == 5_000)
        #expect(configuration.maxPendingBytes == 64 << 20)
        #expect(configuration.histogramBuckets == [0.5, 0.1])
        #expect(configuration.dimensions == ["beast"] && configuration.enableClientServerPrefix)
        #expect(configuration.enableMessagingSystemLatencyHistogram && configuration.enableVirtualNodeLabel)
        #expect(configuration.peerAttributes == ["peer.service"])
        #expect(configuration.databaseNameAttributes == ["db.name"])
        #expect(configuration.spanMultiplierKey == "sampler.param")
        #expect(configuration.enableServerToServerEdges)
        #expect(configuration.filterPolicies.count == 1)
        #expect(
            try ConfigurationLoader.load(yaml: "").metricsGenerator.processor.serviceGraphs.processorConfiguration
                == ServiceGraphsProcessor.Configuration()
        )
        #expect {
            try ConfigurationLoader.load(yaml: "metrics_generator: {processor: {service_graphs: {max_items: 0}}}")
        } throws: { "\($0)".contains("service_graphs.max_items") }
        #expect {
            try ConfigurationLoader.load(yaml: "metrics_generator: {processor: {service_graphs: {wiat: 1s}}}")
        } throws: { "\($0)".contains("wiat") }
    }

    @Test func theExampleConfigurationFileLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/metronome.example.yaml")
        let configuration = try ConfigurationLoader.load(path: url.path)
        #expect(configuration.overrides.defaults.generator.processors.contains("service-graphs"))
    }
}

struct AdmissionConfigurationTests {
    @Test func limitsHaveDefaults() throws {
        let config = try ConfigurationLoader.load(yaml: "")
        #expect(config.distributor.maxTenants == 1000)
        #expect(config.distributor.maxAttributeValueDepth == 64)
        #expect(config.distributor.maxInflightBytes == nil)
        #expect(config.distributor.inflightBytesLimit > 0)
        #expect(config.overrides.defaults.ingestion == .init())
        let http = config.distributor.receivers.otlp.protocols.http.http
        #expect(http == HTTPConnectionLimits())
        #expect(http.readHeaderTimeout == .seconds(10) && http.readTimeout == .seconds(30))
        #expect(config.distributor.receivers.otlp.protocols.grpc.grpc == GRPCConnectionLimits())
        #expect(config.server.connections.maxConnections == 256)
        #expect(config.server.connections.idleTimeout == .seconds(120))
    }

    @Test func everyLimitIsConfigurable() throws {
        let config = try ConfigurationLoader.load(
            yaml: """
                server: {http_server_max_connections: 8, http_server_read_header_timeout: 2s, http_server_read_timeout: 3s,
                         http_server_idle_timeout: 4s}
                distributor:
                  max_inflight_bytes: 64MiB
                  max_tenants: 5
                  max_attribute_value_depth: 16
                  receivers:
                    otlp:
                      protocols:
                        http: {max_connections: 10, read_header_timeout: 1s, read_timeout: 2s, idle_timeout: 3s}
                        grpc: {max_connections: 11, connection_preface_timeout: 1s, read_timeout: 4s, max_connection_idle: 2m,
                               keepalive_time: 1h, keepalive_timeout: 5s, min_ping_interval: 10s}
                overrides:
                  defaults:
                    ingestion: {rate_limit_bytes: 15MB, burst_size_bytes: 20000000, rate_strategy: global}
                """
        )
        #expect(
            config.server.connections
                == .init(
                    maxConnections: 8,
                    readHeaderTimeout: .seconds(2),
                    readTimeout: .seconds(3),
                    idleTimeout: .seconds(4)
                )
        )
        #expect(config.distributor.inflightBytesLimit == 64 << 20)
        #expect(config.distributor.maxTenants == 5)
        #expect(config.distributor.maxAttributeValueDepth == 16)
        let protocols = config.distributor.receivers.otlp.protocols
        #expect(
            protocols.http.http
                == .init(
                    maxConnections: 10,
                    readHeaderTimeout: .seconds(1),
                    readTimeout: .seconds(2),
                    idleTimeout: .seconds(3)
                )
        )
        #expect(
            protocols.grpc.grpc
                == .init(
                    maxConnections: 11,
                    connectionPrefaceTimeout: .seconds(1),
                    readTimeout: .seconds(4),
                    maxConnectionIdle: .seconds(120),
                    keepaliveTime: .seconds(3600),
                    keepaliveTimeout: .seconds(5),
                    minPingInterval: .seconds(10)
                )
        )
        #expect(config.overrides.defaults.ingestion == .init(rateLimitBytes: 15_000_000, burstSizeBytes: 20_000_000))
    }

    @Test func badLimitsAreErrorsNamingTheKey() {
        for yaml in [
            "distributor: {max_tenants: 0}",
            "distributor: {max_attribute_value_depth: 100000}",
            "distributor: {max_inflight_bytes: lots}",
            "distributor: {receivers: {otlp: {protocols: {http: {read_timeout: 0s}}}}}",
            "distributor: {receivers: {otlp: {protocols: {grpc: {read_header_timeout: 1s}}}}}",
            "distributor: {receivers: {otlp: {protocols: {grpc: {read_timeout: 0s}}}}}",
            "distributor: {receivers: {otlp: {protocols: {http: {keepalive_time: 1s}}}}}",
            "overrides: {defaults: {ingestion: {rate_strategy: cluster}}}",
            "overrides: {defaults: {ingestion: {rate_limit: 1}}}",
        ] {
            #expect(throws: ConfigurationError.self, "\(yaml)") { try ConfigurationLoader.load(yaml: yaml) }
        }
    }
}
