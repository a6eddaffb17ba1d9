import Logging
import Metrics
import MetronomeSelfMetrics
import MetronomeWire

/// Counts and logs a request a receiver refused, so every refusal (bad input, a size limit, an unsupported type, a
/// busy server) is visible in `metronome_receiver_requests_rejected_total{receiver,status,reason}` and in the log,
/// which says at most one line per receiver, status and reason every 10 seconds.
enum RejectedRequests {
    /// The message a receiver answers a request that did not decode with.
    static func message(for error: WireError) -> String {
        error.isMalformed ? "malformed ExportTraceServiceRequest: \(error)" : "\(error)"
    }

    /// - Parameters:
    ///   - status: the HTTP status or gRPC code answered.
    ///   - reason: which check refused it: `invalid`, `invalid_tenant`, `too_large`, `unsupported_media_type`,
    ///     `unimplemented`, `unsupported_encoding`, `method_not_allowed`, `read_timeout`, or a ``Refusal/Reason``.
    static func record(receiver: String, status: String, reason: String, message: String, logger: Logger) {
        SelfMetric.requestsRejected.counter(receiver, status, reason).increment()
        guard LogThrottle.perPush.allows("rejected \(receiver) \(status) \(reason)") else { return }
        logger.warning(
            "rejected a request (one line per receiver, status and reason every 10 s)",
            metadata: [
                "receiver": "\(receiver)", "status": "\(status)", "reason": "\(reason)", "message": "\(message)",
            ]
        )
    }

    /// Records a refused gRPC call (its code is the `status` label) and returns the status it is answered with.
    static func grpc(
        _ code: GRPCStatus.Code,
        receiver: String,
        reason: String,
        message: String,
        logger: Logger
    ) -> GRPCStatus {
        record(receiver: receiver, status: "\(code)", reason: reason, message: message, logger: logger)
        return GRPCStatus(code, message)
    }

    /// Records a call refused at a limit and returns its `RESOURCE_EXHAUSTED`, with a `google.rpc.RetryInfo` in
    /// `grpc-status-details-bin` when a retry may succeed (the OpenTelemetry exporters retry `RESOURCE_EXHAUSTED` only
    /// when it carries one).
    static func grpc(_ refusal: Refusal, receiver: String, logger: Logger) -> GRPCStatus {
        var status = grpc(
            .resourceExhausted,
            receiver: receiver,
            reason: refusal.reason.rawValue,
            message: refusal.description,
            logger: logger
        )
        if let seconds = refusal.retryAfterSeconds {
            status.details = OTLPResponses.statusWithRetryInfo(
                code: GRPCStatus.Code.resourceExhausted.rawValue,
                message: refusal.description,
                retryAfterSeconds: seconds
            )
        }
        return status
    }
}
