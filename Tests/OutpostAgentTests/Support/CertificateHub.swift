import Foundation
import NIOSSL
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTestSupport

/// An `AgentHubAPI` that issues real client certificates from a test CA on renewal
/// (or fails as scripted) and records the identities the agent switched to. Only
/// the certificate calls are implemented; the session calls are not used with it.
final class CertificateHub: AgentHubAPI {
    struct State: Sendable {
        /// Errors the next renewals throw, in order; then they succeed.
        var renewalFailures: [ClientError] = []
        /// Whether every renewal fails with this error.
        var alwaysFail: ClientError?
        var renewalCSRs: [String] = []
        /// The leaf certificate (DER) of each identity set, `nil` for a cleared one.
        var identities: [[UInt8]?] = []
    }

    let state = WatchedState(State())
    var currentURL: String { "https://127.0.0.1:9" }
    let authority: TestCertificateAuthority
    let lifetime: TimeInterval
    /// The hub's wall clock (the test's manual clock, so that grants do not depend on real time).
    let wallClock: @Sendable () -> Date

    init(authority: TestCertificateAuthority, lifetime: TimeInterval = 5, wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.authority = authority
        self.lifetime = lifetime
        self.wallClock = wallClock
    }

    /// A grant for `csr`, as the hub's registration or renewal answer carries it.
    func grant(for csr: String) throws -> ClientCertificateGrant {
        let now = wallClock()
        return ClientCertificateGrant(
            certificate: try authority.sign(csrPEM: csr, uri: ClientCertificateGrant.uri(agentID: "agt_1"), lifetime: lifetime),
            caCertificates: try authority.certificatePEM, notValidAfter: now + lifetime, renewAfter: now + lifetime * 2 / 3)
    }

    func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        let failure = state.update { state -> ClientError? in
            state.renewalCSRs.append(request.certificateSigningRequest)
            if let always = state.alwaysFail { return always }
            return state.renewalFailures.isEmpty ? nil : state.renewalFailures.removeFirst()
        }
        if let failure { throw failure }
        do { return try grant(for: request.certificateSigningRequest) } catch {
            throw ClientError(.http(status: 400, code: .invalidRequest), "bad csr: \(error)")
        }
    }

    func useClientIdentity(_ identity: ClientIdentity?) {
        let der = identity.flatMap { try? $0.certificateChain.first?.toDERBytes() }
        state.update { $0.identities.append(identity == nil ? nil : der) }
    }

    func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse { throw unused }
    func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse {
        throw unused
    }
    func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) { throw unused }
    func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64 {
        throw unused
    }
    func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool { throw unused }
    func deregister(agentToken: String) async throws(ClientError) { throw unused }
    func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String) async throws(ClientError) {
        throw unused
    }

    private var unused: ClientError { ClientError(.invalidRequest, "not part of the certificate tests") }
}
