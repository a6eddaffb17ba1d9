import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Metronome assembled from its configuration: receivers, distributor, collection loop, remote-write senders and
/// the admin server, run as one `ServiceGroup`.
///
/// Services shut down in reverse order of the list: the OTLP receivers stop first, then the collection loop runs its
/// final collection (appended to the WAL and checkpointed), then the remote-write shards send what is left in the WAL
/// (up to `remote_write_flush_deadline`; the rest is sent after the next start), then the admin server stops.
public struct MetronomeApplication: Sendable {
    public let configuration: MetronomeConfiguration
    private let logger: Logger
    private let selfMetrics: PrometheusCollectorRegistry

    public init(configuration: MetronomeConfiguration, selfMetrics: PrometheusCollectorRegistry, logger: Logger) {
        self.configuration = configuration
        self.selfMetrics = selfMetrics
        self.logger = logger
    }

    /// The processors this build implements; other names are accepted and reported.
    static let implementedProcessors = Set(ProcessorRegistry.enablingNames)

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func run() async throws {
        let section = configuration.metricsGenerator
        let protocols = configuration.distributor.receivers.otlp.protocols
        reportProcessors()

        let overrides = try RuntimeOverrides.load(configuration, logger: logger)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let tenants = Tenants(
            overrides: overrides,
            limit: configuration.distributor.maxTenants,
            dataPath: section.storage.path.isEmpty ? nil : section.storage.path,
            logger: logger
        )
        let forwarders = try Forwarders(
            configuration.distributor.forwarders,
            storagePath: section.storage.path,
            flushDeadline: .milliseconds(configuration.distributor.forwarderFlushDeadline.milliseconds),
            logger: logger
        )
        let distributor = Distributor(
            tenants: tenants,
            maxInflightBytes: configuration.distributor.inflightBytesLimit,
            forwarders: forwarders,
            logger: logger
        )
        let limits = SpanBatch.Limits(maxValueDepth: configuration.distributor.maxAttributeValueDepth)

        var settings = RemoteWriteSettings()
        settings.addOrgIDHeader = section.storage.remoteWriteAddOrgIDHeader
        settings.flushDeadlineMs = section.storage.remoteWriteFlushDeadline.milliseconds
        let senders = try section.storage.remoteWrite.map { remoteWrite in
            let endpoint = remoteWrite.endpoint
            let ownClient = try endpoint.makeClient()
            return RemoteWriteSender(
                endpoint: endpoint,
                settings: settings,
                client: ownClient ?? HTTPClient.shared,
                ownsClient: ownClient != nil,
                tenantHeaders: tenants.remoteWriteHeaders(forTenantNamed:),
                logger: logger
            )
        }
        if senders.isEmpty {
            logger.notice("no remote_write endpoint configured; generated series are served on /metrics/generated")
        }
        let output = WALRemoteWriteOutput(
            senders: senders,
            shards: section.storage.remoteWriteShards,
            limits: section.storage.wal.limits,
            directoryForTenant: tenants.walDirectory(forTenantNamed:),
            logger: logger
        )
        output.recover(tenants: tenants.storedTenantNames)
        let collector = CollectionLoop(
            tenants: tenants,
            output: output,
            maxSamplesPerSend: settings.maxSamplesPerSend,
            sendShards: section.storage.remoteWriteShards,
            logger: logger
        )

        let adminRouter = Router()
        AdminRoutes(tenants: tenants, selfMetrics: selfMetrics, configuration: configuration).addRoutes(to: adminRouter)
        let adminAddress = try ListenAddress(
            parsing: "\(configuration.server.httpListenAddress):\(configuration.server.httpListenPort)",
            key: "server.http_listen_address"
        )
        let admin = Application(
            router: adminRouter,
            server: GuardedHTTP1Channel.builder(
                limits: configuration.server.connections,
                listener: "admin",
                logger: logger
            ),
            configuration: .init(
                address: .hostname(adminAddress.host, port: adminAddress.port),
                serverName: "metronome"
            ),
            logger: logger
        )

        var services: [any Service] = [admin]
        services.append(output)
        // After the receivers in the list, so they stop first on shutdown and the senders drain what they queued.
        services += forwarders.senders as [any Service]
        services.append(collector)
        services.append(EdgeExpiryLoop(tenants: tenants, logger: logger))
        services.append(
            OverridesReloadLoop(
                overrides: overrides,
                tenants: tenants,
                periodMs: configuration.overrides.perTenantOverridePeriodMs,
                hangups: hangups,
                logger: logger
            )
        )
        if protocols.grpc.enabled {
            let address = try ListenAddress(
                parsing: protocols.grpc.endpoint,
                key: "distributor.receivers.otlp.protocols.grpc.endpoint"
            )
            services.append(
                grpcReceiver(
                    OTLPGRPCService.export(distributor: distributor, limits: limits, logger: logger),
                    protocols.grpc,
                    address: address,
                    receiver: "otlp_grpc",
                    inflight: distributor.inflight
                )
            )
            logger.info("OTLP/gRPC receiver listening", metadata: ["address": "\(address)"])
        }
        if protocols.http.enabled {
            let address = try ListenAddress(
                parsing: protocols.http.endpoint,
                key: "distributor.receivers.otlp.protocols.http.endpoint"
            )
            let router = Router()
            OTLPHTTPReceiver(
                distributor: distributor,
                maxBytes: protocols.http.maxRequestMiB << 20,
                limits: limits,
                logger: logger
            ).addRoutes(to: router)
            services.append(httpReceiver(router, address: address, limits: protocols.http.http, listener: "otlp_http"))
            logger.info("OTLP/HTTP receiver listening", metadata: ["address": "\(address)"])
        }
        if let zipkin = configuration.distributor.receivers.zipkin, zipkin.enabled {
            let address = try ListenAddress(parsing: zipkin.endpoint, key: "distributor.receivers.zipkin.endpoint")
            services.append(
                translatingHTTPReceiver("zipkin", zipkin, address: address, distributor: distributor, limits: limits) {
                    ZipkinHTTPReceiver(receiver: $0).addRoutes(to: $1)
                }
            )
            logger.info("Zipkin receiver listening", metadata: ["address": "\(address)"])
        }
        services += try jaegerReceivers(distributor: distributor, limits: limits)
        logger.info("admin server listening", metadata: ["address": "\(adminAddress)"])

        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        logger.info("stopped")
    }

