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
        overrides = try keys.value(.overrides, or: OverridesSection())
    }

    /// `server`: the admin HTTP listener (`/ready`, `/metrics`, `/metrics/generated`).
    public struct Server: Decodable, Sendable, Equatable {
        public var httpListenAddress = "0.0.0.0"
        public var httpListenPort = 3200
        /// `trace`, `debug`, `info`, `warn`/`warning`, `error`.
        public var logLevel = "info"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case httpListenAddress = "http_listen_address"
            case httpListenPort = "http_listen_port"
            case logLevel = "log_level"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            httpListenAddress = try keys.value(.httpListenAddress, or: httpListenAddress)
            httpListenPort = try keys.value(.httpListenPort, or: httpListenPort)
            logLevel = try keys.value(.logLevel, or: logLevel)
        }
    }

    /// `distributor.receivers.otlp.protocols`: where spans come in.
    public struct Distributor: Decodable, Sendable, Equatable {
        public var receivers = Receivers()

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable { case receivers }

        public init(from decoder: any Decoder) throws {
            receivers = try decoder.strictContainer(CodingKeys.self).value(.receivers, or: Receivers())
        }

        public struct Receivers: Decodable, Sendable, Equatable {
            public var otlp = OTLP()

            public init() {}

            enum CodingKeys: String, CodingKey, CaseIterable { case otlp }

            public init(from decoder: any Decoder) throws {
                otlp = try decoder.strictContainer(CodingKeys.self).value(.otlp, or: OTLP())
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

        /// One receiver's listener.
        public struct Listener: Decodable, Sendable, Equatable {
            /// `host:port`.
            public var endpoint: String
            public var enabled = true
            /// Largest accepted request, MiB (decompressed for HTTP). Default 16.
            public var maxRequestMiB = 16

            public init(endpoint: String) { self.endpoint = endpoint }

            enum CodingKeys: String, CodingKey, CaseIterable {
                case endpoint, enabled
                case maxRequestMiB = "max_recv_msg_size_mib"
            }

            public init(from decoder: any Decoder) throws {
                let keys = try decoder.strictContainer(CodingKeys.self)
                endpoint = try keys.value(.endpoint, or: "")
                enabled = try keys.value(.enabled, or: true)
                maxRequestMiB = try keys.value(.maxRequestMiB, or: 16)
            }

            func withDefaultEndpoint(_ fallback: Listener) -> Listener {
                var listener = self
                if listener.endpoint.isEmpty { listener.endpoint = fallback.endpoint }
                return listener
            }
        }
    }
}
