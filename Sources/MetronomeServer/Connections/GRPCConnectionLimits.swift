/// What the OTLP/gRPC listener allows a client's connection: how many may be open, how long the HTTP/2 preface may
/// take, how long a call's request may go quiet, how long a connection may stay without calls, and the keep-alive
/// rules (gRFC A8/A9).
struct GRPCConnectionLimits: Sendable, Equatable {
    /// Connections open at once; more are closed as they are accepted.
    var maxConnections = 1024
    /// From the connection's start until the client's 24-byte HTTP/2 connection preface has arrived.
    var connectionPrefaceTimeout: Duration = .seconds(10)
    /// The longest silence while a call's request is arriving (from its headers until its message is whole): then the
    /// call is answered `DEADLINE_EXCEEDED` and its stream reset, giving back what its message held of the in-flight
    /// budget. The connection and its other calls go on.
    var readTimeout: Duration = .seconds(30)
    /// A connection without calls for this long is closed (GOAWAY).
    var maxConnectionIdle: Duration = .seconds(300)
    /// The server pings a connection after this long without reads...
    var keepaliveTime: Duration = .seconds(7200)
    /// ...and closes it when the ping is not answered within this.
    var keepaliveTimeout: Duration = .seconds(20)
    /// Clients pinging more often than this are told to go away (GOAWAY `ENHANCE_YOUR_CALM`).
    var minPingInterval: Duration = .seconds(300)
}