    /// The Jaeger protocols that are configured.
    private func jaegerReceivers(distributor: Distributor, limits: SpanBatch.Limits) throws -> [any Service] {
        let jaeger = configuration.distributor.receivers.jaeger
        let key = "distributor.receivers.jaeger.protocols"
        var services: [any Service] = []
        if let grpc = jaeger.grpc, grpc.enabled {
            let address = try ListenAddress(parsing: grpc.endpoint, key: "\(key).grpc.endpoint")
            services.append(
                grpcReceiver(
                    JaegerGRPCService.postSpans(distributor: distributor, limits: limits, logger: logger),
                    grpc,
                    address: address,
                    receiver: "jaeger_grpc",
                    inflight: distributor.inflight
                )
            )
            logger.info("Jaeger gRPC receiver listening", metadata: ["address": "\(address)"])
        }
        if let http = jaeger.thriftHTTP, http.enabled {
            let address = try ListenAddress(parsing: http.endpoint, key: "\(key).thrift_http.endpoint")
            services.append(
                translatingHTTPReceiver(
                    "jaeger_thrift_http",
                    http,
                    address: address,
                    distributor: distributor,
                    limits: limits
                ) { JaegerThriftHTTPReceiver(receiver: $0).addRoutes(to: $1) }
            )
            logger.info("Jaeger Thrift HTTP receiver listening", metadata: ["address": "\(address)"])
        }
        for (udp, thriftProtocol, name) in [
            (jaeger.thriftCompact, JaegerTranslator.ThriftProtocol.compact, "thrift_compact"),
            (jaeger.thriftBinary, .binary, "thrift_binary"),
        ] {
            guard let udp, udp.enabled else { continue }
            let address = try ListenAddress(parsing: udp.endpoint, key: "\(key).\(name).endpoint")
            services.append(
                JaegerAgentUDPReceiver(
                    thriftProtocol: thriftProtocol,
                    address: address,
                    listener: udp,
                    distributor: distributor,
                    limits: limits,
                    logger: logger
                )
            )
            logger.info(
                "Jaeger agent UDP receiver listening",
                metadata: ["address": "\(address)", "protocol": "\(name)"]
            )
        }
        return services
    }

    /// The HTTP receiver of another trace format, counted as `name`, whose routes `addRoutes` adds.
    private func translatingHTTPReceiver(
        _ name: String,
        _ listener: MetronomeConfiguration.Distributor.Listener,
        address: ListenAddress,
        distributor: Distributor,
        limits: SpanBatch.Limits,
        addRoutes: (TranslatingHTTPReceiver, Router<BasicRequestContext>) -> Void
    ) -> some Service {
        let router = Router()
        let receiver = TranslatingHTTPReceiver(
            receiver: name,
            distributor: distributor,
            maxBytes: listener.maxRequestMiB << 20,
            limits: limits,
            logger: logger
        )
        addRoutes(receiver, router)
        return httpReceiver(router, address: address, limits: listener.http, listener: name)
    }

    /// An HTTP/1 receiver serving `router` on `address`, with the listener's connection limits.
    private func httpReceiver(
        _ router: Router<BasicRequestContext>,
        address: ListenAddress,
        limits: HTTPConnectionLimits,
        listener: String
    ) -> some Service {
        Application(
            router: router,
            server: GuardedHTTP1Channel.builder(limits: limits, listener: listener, logger: logger),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "metronome"),
            logger: logger
        )
    }

    /// A gRPC receiver of one unary method with the listener's limits, reserving request messages in `inflight`.
    private func grpcReceiver(
        _ method: UnaryGRPCMethod,
        _ listener: MetronomeConfiguration.Distributor.Listener,
        address: ListenAddress,
        receiver: String,
        inflight: InflightBudget
    ) -> UnaryGRPCServer {
        UnaryGRPCServer(
            address: address,
            routes: UnaryGRPCRoutes(
                receiver: receiver,
                methods: [method],
                maxMessageBytes: listener.maxRequestMiB << 20,
                inflight: inflight,
                logger: logger
            ),
            limits: listener.grpc,
            logger: logger
        )
    }

    private func reportProcessors() {
        for name in configuration.overrides.defaults.generator.processors
        where !Self.implementedProcessors.contains(name) {
            logger.warning("unknown processor name; ignoring it", metadata: ["processor": "\(name)"])
        }
    }
}
