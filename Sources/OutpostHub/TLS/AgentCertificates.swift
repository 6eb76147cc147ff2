import Foundation
import NIOCore
import NIOSSL
import OutpostCore
import SwiftASN1
import Synchronization
import X509

/// Client certificates of agents: the hub's CA, which agent types require a
/// certificate, and the check that the connection of an agent call presented
/// one naming the agent of its token.
///
/// The TLS library already verified at the handshake that a presented
/// certificate chains to a trusted CA and is within its validity; what is
/// left is *whose* it is, and that it has not expired since the handshake on
/// a long-lived connection.
final class AgentCertificates: Sendable {
    let authority: AgentCertificateAuthority
    private let types = Mutex<Set<String>>([])
    /// Remakes the listener's TLS context with the CA's trusted certificates (set
    /// by the runtime), so a rotation takes effect before the first renewal.
    private let rootsChanged = Mutex<(@Sendable () -> Void)?>(nil)

    func onRootsChanged(_ action: @escaping @Sendable () -> Void) {
        rootsChanged.withLock { $0 = action }
    }

    /// Starts a CA rotation (see `AgentCertificateAuthority`) and applies the new trust at once.
    func rotate(now: Date) throws -> AgentCAStatus {
        try authority.rotate(now: now)
        rootsChanged.withLock { $0 }?()
        return authority.status(now: now)
    }

    init(authority: AgentCertificateAuthority, requiringTypes: some Sequence<String>) {
        self.authority = authority
        types.withLock { $0 = Set(requiringTypes) }
    }

    func requires(type: String) -> Bool { types.withLock { $0.contains(type) } }

    func addRequiringType(_ name: String) { _ = types.withLock { $0.insert(name) } }

    /// The types the store says require certificates (several replicas: a type
    /// created on another replica is enforced here from the next reconciliation).
    func setRequiringTypes(_ names: some Sequence<String>) { types.withLock { $0 = Set(names) } }

    /// Checks the certificate `channel`'s peer presented against `agentID`.
    /// - Throws: `HubError(.clientCertificateRequired)` saying what is missing or wrong.
    func verify(channel: any Channel, agentID: String, now: Date) async throws {
        let der = try await Self.peerCertificate(of: channel)
        guard let der else {
            throw HubError(
                .clientCertificateRequired,
                "this agent's type requires a client certificate (mutual TLS) and the connection presented none")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw HubError(.clientCertificateRequired, "the client certificate could not be read")
        }
        let expected = ClientCertificateGrant.uri(agentID: agentID)
        let names = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        let uris = (names ?? SubjectAlternativeNames()).compactMap { name -> String? in
            if case .uniformResourceIdentifier(let uri) = name { return uri }
            return nil
        }
        guard uris.contains(expected) else {
            throw HubError(
                .clientCertificateRequired,
                "the client certificate names \(uris.first ?? "no agent"), not the agent of this token")
        }
        guard certificate.notValidAfter > now else {
            throw HubError(
                .clientCertificateRequired,
                "the client certificate expired at \(certificate.notValidAfter); the agent must renew it or register again")
        }
    }

    /// DER of the certificate the peer presented at the handshake, if any.
    private static func peerCertificate(of channel: any Channel) async throws -> [UInt8]? {
        try await channel.eventLoop.submit {
            let handler = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            return try handler?.peerCertificate?.toDERBytes()
        }.get()
    }
}

extension Hub {
    /// The answer on a hub that serves plain HTTP, which has no agent CA.
    static var noAgentCA: HubError {
        HubError(.notFound, "this hub serves plain HTTP and has no agent CA (start it with --tls-cert and --tls-key)")
    }
}
