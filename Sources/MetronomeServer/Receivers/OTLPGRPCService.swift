import GRPCCore
import Logging
import MetronomeGenerator
import MetronomeWire

/// OTLP/gRPC `opentelemetry.proto.collector.trace.v1.TraceService/Export`, registered by hand with pass-through
/// (de)serializers so the request bytes go straight into a ``SpanBatch`` instead of SwiftProtobuf messages.
struct OTLPGRPCService: RegistrableRPCService {
    static let export = MethodDescriptor(
        fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService",
        method: "Export"
    )

    let distributor: Distributor
    /// The wire format limits (attribute value nesting).
    let limits: SpanBatch.Limits
    let logger: Logger
    private let traffic = ReceiverTraffic(receiver: "otlp_grpc")

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.export,
            deserializer: RawBytesDeserializer(),
            serializer: RawBytesSerializer()
        ) { request, context in
            let single = try await ServerRequest(stream: request)
            let response = try handle(single)
            return StreamingServerResponse(single: ServerResponse(message: response))
        }
    }

    /// Decodes and pushes one request; its bytes are held in the in-flight budget until it is answered.
    private func handle(_ request: ServerRequest<[UInt8]>) throws(RPCError) -> [UInt8] {
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
        do {
            try distributor.admit(request.message.count, tenant: tenant)
            let batch = try SpanBatch(protobuf: request.message, limits: limits)
            traffic.record(bytes: request.message.count, spans: batch.spanCount)
            return OTLPResponses.exportProtobuf(try distributor.push(batch, tenant: tenant))
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
            receiver: "otlp_grpc",
            status: "\(code)",
            reason: reason,
            message: message,
            logger: logger
        )
        return RPCError(code: code, message: message)
    }
}

/// Hands the message bytes over as they are (one copy out of the transport's buffer).
public struct RawBytesDeserializer: MessageDeserializer {
    public init() {}

    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Sends already-encoded message bytes.
public struct RawBytesSerializer: MessageSerializer {
    public init() {}

    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}
