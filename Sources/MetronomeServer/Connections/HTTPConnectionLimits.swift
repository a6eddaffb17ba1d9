/// What one HTTP listener allows a client's connection (the OTLP/HTTP receiver's and the admin server's): how many
/// may be open, and how long a client may take at each step before its connection is closed.
struct HTTPConnectionLimits: Sendable, Equatable {
    /// Connections open at once; more are closed as they are accepted.
    var maxConnections = 1024
    /// From the connection's start, or the first byte of a later request, until the request head is complete.
    var readHeaderTimeout: Duration = .seconds(10)
    /// The longest silence while a request body is being read.
    var readTimeout: Duration = .seconds(30)
    /// How long a connection may wait, between requests, for the next one.
    var idleTimeout: Duration = .seconds(60)
}
