import NIOHPACK

/// One unary gRPC method a ``UnaryGRPCServer`` answers: its path and what it does with a request message.
struct UnaryGRPCMethod: Sendable {
    /// What the method answers a request with: a response message or a status, now (on the connection's event
    /// loop, the common case) or after asynchronous work (such as waiting for a forwarder's queue).
    enum Reply: Sendable {
        case now(Result<[UInt8], GRPCStatus>)
        case later(@Sendable () async -> Result<[UInt8], GRPCStatus>)
    }

    /// `/package.Service/Method`.
    let path: String
    /// Handles one request: its decompressed message, its headers (the call's metadata), and the in-flight budget's
    /// reservation that holds the message's bytes (the call releases what is left in it once the call is answered).
    let handle: Handler

    /// What ``handle`` is.
    typealias Handler =
        @Sendable (_ message: [UInt8], _ headers: HPACKHeaders, _ reservation: inout InflightReservation)
        -> Reply

    init(service: String, method: String, handle: @escaping Handler) {
        path = "/\(service)/\(method)"
        self.handle = handle
    }
}
