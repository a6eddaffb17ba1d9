import Logging
import Metrics
import MetronomeWire

/// Counts and logs a request a receiver refused, so every refusal (bad input, a size limit, an unsupported type) is
/// visible in `metronome_receiver_requests_rejected_total{receiver,status}` and in the log.
enum RejectedRequests {
    /// The message a receiver answers a request that did not decode with.
    static func message(for error: WireError) -> String {
        error.isMalformed ? "malformed ExportTraceServiceRequest: \(error)" : "\(error)"
    }

    static func record(receiver: String, status: String, message: String, logger: Logger) {
        Counter(
            label: "metronome_receiver_requests_rejected_total",
            dimensions: [("receiver", receiver), ("status", status)]
        ).increment()
        logger.warning(
            "rejected a request",
            metadata: ["receiver": "\(receiver)", "status": "\(status)", "reason": "\(message)"]
        )
    }
}
