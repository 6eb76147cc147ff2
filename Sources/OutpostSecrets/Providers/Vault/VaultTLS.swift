import AsyncHTTPClient
import NIOCore
import NIOHTTP1

#if canImport(NIOSSL)
import NIOSSL
import OutpostTransport

/// The TLS settings of a `vault` provider with `tls_ca_file`: only the CAs in
/// that file are trusted for the Vault server's certificate.
///
/// Needs `NIOSSL` (AsyncHTTPClient's per-request `tlsConfiguration` is a NIOSSL
/// type); without it, `tls_ca_file` is refused at start-up.
struct VaultTLS: Sendable {
    let configuration: TLSConfiguration

    /// Loads the CA certificates.
    /// - Throws: `.invalidConfiguration` when the file cannot be read or holds no PEM certificate.
    init(caFile: String, options: ProviderOptions) throws(SecretError) {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            throw options.invalid("tls_ca_file", "cannot load PEM certificates from \(caFile): \(error)")
        }
        guard !certificates.isEmpty else {
            throw options.invalid("tls_ca_file", "\(caFile) holds no PEM certificate")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(certificates)
        self.configuration = configuration
    }

    /// `SecretHTTP.send` with this TLS configuration on the request.
    func send(
        _ http: SecretHTTP, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?
    ) async throws(SecretError) -> SecretHTTP.Response {
        try await http.send(method, url, headers: headers, body: body) { [configuration] request in
            request.tlsConfiguration = configuration
        }
    }
}
#else
/// Without `NIOSSL` in the module's dependencies a custom CA cannot be set:
/// `tls_ca_file` is refused at start-up with a clear message.
struct VaultTLS: Sendable {
    init(caFile: String, options: ProviderOptions) throws(SecretError) {
        throw options.invalid("tls_ca_file", "this build of outpost cannot use a custom CA file (NIOSSL is missing)")
    }

    func send(
        _ http: SecretHTTP, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?
    ) async throws(SecretError) -> SecretHTTP.Response {
        throw SecretError(.unreachable, "tls_ca_file is not supported by this build")
    }
}
#endif
