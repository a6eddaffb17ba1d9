import Logging
import MetronomeGenerator
import MetronomeWire
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Jaeger agent UDP port: each datagram is one Thrift `emitBatch` message (compact protocol on `:6831`, binary on
/// `:6832`), translated into an OTLP request (``JaegerTranslator``) and pushed for the port's tenant.
///
/// UDP has no answer: a datagram that is not an `emitBatch`, longer than `max_packet_size`, or refused by a limit is
/// dropped, counted in `metronome_receiver_requests_rejected_total{receiver,status="dropped",reason}` and logged (at
/// most one line per reason every 10 s). A datagram is processed on the event loop that read it, and held in the
/// in-flight budget (with what its translation holds) while it is.
struct JaegerAgentUDPReceiver: Service {
    let thriftProtocol: JaegerTranslator.ThriftProtocol
    let address: ListenAddress
    let listener: MetronomeConfiguration.Distributor.UDPListener
    let distributor: Distributor
    let limits: SpanBatch.Limits
    let logger: Logger

    /// The `receiver` label of the self-metrics: `jaeger_thrift_compact` or `jaeger_thrift_binary`.
    var receiver: String { thriftProtocol == .compact ? "jaeger_thrift_compact" : "jaeger_thrift_binary" }

    func run() async throws {
        let datagrams = DatagramProcessor(
            receiver: receiver,
            thriftProtocol: thriftProtocol,
            maxPacketSize: listener.maxPacketSize,
            tenant: try TenantID(validating: listener.tenant),
            distributor: distributor,
            limits: limits,
            logger: logger
        )
        // One byte more than the limit, so a longer datagram shows as one (the socket truncates it).
        var bootstrap = DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(
                .recvAllocator,
                value: FixedSizeRecvByteBufferAllocator(capacity: listener.maxPacketSize + 1)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(processor: datagrams))
                }
            }
        if let size = listener.socketBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(clamping: size))
        }
        let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        try? await gracefulShutdown()
        try await channel.close()
    }
}

/// Translates and pushes one datagram's spans, or counts why it was dropped.
private struct DatagramProcessor: Sendable {
    let receiver: String
    let thriftProtocol: JaegerTranslator.ThriftProtocol
    let maxPacketSize: Int
    let tenant: TenantID
    let distributor: Distributor
    let limits: SpanBatch.Limits
    let logger: Logger
    let traffic: ReceiverTraffic

    init(
        receiver: String,
        thriftProtocol: JaegerTranslator.ThriftProtocol,
        maxPacketSize: Int,
        tenant: TenantID,
        distributor: Distributor,
        limits: SpanBatch.Limits,
        logger: Logger
    ) {
        self.receiver = receiver
        self.thriftProtocol = thriftProtocol
        self.maxPacketSize = maxPacketSize
        self.tenant = tenant
        self.distributor = distributor
        self.limits = limits
        self.logger = logger
        traffic = ReceiverTraffic(receiver: receiver)
    }

    func process(_ datagram: ByteBuffer) {
        guard datagram.readableBytes <= maxPacketSize else {
            return drop("too_large", "a datagram longer than max_packet_size (\(maxPacketSize) bytes)")
        }
        var reservation = InflightReservation(distributor.inflight)
        guard reservation.grow(by: datagram.readableBytes) else {
            return drop(
                "inflight_bytes",
                Refusal.inflightBytes(datagram.readableBytes, budget: distributor.inflight).description
            )
        }
        let protobuf: [UInt8]
        do {
            protobuf = try datagram.withUnsafeReadableBytes { bytes throws(TranslationError) in
                try JaegerTranslator.protobuf(fromAgentDatagram: bytes, protocol: thriftProtocol) {
                    reservation.grow(by: $0)
                }.bytes
            }
        } catch {
            return drop(error.refusedBytes == nil ? "invalid" : "inflight_bytes", error.description)
        }
        let batch: SpanBatch
        do {
            try distributor.admit(protobuf.count, tenant: tenant)
            batch = try SpanBatch(protobuf: protobuf, limits: limits)
            traffic.record(bytes: datagram.readableBytes, spans: batch.spanCount)
            _ = try distributor.push(batch, tenant: tenant)
        } catch let refusal as Refusal {
            return drop(refusal.reason.rawValue, refusal.description)
        } catch {
            return drop("invalid", "\(error)")
        }
        // UDP has no answer to hold back until the spans are queued for the forwarders; the bytes a queueing task
        // holds stay in the in-flight budget until it is done, so a flood against a slow disk is refused, not held.
        guard !distributor.forwarders.isEmpty else { return }
        let held = batch.bytes.count
        guard distributor.inflight.reserve(held) else {
            return drop("inflight_bytes", Refusal.inflightBytes(held, budget: distributor.inflight).description)
        }
        Task {
            defer { distributor.inflight.release(held) }
            do throws(Refusal) {
                try await distributor.forward(batch, tenant: tenant)
            } catch {
                drop(error.reason.rawValue, error.description)
            }
        }
    }

    private func drop(_ reason: String, _ message: String) {
        RejectedRequests.record(receiver: receiver, status: "dropped", reason: reason, message: message, logger: logger)
    }
}

/// Hands each datagram read to the processor.
private final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let processor: DatagramProcessor

    init(processor: DatagramProcessor) {
        self.processor = processor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        processor.process(unwrapInboundIn(data).data)
    }
}
