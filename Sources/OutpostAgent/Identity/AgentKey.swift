package import Crypto
import Foundation
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The agent's own P-256 key, `identity.key` in its work directory: the key of its
/// client certificates (mTLS agent types). Made once and kept across restarts, so
/// the hub can sign a new certificate for the same key; it never leaves the agent —
/// only certificate signing requests do.
package struct AgentKey: Sendable, CustomStringConvertible {
    /// Where the key is kept.
    package let path: String
    package let privateKey: P256.Signing.PrivateKey

    /// The key in `path`, made (PEM, mode 0600) when there is none.
    /// - Throws: `AgentError(.workDirectory)` naming the file when it cannot be read,
    ///   written, or holds something other than a P-256 private key in PEM.
    package static func loadOrCreate(path: String) throws(AgentError) -> AgentKey {
        if let existing = try load(path: path) { return existing }
        let made = P256.Signing.PrivateKey()
        if try create(path: path, pem: made.pemRepresentation) {
            return AgentKey(path: path, privateKey: made)
        }
        // Another process made it between our look and our link: use theirs.
        guard let existing = try load(path: path) else {
            throw AgentError(.workDirectory, "the agent key \(path) vanished while it was being created")
        }
        return existing
    }

    /// The private key as PEM, for the TLS stack only.
    package var pemRepresentation: String { privateKey.pemRepresentation }

    /// A PEM certificate signing request for this key, subject `CN=commonName`.
    /// - Throws: `AgentError(.io)` when signing fails.
    package func certificateSigningRequest(commonName: String) throws(AgentError) -> String {
        do {
            let request = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName(commonName) },
                privateKey: Certificate.PrivateKey(privateKey), attributes: CertificateSigningRequest.Attributes(),
                signatureAlgorithm: .ecdsaWithSHA256)
            return try request.serializeAsPEM().pemString
        } catch {
            throw AgentError(.io, "cannot make a certificate signing request for the agent key \(path): \(error)")
        }
    }

    /// Names the file only; never key material.
    package var description: String { "AgentKey(\(path))" }

    /// The key in `path`, or `nil` when there is no file.
    private static func load(path: String) throws(AgentError) -> AgentKey? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.workDirectory, "cannot read the agent key \(path); check its owner and permissions")
        }
        do {
            let key = try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
            return AgentKey(path: path, privateKey: key)
        } catch {
            // Not the underlying error: its text could quote the file.
            throw AgentError(
                .workDirectory,
                "the agent key \(path) is not a P-256 private key in PEM; remove it to let the agent make a new one "
                    + "(the hub then issues certificates for the new key at the next registration)")
        }
    }

    /// Writes `pem` to a temporary file (0600 from the start) and links it to `path`,
    /// so the key file is never seen half-written. `false` when `path` exists by then.
    private static func create(path: String, pem: String) throws(AgentError) -> Bool {
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError(.workDirectory, "cannot create the agent key \(path): \(GlibcExtras.errnoText(errno))")
        }
        defer { unlink(temporary) }
        let bytes = Array(pem.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            throw AgentError(.workDirectory, "cannot write the agent key \(path): \(GlibcExtras.errnoText(errno))")
        }
        if link(temporary, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw AgentError(.workDirectory, "cannot create the agent key \(path): \(GlibcExtras.errnoText(errno))")
    }
}
