import Foundation
import MetronomeGenerator
import MetronomeWire

/// The whole configuration file, in Tempo's layout (so a Tempo user's generator section works unchanged).
///
/// Every key has a default: an empty file, or none, runs Metronome with the span-metrics processor on and no
/// remote write. Unknown keys are errors (see ``ConfigurationLoader``).
public struct MetronomeConfiguration: Decodable, Sendable, Equatable {
    public var server = Server()
    public var distributor = Distributor()
    public var metricsGenerator = MetricsGeneratorSection()
    public var overrides = OverridesSection()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case server, distributor
        case metricsGenerator = "metrics_generator"
        case overrides
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        server = try keys.value(.server, or: Server())
        distributor = try keys.value(.distributor, or: Distributor())
        metricsGenerator = try keys.value(.metricsGenerator, or: MetricsGeneratorSection())
        // The defaults block's processor keys replace the main file's one by one (spec §6).
        var base = metricsGenerator.processor.base
        base.isOverride = true
        overrides = try ProcessorSectionBase.$current.withValue(base) {
            try keys.value(.overrides, or: OverridesSection())
        }
        let forwarders = Set(distributor.forwarders.map(\.name))
        if let unknown = overrides.defaults.forwarders.first(where: { !forwarders.contains($0) }) {
            throw ConfigurationError(
                path: "overrides.defaults.forwarders",
                message:
                    "'\(unknown)' is not one of distributor.forwarders (\(forwarders.sorted().joined(separator: ", ")))"
            )
        }
        if !distributor.forwarders.isEmpty && metricsGenerator.storage.path.isEmpty {
            throw ConfigurationError(
                path: "metrics_generator.storage.path",
                message: "forwarders need a data directory for their queues; set storage.path"
            )
        }
    }

    /// The generator settings of the main file, before any overrides: what every tenant starts from.
    var generatorBase: Generator.Configuration {
        let section = metricsGenerator
        var generator = Generator.Configuration()
        generator.registry = section.registry.configuration
        generator.registry.instanceLabel = ProcessInfo.processInfo.hostName
        generator.limits.mode = section.limiterType
        generator.ingestionTimeRangeSlackMs = section.metricsIngestionTimeRangeSlack.milliseconds
        generator.spanMetrics = section.processor.spanMetrics.processorConfiguration
        generator.serviceGraphs = section.processor.serviceGraphs.processorConfiguration
        generator.hostInfo = section.processor.hostInfo.processorConfiguration
        return generator
    }

    /// `server`: the admin HTTP listener (`/ready`, `/metrics`, `/metrics/generated`).
    public struct Server: Decodable, Sendable, Equatable {
        public var httpListenAddress = "0.0.0.0"
        public var httpListenPort = 3200
        /// `trace`, `debug`, `info`, `warn`/`warning`, `error`.
        public var logLevel = "info"
        /// `http_server_max_connections`, `http_server_read_header_timeout`, `http_server_read_timeout` and
        /// `http_server_idle_timeout` (the admin listener's; Tempo's server has the last two, 30 s and 120 s).
        var connections = HTTPConnectionLimits(maxConnections: 256, idleTimeout: .seconds(120))

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case httpListenAddress = "http_listen_address"
            case httpListenPort = "http_listen_port"
            case logLevel = "log_level"
            case maxConnections = "http_server_max_connections"
            case readHeaderTimeout = "http_server_read_header_timeout"
            case readTimeout = "http_server_read_timeout"
            case idleTimeout = "http_server_idle_timeout"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            httpListenAddress = try keys.value(.httpListenAddress, or: httpListenAddress)
            httpListenPort = try keys.value(.httpListenPort, or: httpListenPort)
            logLevel = try keys.value(.logLevel, or: logLevel)
            connections.maxConnections = try keys.value(.maxConnections, or: connections.maxConnections)
            guard connections.maxConnections > 0 else {
                throw ConfigurationError(
                    path: ConfigurationError.path(keys.codingPath + [CodingKeys.maxConnections]),
                    message: "must be positive"
                )
            }
            connections.readHeaderTimeout = try keys.timeout(.readHeaderTimeout, or: connections.readHeaderTimeout)
            connections.readTimeout = try keys.timeout(.readTimeout, or: connections.readTimeout)
            connections.idleTimeout = try keys.timeout(.idleTimeout, or: connections.idleTimeout)
        }
    }

    /// `distributor`: where spans come in (`receivers.otlp.protocols`) and what the server takes in at once.
    public struct Distributor: Decodable, Sendable, Equatable {
        public var receivers = Receivers()
        /// `max_inflight_bytes`: the bytes of requests being read, decoded and processed at once, across receivers;
        /// nil is the default, a sixteenth of physical memory.
        public var maxInflightBytes: Int?
        /// `max_tenants`: how many tenants may exist; requests for more are refused.
        public var maxTenants = 1000
        /// `max_attribute_value_depth`: how deeply array and key-value-list attribute values may nest.
        public var maxAttributeValueDepth = SpanBatch.Limits().maxValueDepth
        /// `forwarders`: the trace stores requests are forwarded to, for the tenants whose overrides name them.
        public var forwarders: [ForwarderSection] = []
        /// `forwarder_flush_deadline`: how long forwarding goes on after SIGTERM (default 30 s); the rest is sent
        /// after the next start.
        public var forwarderFlushDeadline = ConfigDuration(milliseconds: 30_000)

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case receivers
            case maxInflightBytes = "max_inflight_bytes"
            case maxTenants = "max_tenants"
            case maxAttributeValueDepth = "max_attribute_value_depth"
            case forwarders
            case forwarderFlushDeadline = "forwarder_flush_deadline"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            receivers = try keys.value(.receivers, or: Receivers())
            maxInflightBytes = try keys.decodeIfPresent(ConfigByteSize.self, forKey: .maxInflightBytes)?.bytes
            maxTenants = try keys.value(.maxTenants, or: maxTenants)
            maxAttributeValueDepth = try keys.value(.maxAttributeValueDepth, or: maxAttributeValueDepth)
            forwarders = try keys.value(.forwarders, or: [])
            forwarderFlushDeadline = try keys.value(.forwarderFlushDeadline, or: forwarderFlushDeadline)
            let names = forwarders.map(\.name)
            if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
                throw ConfigurationError(
                    path: ConfigurationError.path(keys.codingPath + [CodingKeys.forwarders]),
                    message: "two forwarders are named '\(duplicate)'"
                )
            }
            guard maxInflightBytes ?? 1 > 0, maxTenants > 0, (1...10_000).contains(maxAttributeValueDepth) else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath),
                    message:
                        "max_inflight_bytes and max_tenants must be positive, max_attribute_value_depth between 1 and 10000"
                )
            }
        }

        /// `max_inflight_bytes`, or its default: a sixteenth of physical memory.
        var inflightBytesLimit: Int {
            maxInflightBytes ?? Int(clamping: ProcessInfo.processInfo.physicalMemory / 16)
        }

        public struct Receivers: Decodable, Sendable, Equatable {
            public var otlp = OTLP()
            /// Zipkin v2 (`POST /api/v2/spans`); off unless the key is present (`zipkin:` alone listens on :9411).
            public var zipkin: Listener?
            /// Jaeger's protocols; each is off unless its key is present.
            public var jaeger = Jaeger()

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable { case otlp, zipkin, jaeger }

            static let zipkinDefault = Listener(endpoint: "0.0.0.0:9411")

            public init(from decoder: any Decoder) throws {
                let keys = try decoder.strictContainer(CodingKeys.self)
                otlp = try keys.value(.otlp, or: OTLP())
                jaeger = try keys.value(.jaeger, or: Jaeger())
                if keys.contains(.zipkin) {
                    zipkin =
                        try keys.decodeIfPresent(Listener.self, forKey: .zipkin)?.withDefaultEndpoint(
                            Self.zipkinDefault
                        )
                        ?? Self.zipkinDefault
                }
            }
        }

        /// `jaeger.protocols`: `grpc` (`:14250`, `PostSpans`), `thrift_http` (`:14268`, `POST /api/traces`), and the
        /// agent's UDP ports `thrift_compact` (`:6831`) and `thrift_binary` (`:6832`). A protocol's key alone turns it
        /// on at its usual port.
        public struct Jaeger: Decodable, Sendable, Equatable {
            public var grpc: Listener?
            public var thriftHTTP: Listener?
            public var thriftCompact: UDPListener?
            public var thriftBinary: UDPListener?

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable { case protocols }
            enum ProtocolKeys: String, CodingKey, CaseIterable {
                case grpc
                case thriftHTTP = "thrift_http"
                case thriftCompact = "thrift_compact"
                case thriftBinary = "thrift_binary"
            }

            public init(from decoder: any Decoder) throws {
                let keys = try decoder.strictContainer(CodingKeys.self)
                guard keys.contains(.protocols), try !keys.decodeNil(forKey: .protocols) else { return }
                let protocols = try keys.superDecoder(forKey: .protocols).strictContainer(ProtocolKeys.self)
                func listener(_ key: ProtocolKeys, _ port: Int) throws -> Listener? {
                    guard protocols.contains(key) else { return nil }
                    let fallback = Listener(endpoint: "0.0.0.0:\(port)")
                    return try protocols.decodeIfPresent(Listener.self, forKey: key)?.withDefaultEndpoint(fallback)
                        ?? fallback
                }
                func udp(_ key: ProtocolKeys, _ port: Int) throws -> UDPListener? {
                    guard protocols.contains(key) else { return nil }
                    var listener = try protocols.decodeIfPresent(UDPListener.self, forKey: key) ?? UDPListener()
                    if listener.endpoint.isEmpty { listener.endpoint = "0.0.0.0:\(port)" }
                    return listener
                }
                grpc = try listener(.grpc, 14250)
                thriftHTTP = try listener(.thriftHTTP, 14268)
                thriftCompact = try udp(.thriftCompact, 6831)
                thriftBinary = try udp(.thriftBinary, 6832)
            }
        }

        /// A Jaeger agent UDP port: each datagram is one `emitBatch`, for one tenant (UDP carries no header).
        public struct UDPListener: Decodable, Sendable, Equatable {
            /// `host:port`.
            public var endpoint = ""
            public var enabled = true
            /// The tenant the datagrams' spans belong to.
            public var tenant = TenantID.singleTenant.value
            /// Largest datagram read; longer ones are truncated by the socket and dropped. Default 65000, as Jaeger's.
            public var maxPacketSize = 65_000
            /// The socket's receive buffer (`SO_RCVBUF`), bytes; the system's default when absent.
            public var socketBufferSize: Int?

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable {
                case endpoint, enabled, tenant
                case maxPacketSize = "max_packet_size"
                case socketBufferSize = "socket_buffer_size"
            }

            public init(from decoder: any Decoder) throws {
                let keys = try decoder.strictContainer(CodingKeys.self)
                endpoint = try keys.value(.endpoint, or: "")
                enabled = try keys.value(.enabled, or: true)
                tenant = try keys.value(.tenant, or: tenant)
                maxPacketSize = try keys.value(.maxPacketSize, or: maxPacketSize)
                socketBufferSize = try keys.decodeIfPresent(ConfigByteSize.self, forKey: .socketBufferSize)?.bytes
                let path = ConfigurationError.path(decoder.codingPath)
                guard (1...65_535).contains(maxPacketSize), socketBufferSize ?? 1 > 0 else {
                    throw ConfigurationError(
                        path: path,
                        message: "max_packet_size must be between 1 and 65535, socket_buffer_size positive"
                    )
                }
                do {
                    _ = try TenantID(validating: tenant)
                } catch {
                    throw ConfigurationError(path: path + ".tenant", message: error.message)
                }
            }
        }

        public struct OTLP: Decodable, Sendable, Equatable {
            public var protocols = Protocols()

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable { case protocols }

            public init(from decoder: any Decoder) throws {
                protocols = try decoder.strictContainer(CodingKeys.self).value(.protocols, or: Protocols())
            }
        }

        public struct Protocols: Decodable, Sendable, Equatable {
            /// OTLP/gRPC; null or absent keeps the default, `enabled: false` turns it off.
            public var grpc = Listener(endpoint: "0.0.0.0:4317")
            /// OTLP/HTTP.
            public var http = Listener(endpoint: "0.0.0.0:4318")

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable { case grpc, http }

            public init(from decoder: any Decoder) throws {
                let keys = try decoder.strictContainer(CodingKeys.self)
                grpc = try keys.decodeIfPresent(Listener.self, forKey: .grpc)?.withDefaultEndpoint(grpc) ?? grpc
                http = try keys.decodeIfPresent(Listener.self, forKey: .http)?.withDefaultEndpoint(http) ?? http
            }
        }

        /// One receiver's listener, with the connection limits of its protocol.
        public struct Listener: Decodable, Sendable, Equatable {
            /// `host:port`.
            public var endpoint: String
            public var enabled = true
            /// Largest accepted request, MiB (decompressed for HTTP). Default 16.
            public var maxRequestMiB = 16
            /// `max_connections`, `read_header_timeout`, `read_timeout`, `idle_timeout` (the HTTP receiver's).
            var http = HTTPConnectionLimits()
            /// `max_connections`, `connection_preface_timeout`, `read_timeout`, `max_connection_idle`,
            /// `keepalive_time`, `keepalive_timeout`, `min_ping_interval` (the gRPC receiver's).
            var grpc = GRPCConnectionLimits()

            public init(endpoint: String) { self.endpoint = endpoint }

            enum CodingKeys: String, CodingKey, CaseIterable {
                case endpoint, enabled
                case maxRequestMiB = "max_recv_msg_size_mib"
                case maxConnections = "max_connections"
                case readHeaderTimeout = "read_header_timeout"
                case readTimeout = "read_timeout"
                case idleTimeout = "idle_timeout"
                case connectionPrefaceTimeout = "connection_preface_timeout"
                case maxConnectionIdle = "max_connection_idle"
                case keepaliveTime = "keepalive_time"
                case keepaliveTimeout = "keepalive_timeout"
                case minPingInterval = "min_ping_interval"

                static let common: [Self] = [.endpoint, .enabled, .maxRequestMiB, .maxConnections]
                static let http: [Self] = common + [.readHeaderTimeout, .readTimeout, .idleTimeout]
                static let grpc: [Self] =
                    common + [
                        .connectionPrefaceTimeout, .readTimeout, .maxConnectionIdle, .keepaliveTime, .keepaliveTimeout,
                        .minPingInterval,
                    ]
            }

            /// Decodes the `grpc` or `http` listener, whichever key it is under.
            public init(from decoder: any Decoder) throws {
                let isGRPC = decoder.codingPath.last?.stringValue == "grpc"
                let keys = try decoder.strictContainer(
                    CodingKeys.self,
                    allowed: isGRPC ? CodingKeys.grpc : CodingKeys.http
                )
                endpoint = try keys.value(.endpoint, or: "")
                enabled = try keys.value(.enabled, or: true)
                maxRequestMiB = try keys.value(.maxRequestMiB, or: 16)
                let maxConnections = try keys.value(.maxConnections, or: http.maxConnections)
                guard maxRequestMiB > 0, maxConnections > 0 else {
                    throw ConfigurationError(
                        path: ConfigurationError.path(decoder.codingPath),
                        message: "max_recv_msg_size_mib and max_connections must be positive"
                    )
                }
                http.maxConnections = maxConnections
                grpc.maxConnections = maxConnections
                http.readHeaderTimeout = try keys.timeout(.readHeaderTimeout, or: http.readHeaderTimeout)
                http.readTimeout = try keys.timeout(.readTimeout, or: http.readTimeout)
                http.idleTimeout = try keys.timeout(.idleTimeout, or: http.idleTimeout)
                grpc.connectionPrefaceTimeout = try keys.timeout(
                    .connectionPrefaceTimeout,
                    or: grpc.connectionPrefaceTimeout
                )
                grpc.readTimeout = try keys.timeout(.readTimeout, or: grpc.readTimeout)
                grpc.maxConnectionIdle = try keys.timeout(.maxConnectionIdle, or: grpc.maxConnectionIdle)
                grpc.keepaliveTime = try keys.timeout(.keepaliveTime, or: grpc.keepaliveTime)
                grpc.keepaliveTimeout = try keys.timeout(.keepaliveTimeout, or: grpc.keepaliveTimeout)
                grpc.minPingInterval = try keys.timeout(.minPingInterval, or: grpc.minPingInterval)
            }

            func withDefaultEndpoint(_ fallback: Listener) -> Listener {
                var listener = self
                if listener.endpoint.isEmpty { listener.endpoint = fallback.endpoint }
                return listener
            }
        }
    }
}
