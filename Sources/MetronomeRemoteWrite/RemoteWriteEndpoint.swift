/// One remote-write destination (an entry of `metrics_generator.storage.remote_write`).
public struct RemoteWriteEndpoint: Sendable, Equatable {
    /// The receiver's URL, e.g. `http://127.0.0.1:9090/api/v1/write`.
    public var url: String
    /// The configured `name`, may be empty.
    public var name = ""
    /// Headers sent with every request.
    public var headers: [String: String] = [:]
    /// Per-request timeout in milliseconds (Prometheus' `remote_timeout`, default 30 s).
    public var timeoutMs: Int64 = 30_000
    /// TLS settings for an `https://` endpoint (`tls_config`); nil uses the system's trust roots.
    public var tls: TLSSettings?

    /// Prometheus' `tls_config`: a CA to trust, a client certificate, or no verification at all.
    public struct TLSSettings: Sendable, Equatable {
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var insecureSkipVerify = false

        public init(
            caFile: String? = nil,
            certFile: String? = nil,
            keyFile: String? = nil,
            insecureSkipVerify: Bool = false
        ) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    public init(url: String, name: String = "", headers: [String: String] = [:]) {
        self.url = url
        self.name = name
        self.headers = headers
    }

    /// What identifies the endpoint across restarts (its WAL positions): the name when set, else the URL.
    public var key: String { name.isEmpty ? url : name }
}

/// Settings shared by every endpoint's sender.
public struct RemoteWriteSettings: Sendable, Equatable {
    /// Whether a tenant's requests carry `X-Scope-OrgID: <tenant>` (spec §1.7; default true).
    public var addOrgIDHeader = true
    /// How long the final send may take at shutdown (`remote_write_flush_deadline`, default 1 m).
    public var flushDeadlineMs: Int64 = 60_000
    /// First retry delay (Prometheus' `min_backoff`, 30 ms).
    public var minBackoffMs: Int64 = 30
    /// Largest retry delay (Prometheus' `max_backoff`, 5 s).
    public var maxBackoffMs: Int64 = 5_000
    /// Samples per request at most (Prometheus' `max_samples_per_send`, 2000).
    public var maxSamplesPerSend = 2_000

    public init() {}
}

/// The headers of one tenant's request to `endpoint` (spec §1.7): the configured ones, overwritten or added to by
/// the tenant's `remote_write_headers` override, then `X-Scope-OrgID` unless the tenant is `single-tenant`, the
/// option is off, or a header already sets it (case-insensitively).
func requestHeaders(
    for endpoint: RemoteWriteEndpoint,
    tenant: String,
    tenantHeaders: [String: String] = [:],
    settings: RemoteWriteSettings
) -> [(String, String)] {
    let merged = endpoint.headers.merging(tenantHeaders) { $1 }
    var headers = merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    let hasOrgID = headers.contains { $0.0.trimmingSpaces.lowercased() == "x-scope-orgid" }
    if settings.addOrgIDHeader && tenant != "single-tenant" && !hasOrgID {
        headers.append(("X-Scope-OrgID", tenant))
    }
    return headers
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
