import Foundation
import MetronomeRemoteWrite

extension MetricsGeneratorSection {
    /// One `remote_write` entry: Prometheus' `remote_write` keys that Metronome supports — `url`, `name`, `headers`,
    /// `remote_timeout`, `send_exemplars`, `basic_auth`, `authorization`, `bearer_token(_file)`.
    public struct RemoteWrite: Decodable, Sendable, Equatable {
        public var url: String
        public var name = ""
        public var headers: [String: String] = [:]
        public var remoteTimeout = ConfigDuration(milliseconds: 30_000)
        /// Accepted for compatibility with Tempo configs (Tempo forces it on); exemplars are always sent.
        public var sendExemplars = true
        /// The `Authorization` header value from `basic_auth`, `authorization` or `bearer_token`, read at load.
        public var authorization: String?
        /// `tls_config`: `ca_file`, `cert_file` + `key_file`, `insecure_skip_verify`.
        public var tls: RemoteWriteEndpoint.TLSSettings?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, name, headers
            case remoteTimeout = "remote_timeout"
            case sendExemplars = "send_exemplars"
            case basicAuth = "basic_auth"
            case authorization
            case bearerToken = "bearer_token"
            case bearerTokenFile = "bearer_token_file"
            case tlsConfig = "tls_config"
        }

        enum TLSKeys: String, CodingKey, CaseIterable {
            case caFile = "ca_file"
            case certFile = "cert_file"
            case keyFile = "key_file"
            case insecureSkipVerify = "insecure_skip_verify"
        }

        enum BasicAuthKeys: String, CodingKey, CaseIterable {
            case username, password
            case passwordFile = "password_file"
        }

        enum AuthorizationKeys: String, CodingKey, CaseIterable {
            case type, credentials
            case credentialsFile = "credentials_file"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            let path = { (key: CodingKeys) in ConfigurationError.path(decoder.codingPath + [key]) }
            url = try keys.decode(String.self, forKey: .url)
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(path: path(.url), message: "'\(url)' is not an http:// or https:// URL")
            }
            name = try keys.value(.name, or: "")
            headers = try keys.value(.headers, or: [:])
            remoteTimeout = try keys.value(.remoteTimeout, or: remoteTimeout)
            sendExemplars = try keys.value(.sendExemplars, or: true)

            if keys.contains(.tlsConfig) {
                tls = try Self.tlsSettings(keys.superDecoder(forKey: .tlsConfig), path: path(.tlsConfig))
            }
            let given = [CodingKeys.basicAuth, .authorization, .bearerToken, .bearerTokenFile].filter(keys.contains)
            guard given.count <= 1 else {
                throw ConfigurationError(
                    path: path(given[1]),
                    message: "only one of basic_auth, authorization, bearer_token and bearer_token_file may be set"
                )
            }
            if keys.contains(.basicAuth) {
                let basic = try keys.superDecoder(forKey: .basicAuth).strictContainer(BasicAuthKeys.self)
                let username = try basic.value(.username, or: "")
                let password = try Self.secret(
                    basic.decodeIfPresent(String.self, forKey: .password),
                    file: basic.decodeIfPresent(String.self, forKey: .passwordFile),
                    path: path(.basicAuth)
                )
                authorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
            } else if keys.contains(.authorization) {
                let settings = try keys.superDecoder(forKey: .authorization).strictContainer(AuthorizationKeys.self)
                let credentials = try Self.secret(
                    settings.decodeIfPresent(String.self, forKey: .credentials),
                    file: settings.decodeIfPresent(String.self, forKey: .credentialsFile),
                    path: path(.authorization)
                )
                authorization = "\(try settings.value(.type, or: "Bearer")) \(credentials)"
            } else if keys.contains(.bearerToken) || keys.contains(.bearerTokenFile) {
                let token = try Self.secret(
                    keys.decodeIfPresent(String.self, forKey: .bearerToken),
                    file: keys.decodeIfPresent(String.self, forKey: .bearerTokenFile),
                    path: path(given[0])
                )
                authorization = "Bearer \(token)"
            }
        }

        /// Reads `tls_config`, checking that the files exist and that a client certificate comes with its key.
        private static func tlsSettings(_ decoder: any Decoder, path: String) throws -> RemoteWriteEndpoint.TLSSettings
        {
            let keys = try decoder.strictContainer(TLSKeys.self)
            return try RemoteWriteEndpoint.TLSSettings(
                caFile: try keys.decodeIfPresent(String.self, forKey: .caFile),
                certFile: try keys.decodeIfPresent(String.self, forKey: .certFile),
                keyFile: try keys.decodeIfPresent(String.self, forKey: .keyFile),
                insecureSkipVerify: try keys.value(.insecureSkipVerify, or: false)
            ).validated(at: path)
        }

        /// A secret given inline or in a file (read once, at load; trailing newlines dropped).
        private static func secret(_ inline: String?, file: String?, path: String) throws -> String {
            switch (inline, file) {
            case (let inline?, nil): return inline
            case (nil, let file?):
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ConfigurationError(path: path, message: "cannot read secret file '\(file)'")
                }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            case (nil, nil): throw ConfigurationError(path: path, message: "needs a secret or a secret file")
            case (.some, .some):
                throw ConfigurationError(path: path, message: "give a secret or a secret file, not both")
            }
        }

        var endpoint: RemoteWriteEndpoint {
            var endpoint = RemoteWriteEndpoint(url: url, name: name, headers: headers)
            if let authorization { endpoint.headers["Authorization"] = authorization }
            endpoint.tls = tls
            endpoint.timeoutMs = remoteTimeout.milliseconds
            return endpoint
        }
    }
}
