import Logging

/// What every stream of a ``UnaryGRPCServer`` shares: the methods by path, the message size limit, and how a refusal
/// of the server's own (a size limit, an unknown method, bad framing or compression) is counted and logged.
struct UnaryGRPCRoutes: Sendable {
    /// The encodings a request message may be compressed with (`grpc-encoding`), as `grpc-accept-encoding` lists them.
    static let acceptedEncodings = "identity,deflate,gzip"

    /// The `receiver` label of the self-metrics.
    let receiver: String
    let methods: [String: UnaryGRPCMethod]
    /// Largest request message, before and after decompression.
    let maxMessageBytes: Int
    let logger: Logger

    init(receiver: String, methods: [UnaryGRPCMethod], maxMessageBytes: Int, logger: Logger) {
        self.receiver = receiver
        self.methods = Dictionary(methods.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.maxMessageBytes = maxMessageBytes
        self.logger = logger
    }

    /// Counts and logs a refusal under `reason` and returns its status.
    func refuse(_ code: GRPCStatus.Code, reason: String, _ message: String) -> GRPCStatus {
        RejectedRequests.grpc(code, receiver: receiver, reason: reason, message: message, logger: logger)
    }
}
