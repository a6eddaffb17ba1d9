import Foundation
import MetronomeRemoteWrite

extension RemoteWriteEndpoint.TLSSettings {
    /// Checks the settings of a TLS block at `path` (remote write's `tls_config`, a forwarder's `tls`): a client
    /// certificate comes with its key, every file named is readable, and the certificates and key parse.
    func validated(at path: String) throws -> Self {
        guard (certFile == nil) == (keyFile == nil) else {
            throw ConfigurationError(path: path, message: "cert_file and key_file go together")
        }
        for file in [caFile, certFile, keyFile].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: file) {
            throw ConfigurationError(path: path, message: "cannot read '\(file)'")
        }
        do {
            _ = try configuration()
        } catch {
            throw ConfigurationError(path: path, message: "invalid certificate or key: \(error)")
        }
        return self
    }
}
