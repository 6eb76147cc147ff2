package import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The hub's certificate chain and private key, read from PEM files and checked
/// before anything listens: each file readable and holding what it should, and
/// the key belonging to the first certificate.
///
/// Errors name the file and what is wrong with it (never the key's bytes).
package struct ServerCertificate: Sendable {
    /// Where the PEM certificate chain (leaf first) and private key are.
    package struct Files: Sendable, Equatable {
        package var certificate: String
        package var key: String

        package init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// What was wrong with the files, and which one.
    package struct LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        package enum File: Sendable, Equatable { case certificate, key }
        package let file: File
        package let path: String
        package let problem: String
        package var description: String { "\(path): \(problem)" }
    }

    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    /// The leaf's subject and expiry, for log lines.
    package let subject: String
    package let notValidAfter: Date

    /// Reads and checks both files.
    package init(files: Files) throws(LoadError) {
        let certificateBytes = try Self.read(files.certificate, as: .certificate)
        let keyBytes = try Self.read(files.key, as: .key)
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw LoadError(file: .certificate, path: files.certificate, problem: "not a PEM certificate chain (\(error))")
        }
        guard let first = chain.first else {
            throw LoadError(file: .certificate, path: files.certificate, problem: "holds no PEM certificate")
        }
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw LoadError(file: .key, path: files.key, problem: "not a PEM private key")
        }
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: try first.toDERBytes())
        } catch {
            throw LoadError(file: .certificate, path: files.certificate, problem: "cannot parse the first certificate (\(error))")
        }
        subject = leaf.subject.description
        notValidAfter = leaf.notValidAfter
        // The key must be the leaf's. swift-certificates reads the usual key
        // formats; one it cannot read is left to the TLS library's own check.
        if let parsed = try? Certificate.PrivateKey(pemEncoded: String(decoding: keyBytes, as: UTF8.self)),
            parsed.publicKey != leaf.publicKey
        {
            throw LoadError(
                file: .key, path: files.key,
                problem: "does not belong to the certificate in \(files.certificate) (\(subject))")
        }
    }

    /// A server TLS configuration: TLS 1.2 at least (1.3 is preferred when both
    /// ends speak it), HTTP/1.1 by ALPN. With `clientRoots`, a client may present
    /// a certificate, which must then chain to one of them (agents of types that
    /// require one; whose certificate names whom is checked per request).
    func tlsConfiguration(clientRoots: [NIOSSLCertificate]) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if !clientRoots.isEmpty {
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .certificates(clientRoots)
        }
        return configuration
    }

    /// The context new connections use; fails (naming the key file) when the
    /// TLS library rejects the pair.
    func makeContext(files: Files, clientRoots: [NIOSSLCertificate]) throws(LoadError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: tlsConfiguration(clientRoots: clientRoots))
        } catch {
            throw LoadError(file: .key, path: files.key, problem: "the TLS library refused the certificate and key: \(error)")
        }
    }

    private static func read(_ path: String, as file: LoadError.File) throws(LoadError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(file: file, path: path, problem: "no such file")
        }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw LoadError(file: file, path: path, problem: "cannot read it (\(error.localizedDescription))")
        }
    }
}
