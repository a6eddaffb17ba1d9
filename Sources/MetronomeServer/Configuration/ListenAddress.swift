/// A `host:port` listen address from the configuration (`0.0.0.0:4317`, `127.0.0.1:4318`, `[::1]:4317`, `:4317`).
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `endpoint`; an empty host means all interfaces.
    public init(parsing endpoint: String, key: String) throws(ConfigurationError) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError(path: key, message: "'\(endpoint)' is not host:port")
        }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
