import Logging
import MetronomeGenerator
import MetronomeWire
import NIOHPACK

/// What the gRPC span methods share: the tenant from `x-scope-orgid`, the request held in the in-flight budget until
/// it is answered (the call reserved its bytes as they arrived; a translation from another format reserves what it
/// holds as it grows), admission, decoding and the push; refusals answered with their gRPC code, counted under the
/// receiver's name.
///
/// A request is handled where it was read, on its connection's event loop, and answered at once; only a request that
/// is forwarded (its tenant has forwarders) is answered after the forwarders' queues have taken it.
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

    /// The unary method `service/method`: each request is handled (``handle(_:tenantHeader:translate:respond:)``)
    /// and answered with the bytes `respond` makes of the outcome.
    func method(
        service: String,
        method: String,
        respond: @escaping @Sendable (Distributor.Outcome) -> [UInt8],
        translate: Translator?
    ) -> UnaryGRPCMethod {
        UnaryGRPCMethod(service: service, method: method) { message, headers, reservation in
            handle(
                message,
                tenantHeader: headers.first(name: "x-scope-orgid"),
                reservation: &reservation,
                translate: translate,
                respond: respond
            )
        }
    }

    /// Decodes (after `translate`, when the request is not OTLP) and pushes one request.
    /// - Parameter reservation: holds the message's bytes; what the translation adds is reserved in it, and an answer
    ///   that comes later takes it along.
    func handle(
        _ message: [UInt8],
        tenantHeader: String?,
        reservation: inout InflightReservation,
        translate: Translator?,
        respond: @escaping @Sendable (Distributor.Outcome) -> [UInt8]
    ) -> UnaryGRPCMethod.Reply {
        let tenant: TenantID
        do {
            tenant = try Distributor.tenant(fromHeader: tenantHeader)
        } catch {
            return .now(.failure(reject(.invalidArgument, reason: "invalid_tenant", error.description)))
        }
        var protobuf = message
        if let translate {
            do {
                protobuf = try message.withUnsafeBytes { message throws(TranslationError) in
                    try translate(message) { reservation.grow(by: $0) }.bytes
                }
            } catch let error as TranslationError {
                if let refused = error.refusedBytes {
                    return .now(.failure(refuse(Refusal.inflightBytes(refused, budget: distributor.inflight))))
                }
                return .now(.failure(reject(.invalidArgument, reason: "invalid", error.description)))
            } catch {
                return .now(.failure(reject(.internalError, reason: "internal", "\(error)")))
            }
            reservation.shrink(to: message.count + protobuf.count)
        }
        let batch: SpanBatch
        do {
            try distributor.admit(protobuf.count, tenant: tenant)
            batch = try SpanBatch(protobuf: protobuf, limits: limits)
        } catch {
            return .now(.failure(status(for: error)))
        }
        traffic.record(bytes: message.count, spans: batch.spanCount)
        guard distributor.forwards(tenant) else {
            do {
                return .now(.success(respond(try distributor.push(batch, tenant: tenant))))
            } catch {
                return .now(.failure(refuse(error)))
            }
        }
        let hold = reservation.hold()
        return .later {
            defer { withExtendedLifetime(hold) {} }
            do throws(Refusal) {
                try await distributor.forward(batch, tenant: tenant)
                return .success(respond(try distributor.push(batch, tenant: tenant)))
            } catch {
                return .failure(refuse(error))
            }
        }
    }

    private func status(for error: any Error) -> GRPCStatus {
        switch error {
        case let refusal as Refusal: refuse(refusal)
        case let error as WireError: reject(.invalidArgument, reason: "invalid", RejectedRequests.message(for: error))
        default: reject(.internalError, reason: "internal", "\(error)")
        }
    }

    private func refuse(_ refusal: Refusal) -> GRPCStatus {
        RejectedRequests.grpc(refusal, receiver: receiver, logger: logger)
    }

    private func reject(_ code: GRPCStatus.Code, reason: String, _ message: String) -> GRPCStatus {
        RejectedRequests.grpc(code, receiver: receiver, reason: reason, message: message, logger: logger)
    }
}
