import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import OutpostTransport
import Synchronization

/// The TLS settings of a `vault` provider whose `tls_ca_file` is set or whose
/// auth method is `cert`: only the CAs of `tls_ca_file` are trusted for Vault's
/// certificate (the system's roots without it), and with `cert` auth the client
/// certificate is presented on every connection, as `VAULT_CLIENT_CERT` does for
/// Vault's own CLI (a listener with `tls_require_and_verify_client_cert` needs it
/// on every request; `POST /v1/auth/cert/login` reads it).
///
/// The client certificate and key are read again at each cert login
/// (`reloadClientCertificate`), so files a certificate manager renews take
/// effect; connections made with the old pair are not reused after a change
/// (AsyncHTTPClient keeps a connection pool per TLS configuration).
final class VaultTLS: Sendable {
    private let base: TLSConfiguration
    private let clientFiles: (certificate: String, key: String)?
    private let current: Mutex<TLSConfiguration>

    /// Loads the CA certificates; with `clientCertificate`, tries the client pair
    /// too (a missing or bad pair fails the cert login, not the start-up: the files
    /// may be written later).
    /// - Throws: `.invalidConfiguration` when `caFile` cannot be read or holds no PEM certificate.
    /// - Parameter caSource: where `caFile` was named (`tls_ca_file`, `VAULT_CACERT`), for messages.
    init(
        caFile: String?, caSource: String = "tls_ca_file", clientCertificate: VaultCertLogin?, options: ProviderOptions
    ) throws(SecretError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            let named = caSource == "tls_ca_file" ? caFile : "\(caFile) (from \(caSource))"
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw options.invalid("tls_ca_file", "cannot load PEM certificates from \(named): \(error)")
            }
            guard !certificates.isEmpty else {
                throw options.invalid("tls_ca_file", "\(named) holds no PEM certificate")
            }
            configuration.trustRoots = .certificates(certificates)
        }
        base = configuration
        clientFiles = clientCertificate.map { ($0.certFile, $0.keyFile) }
        current = Mutex(configuration)
        _ = try? reloadClientCertificate()
    }

    /// Reads the client certificate (with any chain after it) and key again.
    /// - Throws: `.denied` naming `auth.cert_file` or `auth.key_file` when one cannot
    ///   be read or parsed, or when they do not belong together; the previous pair stays.
    func reloadClientCertificate() throws(SecretError) {
        guard let clientFiles else { return }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(clientFiles.certificate)
        } catch {
            throw SecretError(.denied, "cannot load auth.cert_file \(clientFiles.certificate): \(Self.reason(error))")
        }
        guard !chain.isEmpty else {
            throw SecretError(.denied, "auth.cert_file \(clientFiles.certificate) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: clientFiles.key, format: .pem)
        } catch {
            throw SecretError(.denied, "cannot load auth.key_file \(clientFiles.key): \(Self.reason(error))")
        }
        var configuration = base
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        // Building a context checks that the key belongs to the certificate.
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw SecretError(
                .denied,
                "auth.key_file \(clientFiles.key) does not match auth.cert_file \(clientFiles.certificate): \(Self.reason(error))")
        }
        current.withLock { $0 = configuration }
    }

    /// `SecretHTTP.send` with this TLS configuration on the request.
    func send(
        _ http: SecretHTTP, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?
    ) async throws(SecretError) -> SecretHTTP.Response {
        let configuration = current.withLock { $0 }
        return try await http.send(method, url, headers: headers, body: body) { request in
            request.tlsConfiguration = configuration
        }
    }

    /// Why a PEM file could not be used, without its content.
    private static func reason(_ error: any Error) -> String {
        if let ioError = error as? IOError { return "\(ioError.description)" }
        return "\(error)"
    }
}
