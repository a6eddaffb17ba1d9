import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import MetronomeGenerator
import MetronomeRemoteWrite
import MetronomeWire

/// OTLP/gRPC to the trace store: one `GRPCClient` per endpoint, the request bytes sent as they are
/// (`TraceService/Export`), with the tenant as `x-scope-orgid` and the forwarder's headers as metadata.
struct OTLPGRPCForwarderTransport: ForwarderTransport {
    private static let export = MethodDescriptor(fullyQualifiedService: OTLPGRPCService.service, method: "Export")

    private let clients: [GRPCClient<HTTP2ClientTransport.Posix>]
    private let headers: [String: String]
    private let timeout: Duration

    init(section: ForwarderSection) throws {
        headers = section.headers
        timeout = .milliseconds(section.timeoutMs)
        let security = Self.security(section)
        clients = try section.endpoints.map { endpoint in
            let address = try ListenAddress(parsing: endpoint, key: "distributor.forwarders.otlpgrpc.endpoints")
            return GRPCClient(transport: try Self.transport(to: address, security: security))
        }
    }

    /// A name is resolved, sent as TLS SNI and checked against the certificate; an IP address is connected to as it
    /// is, without SNI (TLS allows none for an address), the certificate's chain checked, as the remote-write client
    /// does.
    private static func transport(
        to address: ListenAddress,
        security: HTTP2ClientTransport.Posix.TransportSecurity
    ) throws -> HTTP2ClientTransport.Posix {
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, address.host, &ipv4) == 1 {
            return try .http2NIOPosix(
                target: .ipv4(address: address.host, port: address.port),
                transportSecurity: security
            )
        }
        if inet_pton(AF_INET6, address.host, &ipv6) == 1 {
            return try .http2NIOPosix(
                target: .ipv6(address: address.host, port: address.port),
                transportSecurity: security
            )
        }
        return try .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: security)
    }

    private static func security(_ section: ForwarderSection) -> HTTP2ClientTransport.Posix.TransportSecurity {
        if section.insecure { return .plaintext }
        let tls = section.tls
        return .tls { config in
            if let caFile = tls.caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
            if let certFile = tls.certFile, let keyFile = tls.keyFile {
                config.certificateChain = [.file(path: certFile, format: .pem)]
                config.privateKey = .file(path: keyFile, format: .pem)
            }
            if tls.insecureSkipVerify { config.serverCertificateVerification = .noVerification }
        }
    }

    var endpointCount: Int { clients.count }

    func run() async {
        await withDiscardingTaskGroup { group in
            for client in clients {
                group.addTask { try? await client.runConnections() }
            }
            await withTaskCancellationHandler {
                // Wait for cancellation.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            } onCancel: {
                for client in clients { client.beginGracefulShutdown() }
            }
        }
    }

    func send(_ request: ForwardedRequest, tenant: TenantID, endpoint: Int) async -> ForwardOutcome {
        var metadata = Metadata()
        metadata.addString(tenant.value, forKey: "x-scope-orgid")
        for (name, value) in headers { metadata.addString(value, forKey: name.lowercased()) }
        var options = CallOptions.defaults
        options.timeout = timeout
        do {
            let response = try await clients[endpoint].unary(
                request: ClientRequest(message: request, metadata: metadata),
                descriptor: Self.export,
                serializer: ForwardedRequestSerializer(),
                deserializer: RawBytesDeserializer(),
                options: options
            ) { response in try response.message }
            return .delivered(rejectedSpans: OTLPResponseDetails.rejectedSpans(response))
        } catch let error as RPCError {
            return Self.outcome(error)
        } catch {
            return .retry(code: "transport", after: nil, message: ClientText.quoted("\(error)"))
        }
    }

    /// Retries the codes the OTLP specification calls retryable, after the `RetryInfo` delay when one is given.
    static func outcome(_ error: RPCError) -> ForwardOutcome {
        let code = "\(error.code)"
        switch error.code {
        case .unavailable, .resourceExhausted, .deadlineExceeded, .aborted:
            let details = error.metadata[binaryValues: "grpc-status-details-bin"].first(where: { _ in true })
            return .retry(
                code: code,
                after: details.flatMap(OTLPResponseDetails.retryDelay(status:)),
                message: error.message.isEmpty ? "" : ClientText.quoted(error.message)
            )
        default:
            return .drop(code: code, message: ClientText.quoted(error.message))
        }
    }
}

/// Serializes a ``ForwardedRequest`` with one copy, of its parts into the message buffer.
struct ForwardedRequestSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: ForwardedRequest) throws -> Bytes {
        if message.parts.count == 1 { return Bytes(message.parts[0]) }
        var bytes = Bytes(repeating: 0, count: message.count)
        bytes.withUnsafeMutableBytes { message.copy(into: $0) }
        return bytes
    }
}
