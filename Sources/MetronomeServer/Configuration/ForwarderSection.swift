import Foundation
import MetronomeGenerator
import MetronomeRemoteWrite

/// `distributor.forwarders[]`: a trace store every accepted request of the tenants that name it is also sent to, over
/// OTLP, from a durable on-disk queue. Tempo's keys are read as Tempo writes them (`name`, `backend`, `otlpgrpc` with
/// `endpoints` and `tls`, `filter`, which is accepted and reported as not applied); the rest are Metronome's.
public struct ForwarderSection: Decodable, Sendable, Equatable {
    public enum Backend: String, Decodable, Sendable { case otlpgrpc, otlphttp }

    /// What a full queue does with a new request.
    public enum FullPolicy: String, Decodable, Sendable {
        /// The oldest records go (counted); the receiver still answers success.
        case dropOldest = "drop_oldest"
        /// The client is answered 503 / RESOURCE_EXHAUSTED with a retry hint, so OTLP clients retry.
        case reject
    }

    public var name: String
    public var backend: Backend
    /// `host:port` for `otlpgrpc`, URLs (`http(s)://host:port/v1/traces`) for `otlphttp`; requests are spread across
    /// them.
    public var endpoints: [String]
    /// Plaintext (`tls.insecure: true`, or an `http://` URL), else TLS with these settings.
    public var insecure = false
    public var tls = RemoteWriteEndpoint.TLSSettings()
    /// Extra headers (gRPC metadata); `X-Scope-OrgID` is the request's tenant.
    public var headers: [String: String] = [:]
    public var timeoutMs: Int64 = 10_000
    /// `queue.max_bytes` (default 1 GiB) and `queue.max_age` (default 2 h): past them the oldest records go.
    public var maxQueueBytes = 1 << 30
    public var maxQueueAgeMs: Int64 = 2 * 3_600_000
    public var fullPolicy = FullPolicy.dropOldest
    /// `queue.fsync`: whether each request is `fdatasync`ed before the receiver answers (it survives a power cut).
    /// By default it is written to the queue file before the answer (it survives a crash or SIGKILL of Metronome) and
    /// synced every second.
    public var fsyncEachRequest = false
    /// Whether a Tempo `filter` block was given (accepted, not applied).
    public var hasFilter = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, backend, otlpgrpc, otlphttp, headers, timeout, queue, filter
    }

    enum EndpointKeys: String, CodingKey, CaseIterable { case endpoints, tls }
    enum TLSKeys: String, CodingKey, CaseIterable {
        case insecure
        case caFile = "ca_file"
        case certFile = "cert_file"
        case keyFile = "key_file"
        case insecureSkipVerify = "insecure_skip_verify"
    }
    enum QueueKeys: String, CodingKey, CaseIterable {
        case maxBytes = "max_bytes"
        case maxAge = "max_age"
        case fullPolicy = "full_policy"
        case fsync
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        let path = ConfigurationError.path(decoder.codingPath)
        name = try keys.value(.name, or: "")
        do {
            _ = try TenantID(validating: name)
        } catch {
            throw ConfigurationError(path: path + ".name", message: "a forwarder needs a name: \(error.message)")
        }
        guard let backend = try keys.decodeIfPresent(Backend.self, forKey: .backend) else {
            throw ConfigurationError(
                path: path + ".backend",
                message: "a forwarder needs a backend: otlpgrpc or otlphttp"
            )
        }
        self.backend = backend
        let endpointKey: CodingKeys = backend == .otlpgrpc ? .otlpgrpc : .otlphttp
        guard keys.contains(endpointKey) else {
            throw ConfigurationError(
                path: path,
                message: "backend \(backend.rawValue) needs a \(endpointKey.stringValue) block with endpoints"
            )
        }
        let endpointBlock = try keys.superDecoder(forKey: endpointKey).strictContainer(EndpointKeys.self)
        endpoints = try endpointBlock.value(.endpoints, or: [])
        guard !endpoints.isEmpty else {
            throw ConfigurationError(
                path: path + ".\(endpointKey.stringValue).endpoints",
                message: "give at least one endpoint"
            )
        }
        if backend == .otlphttp {
            for endpoint in endpoints
            where URL(string: endpoint).flatMap(\.scheme).map({ ["http", "https"].contains($0) }) != true {
                throw ConfigurationError(
                    path: path + ".otlphttp.endpoints",
                    message: "'\(endpoint)' is not an http(s) URL"
                )
            }
        } else {
            for endpoint in endpoints {
                _ = try ListenAddress(parsing: endpoint, key: path + ".otlpgrpc.endpoints")
            }
        }
        if endpointBlock.contains(.tls) {
            let tlsKeys = try endpointBlock.superDecoder(forKey: .tls).strictContainer(TLSKeys.self)
            insecure = try tlsKeys.value(.insecure, or: false)
            tls = try RemoteWriteEndpoint.TLSSettings(
                caFile: try tlsKeys.decodeIfPresent(String.self, forKey: .caFile),
                certFile: try tlsKeys.decodeIfPresent(String.self, forKey: .certFile),
                keyFile: try tlsKeys.decodeIfPresent(String.self, forKey: .keyFile),
                insecureSkipVerify: try tlsKeys.value(.insecureSkipVerify, or: false)
            ).validated(at: path + ".\(endpointKey.stringValue).tls")
        }
        headers = try keys.value(.headers, or: [:])
        timeoutMs = try keys.decodeIfPresent(ConfigDuration.self, forKey: .timeout)?.milliseconds ?? timeoutMs
        if keys.contains(.queue) {
            let queue = try keys.superDecoder(forKey: .queue).strictContainer(QueueKeys.self)
            maxQueueBytes = try queue.decodeIfPresent(ConfigByteSize.self, forKey: .maxBytes)?.bytes ?? maxQueueBytes
            maxQueueAgeMs =
                try queue.decodeIfPresent(ConfigDuration.self, forKey: .maxAge)?.milliseconds ?? maxQueueAgeMs
            fullPolicy = try queue.value(.fullPolicy, or: fullPolicy)
            fsyncEachRequest = try queue.value(.fsync, or: false)
        }
        hasFilter = keys.contains(.filter)
        guard timeoutMs > 0, maxQueueBytes > 0, maxQueueAgeMs > 0 else {
            throw ConfigurationError(path: path, message: "timeout, queue.max_bytes and queue.max_age must be positive")
        }
    }

    /// Whether requests go in plaintext: `tls.insecure`, or `http://` URLs.
    var isPlaintext: Bool {
        backend == .otlpgrpc ? insecure : endpoints.allSatisfy { $0.lowercased().hasPrefix("http://") }
    }
}
