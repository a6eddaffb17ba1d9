import Logging

/// What every stream of a ``UnaryGRPCServer`` shares: the methods by path, the message size limit, the in-flight budget
/// a message is reserved in as it arrives, and how a refusal of the server's own (a size limit, the budget, an unknown
/// method, bad framing or compression, a message that stopped arriving) is counted and logged.
struct UnaryGRPCRoutes: Sendable {
    /// The encodings a request message may be compressed with (`grpc-encoding`), as `grpc-accept-encoding` lists them.
    static let acceptedEncodings = "identity,deflate,gzip"

    /// The `receiver` label of the self-metrics.
    let receiver: String
    let methods: [String: UnaryGRPCMethod]
    /// Largest request message, before and after decompression.
    let maxMessageBytes: Int
    /// The distributor's budget: a message's declared length is reserved before its bytes are read.
    let inflight: InflightBudget
    let logger: Logger

    init(
        receiver: String,
        methods: [UnaryGRPCMethod],
        maxMessageBytes: Int,
        inflight: InflightBudget,
        logger: Logger
    ) {
        self.receiver = receiver
        self.methods = Dictionary(methods.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.maxMessageBytes = maxMessageBytes
        self.inflight = inflight
        self.logger = logger
    }

    /// Counts and logs a refusal under `reason` and returns its status.
    func refuse(_ code: GRPCStatus.Code, reason: String, _ message: String) -> GRPCStatus {
        RejectedRequests.grpc(code, receiver: receiver, reason: reason, message: message, logger: logger)
    }

    /// Counts and logs a refusal at the in-flight budget and returns its `RESOURCE_EXHAUSTED` with a retry hint.
    func refuseInflight(_ bytes: Int) -> GRPCStatus {
        RejectedRequests.grpc(Refusal.inflightBytes(bytes, budget: inflight), receiver: receiver, logger: logger)
    }
}
