import Crypto
package import Foundation
import NIOConcurrencyHelpers
import NIOSSL
package import OutpostCore
import SwiftASN1
package import X509

/// The hub's own small certificate authority for agents' client certificates
/// (agent types with `--require-client-cert`).
///
/// Its P-256 key and self-signed certificate live in `DATA_DIR/ca/` (`ca.key`
/// mode 0600, `ca.crt`), made on the first start with TLS. It signs an agent's
/// CSR into a certificate of short lifetime whose URI SAN names the agent
/// (`ClientCertificateGrant.uri(agentID:)`); the agent's key never leaves it.
///
/// **Rotation** (`rotate()`): a new CA takes over signing; the old one moves to
/// `previous.crt` and stays trusted for one certificate lifetime, by which time
/// every live agent has renewed (at two thirds of its lifetime) and every
/// certificate it signed has expired. Then it is dropped.
package final class AgentCertificateAuthority: Sendable {
    /// Lifetime of the certificates it issues.
    package let lifetime: Duration
    /// Set when the CA was given by file (`agent_ca_cert`, `agent_ca_key`): the
    /// operator's PKI owns it, and the hub does not rotate it.
    private let givenFiles: ServerCertificate.Files?
    private let directory: URL
    private let state: NIOLockedValueBox<State>

    private struct Authority {
        var key: P256.Signing.PrivateKey
        var certificate: Certificate
        var pem: String
    }

    private struct State {
        var current: Authority
        /// The CA before the last rotation, trusted until `until`.
        var previous: (certificate: Certificate, pem: String, until: Date)?
    }

    /// Opens the CA in `directory` (created 0700), making one if there is none; or
    /// the one in `given` (an intermediate of the operator's PKI, say).
    package init(directory: String, lifetime: Duration, now: Date, given: ServerCertificate.Files? = nil) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.lifetime = lifetime
        givenFiles = given
        try FileManager.default.createDirectory(
            at: self.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let current: Authority
        if let given {
            guard let loaded = try Self.load(certificate: URL(fileURLWithPath: given.certificate), key: URL(fileURLWithPath: given.key))
            else { throw HubError(.startup, "agent_ca_cert \(given.certificate) or agent_ca_key \(given.key): no such file") }
            current = loaded
        } else {
            current = try Self.load(self.directory, name: "ca") ?? Self.create(in: self.directory, name: "ca", now: now)
        }
        var previous: (Certificate, String, Date)?
        if let old = try Self.loadCertificate(self.directory.appendingPathComponent("previous.crt")),
            let untilText = try? String(contentsOf: self.directory.appendingPathComponent("previous.until"), encoding: .utf8),
            let seconds = Double(untilText.trimmingCharacters(in: .whitespacesAndNewlines)),
            Date(timeIntervalSince1970: seconds) > now
        {
            previous = (old.certificate, old.pem, Date(timeIntervalSince1970: seconds))
        }
        state = NIOLockedValueBox(State(current: current, previous: previous))
    }

    /// The CA certificates that sign (and so verify) agents now, current first.
    package func trusted(now: Date) -> [Certificate] {
        state.withLockedValue { state in
            [state.current.certificate] + (state.previous.flatMap { $0.until > now ? [$0.certificate] : [] } ?? [])
        }
    }

    /// The same as PEM, as agents are told.
    package func trustedPEM(now: Date) -> String {
        state.withLockedValue { state in
            state.current.pem + (state.previous.flatMap { $0.until > now ? $0.pem : nil } ?? "")
        }
    }

    /// `trusted(now:)` for the TLS library.
    func trustRoots(now: Date) -> [NIOSSLCertificate] {
        trusted(now: now).compactMap { certificate in
            (try? certificate.serializeAsPEM().derBytes).flatMap { try? NIOSSLCertificate(bytes: $0, format: .der) }
        }
    }

    /// The CSR, checked: it parses, is signed by its own key, and that key is EC P-256.
    /// - Throws: `HubError(.invalidRequest)` saying which.
    package func checked(csrPEM: String) throws -> CertificateSigningRequest {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: csrPEM)
        } catch {
            throw HubError(.invalidRequest, "csr: not a PEM certificate signing request")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw HubError(.invalidRequest, "csr: its signature does not verify with its own key")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw HubError(.invalidRequest, "csr: the agent's key must be an EC P-256 key")
        }
        return csr
    }

    /// Signs a checked CSR into a certificate for `agentID`, valid from a minute
    /// ago (clock skew) for `lifetime`.
    package func issue(csr: CertificateSigningRequest, agentID: String, now: Date) throws -> ClientCertificateGrant {
        let authority = state.withLockedValue { $0.current }
        let notAfter = now + lifetime.seconds
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: csr.publicKey, notValidBefore: now - 60, notValidAfter: notAfter,
            issuer: authority.certificate.subject,
            subject: try DistinguishedName { CommonName(agentID) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(ClientCertificateGrant.uri(agentID: agentID))])
            },
            issuerPrivateKey: .init(authority.key))
        return ClientCertificateGrant(
            certificate: try certificate.serializeAsPEM().pemString, caCertificates: trustedPEM(now: now),
            notValidAfter: notAfter, renewAfter: now + lifetime.seconds * 2 / 3)
    }

    /// Starts a rotation: a new CA signs from now on; the current one stays
    /// trusted for one lifetime. Returns the new CA's subject and expiry.
    @discardableResult
    package func rotate(now: Date) throws -> (subject: String, notValidAfter: Date) {
        if let givenFiles {
            throw HubError(
                .conflict,
                "the agent CA is given by file (agent_ca_cert \(givenFiles.certificate)); rotate it in your PKI and restart the hub")
        }
        let fresh = try Self.create(in: directory, name: "next", now: now)
        let until = now + lifetime.seconds + 60
        let old = state.withLockedValue { $0.current }
        // previous.* first, then ca.* (a crash in between leaves both CAs on disk).
        try Data(old.pem.utf8).write(to: directory.appendingPathComponent("previous.crt"), options: .atomic)
        try Data("\(until.timeIntervalSince1970)\n".utf8).write(
            to: directory.appendingPathComponent("previous.until"), options: .atomic)
        for suffix in ["key", "crt"] {
            let from = directory.appendingPathComponent("next.\(suffix)").path
            let to = directory.appendingPathComponent("ca.\(suffix)").path
            // rename(2): atomic, and ca.key keeps next.key's mode 0600.
            guard rename(from, to) == 0 else {
                throw HubError(.internal, "cannot move \(from) to \(to): \(String(cString: strerror(errno)))")
            }
        }
        state.withLockedValue { $0 = State(current: fresh, previous: (old.certificate, old.pem, until)) }
        return (fresh.certificate.subject.description, fresh.certificate.notValidAfter)
    }

    /// The current CA and, during a rotation, the previous one, as the API shows them.
    package func status(now: Date) -> AgentCAStatus {
        state.withLockedValue { state in
            AgentCAStatus(
                current: .init(
                    subject: state.current.certificate.subject.description,
                    notValidAfter: state.current.certificate.notValidAfter),
                previous: state.previous.flatMap { previous in
                    previous.until > now
                        ? .init(
                            subject: previous.certificate.subject.description,
                            notValidAfter: previous.certificate.notValidAfter, trustedUntil: previous.until)
                        : nil
                },
                certificateLifetimeSeconds: lifetime.seconds)
        }
    }

    /// Which CA signed `certificate`: `true` for the current one.
    package func isCurrent(issuerOf certificate: Certificate) -> Bool {
        state.withLockedValue { $0.current.certificate.subject == certificate.issuer }
    }

    // MARK: Files

    private static func load(_ directory: URL, name: String) throws -> Authority? {
        try load(
            certificate: directory.appendingPathComponent("\(name).crt"), key: directory.appendingPathComponent("\(name).key"))
    }

    private static func load(certificate: URL, key keyURL: URL) throws -> Authority? {
        guard let loaded = try loadCertificate(certificate), FileManager.default.fileExists(atPath: keyURL.path)
        else { return nil }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOf: keyURL, encoding: .utf8))
        } catch {
            throw HubError(.startup, "\(keyURL.path): not a PEM P-256 private key")
        }
        guard Certificate.PublicKey(key.publicKey) == loaded.certificate.publicKey else {
            throw HubError(.startup, "\(keyURL.path): does not belong to the CA certificate next to it")
        }
        return Authority(key: key, certificate: loaded.certificate, pem: loaded.pem)
    }

    private static func loadCertificate(_ url: URL) throws -> (certificate: Certificate, pem: String)? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let pem = try String(contentsOf: url, encoding: .utf8)
            return (try Certificate(pemEncoded: pem), pem)
        } catch {
            throw HubError(.startup, "\(url.path): not a PEM certificate (\(error))")
        }
    }

    /// A new CA valid for ten years, written as `NAME.key` (0600) and `NAME.crt`.
    private static func create(in directory: URL, name: String, now: Date) throws -> Authority {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Outpost")
            CommonName("Outpost agent CA \(Identifiers.make(prefix: "ca"))")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86_400,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        let keyURL = directory.appendingPathComponent("\(name).key")
        _ = FileManager.default.createFile(
            atPath: keyURL.path, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        try Data(pem.utf8).write(to: directory.appendingPathComponent("\(name).crt"), options: .atomic)
        return Authority(key: key, certificate: certificate, pem: pem)
    }
}
