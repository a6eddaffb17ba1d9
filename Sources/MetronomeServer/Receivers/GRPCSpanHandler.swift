import GRPCCore
import Logging
import MetronomeGenerator
import MetronomeWire

/// What the gRPC span services share: the tenant from `x-scope-orgid`, the request held in the in-flight budget until
/// it is answered (with what a translation from another format holds, reserved as it grows), admission, decoding and
/// the push; refusals answered with their gRPC code, counted under the receiver's name.
struct GRPCSpanHandler: Sendable {
    /// Translates a request of another format into OTLP, calling `reserve` before it holds more memory.
    typealias Translator =
        @Sendable (UnsafeRawBufferPointer, (Int) -> Bool) throws(TranslationError) -> (
            bytes: [UInt8], spans: Int
        )

    /// The `receiver` label of the self-metrics.
    let receiver: String
    let distributor: Distributor
    /// The wire format limits (attribute value nesting).
    let limits: SpanBatch.Limits
    let logger: Logger
    private let traffic: ReceiverTraffic

    init(receiver: String, distributor: Distributor, limits: SpanBatch.Limits, logger: Logger) {
        self.receiver = receiver
        self.distributor = distributor
        self.limits = limits
        self.logger = logger
        traffic = ReceiverTraffic(receiver: receiver)
    }

    /// Registers the unary `method` with pass-through (de)serializers: each request is handled (``handle(_:translate:)``)
    /// and answered with the bytes `respond` makes of the outcome.
    func register<Transport: ServerTransport>(
        _ method: MethodDescriptor,
        with router: inout RPCRouter<Transport>,
        respond: @escaping @Sendable (Distributor.Outcome) -> [UInt8],
        translate: Translator?
    ) {
        router.registerHandler(
            forMethod: method,
            deserializer: RawBytesDeserializer(),
            serializer: RawBytesSerializer()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            let outcome = try await handle(single, translate: translate)
            return StreamingServerResponse(single: ServerResponse(message: respond(outcome)))
        }
    }

    /// Decodes (after `translate`, when the request is not OTLP) and pushes one request.
    func handle(_ request: ServerRequest<[UInt8]>, translate: Translator?) async throws(RPCError) -> Distributor.Outcome
    {
        let tenantHeader = request.metadata[stringValues: "x-scope-orgid"].first(where: { _ in true })
        let tenant: TenantID
        do {
            tenant = try Distributor.tenant(fromHeader: tenantHeader)
        } catch {
            throw reject(.invalidArgument, reason: "invalid_tenant", error.description)
        }
        var reservation = InflightReservation(distributor.inflight)
        guard reservation.grow(by: request.message.count) else {
            throw refuse(Refusal.inflightBytes(request.message.count, budget: distributor.inflight))
        }
        var protobuf = request.message
        if let translate {
            do {
                protobuf = try request.message.withUnsafeBytes { message throws(TranslationError) in
                    try translate(message) { reservation.grow(by: $0) }.bytes
                }
            } catch let error as TranslationError {
                if let refused = error.refusedBytes {
                    throw refuse(Refusal.inflightBytes(refused, budget: distributor.inflight))
                }
                throw reject(.invalidArgument, reason: "invalid", error.description)
            } catch {
                throw reject(.internalError, reason: "internal", "\(error)")
            }
            reservation.shrink(to: request.message.count + protobuf.count)
        }
        do {
            try distributor.admit(protobuf.count, tenant: tenant)
            let batch = try SpanBatch(protobuf: protobuf, limits: limits)
            traffic.record(bytes: request.message.count, spans: batch.spanCount)
            try await distributor.forward(batch, tenant: tenant)
            return try distributor.push(batch, tenant: tenant)
        } catch let refusal as Refusal {
            throw refuse(refusal)
        } catch let error as WireError {
            throw reject(.invalidArgument, reason: "invalid", RejectedRequests.message(for: error))
        } catch {
            throw reject(.internalError, reason: "internal", "\(error)")
        }
    }

    /// `RESOURCE_EXHAUSTED`, with a `google.rpc.RetryInfo` in `grpc-status-details-bin` when a retry may succeed
    /// (the OpenTelemetry exporters retry `RESOURCE_EXHAUSTED` only when it carries one).
    private func refuse(_ refusal: Refusal) -> RPCError {
        var error = reject(.resourceExhausted, reason: refusal.reason.rawValue, refusal.description)
        if let seconds = refusal.retryAfterSeconds {
            error.metadata.addBinary(
                OTLPResponses.statusWithRetryInfo(code: 8, message: refusal.description, retryAfterSeconds: seconds),
                forKey: "grpc-status-details-bin"
            )
        }
        return error
    }

    private func reject(_ code: RPCError.Code, reason: String, _ message: String) -> RPCError {
        RejectedRequests.record(
            receiver: receiver,
            status: "\(code)",
            reason: reason,
            message: message,
            logger: logger
        )
        return RPCError(code: code, message: message)
    }
}
