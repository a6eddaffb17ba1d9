import AsyncHTTPClient
import NIOSSL

extension RemoteWriteEndpoint.TLSSettings {
    /// The NIOSSL client configuration these settings describe.
    /// - Throws: NIOSSL's error when a certificate or key file cannot be read or parsed.
    public func configuration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        if let certFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
        }
        if let keyFile { tls.privateKey = .file(keyFile) }
        if insecureSkipVerify { tls.certificateVerification = .none }
        return tls
    }
}

extension RemoteWriteEndpoint {
    /// A dedicated HTTP client for an endpoint with TLS settings, or nil when the shared client serves it.
    /// The caller owns a returned client and shuts it down.
    public func makeClient() throws -> HTTPClient? {
        guard let tls else { return nil }
        return HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(tlsConfiguration: try tls.configuration())
        )
    }
}
