import Foundation
package import NIOSSL

/// A certificate and private key that a client presents to the hub in the TLS
/// handshake (agents of types that require client certificates). Made once per
/// certificate, so every request with it lands in the same connection pool.
package struct ClientIdentity: Sendable, CustomStringConvertible {
    /// The client's certificate, first, then any intermediates.
    package let certificateChain: [NIOSSLCertificate]
    package let privateKey: NIOSSLPrivateKey

    /// - Parameters:
    ///   - certificatePEM: the certificate (and any intermediates) as PEM.
    ///   - privateKeyPEM: the matching private key as PEM.
    /// - Throws: `ClientError(.invalidResponse)` when the certificate is not PEM (it
    ///   comes from the hub), `.invalidRequest` when the key is not. Neither message
    ///   quotes the key.
    package init(certificatePEM: String, privateKeyPEM: String) throws(ClientError) {
        do {
            certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        } catch {
            throw ClientError(.invalidResponse, "the client certificate is not a PEM certificate: \(error)")
        }
        guard !certificateChain.isEmpty else {
            throw ClientError(.invalidResponse, "the client certificate holds no PEM certificate")
        }
        do {
            privateKey = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        } catch {
            throw ClientError(.invalidRequest, "the client key is not a PEM private key")
        }
    }

    /// `configuration` presenting this identity.
    package func applied(to configuration: TLSConfiguration) -> TLSConfiguration {
        var configuration = configuration
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        return configuration
    }

    /// Counts the certificates only; never key material.
    package var description: String {
        "ClientIdentity(certificates: \(certificateChain.count))"
    }
}
