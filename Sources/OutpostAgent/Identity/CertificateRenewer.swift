import Foundation
import Logging
import OutpostClient
import OutpostCore

/// Renews the session's client certificate (mTLS agent types) next to the poll
/// loop, so neither waits for the other: at the grant's `renewAfter` it sends a
/// new CSR for the same key and switches the hub calls to the new certificate;
/// calls under way (a long poll, a log upload) finish on their connections. When
/// the certificate is lost, it tells the session to register again. The timing
/// decisions are `CertificateRenewalStateMachine`'s.
struct CertificateRenewer: Sendable {
    let hub: any AgentHubAPI
    let key: AgentKey
    /// The CSR's common name (the agent's requested name).
    let commonName: String
    let clock: any AgentClock
    let control: DaemonControl
    let credentials: SessionCredentials
    let backoff: Backoff
    let logger: Logger
    /// Wall-clock time, to place the grant's dates on `clock`; injected with it
    /// so that tests on a manual clock do not depend on how fast they run.
    var wallClock: @Sendable () -> Date = { Date() }

    /// Renews the certificate of each registration until cancelled (when the session
    /// loop ends); returns then. A renewal under way is cancelled with it.
    func run() async {
        var seen = 0
        while !Task.isCancelled {
            let previous = seen
            guard await control.state.wait(until: { $0.registrations != previous }) else { return }
            let snapshot = control.state.value
            seen = snapshot.registrations
            guard let grant = snapshot.certificate else { continue }
            await keepRenewing(grant, registration: seen)
        }
    }

    /// Renews `grant` and its successors until a newer registration supersedes it or it is lost.
    private func keepRenewing(_ grant: ClientCertificateGrant, registration: Int) async {
        var machine = CertificateRenewalStateMachine(grant: grant, wallNow: wallClock(), now: clock.now(), backoff: backoff)
        while !Task.isCancelled {
            switch machine.next(now: clock.now()) {
            case .wait(let deadline):
                let superseded = await control.state.wait(
                    until: { $0.registrations != registration }, deadline: deadline, clock: clock)
                if superseded { return }
            case .renew:
                guard let token = credentials.current else { return }
                do throws(ClientError) {
                    let csr = try certificateSigningRequest()
                    let renewed = try await hub.renewCertificate(
                        CertificateRenewalRequest(certificateSigningRequest: csr), agentToken: token)
                    hub.useClientIdentity(try ClientIdentity(certificatePEM: renewed.certificate, privateKeyPEM: key.pemRepresentation))
                    machine.renewed(renewed, wallNow: wallClock(), now: clock.now())
                    logger.info(
                        "renewed the client certificate",
                        metadata: ["not_valid_after": "\(renewed.notValidAfter.formatted(.iso8601))"])
                } catch {
                    if Task.isCancelled { return }
                    switch machine.renewalFailed(error, now: clock.now(), unit: Double.random(in: 0..<1)) {
                    case .wait(let retryAt):
                        logger.warning(
                            "cannot renew the client certificate, retrying: \(error.message)",
                            metadata: ["attempt": "\(machine.failures)", "retry_in": "\(retryAt - clock.now())"])
                    case .reRegister:
                        lapse("the hub refused this agent's client certificate (\(error.message)); registering again for a new one")
                        return
                    case .awaitRegistration, .renew:
                        return
                    }
                }
            case .reRegister:
                lapse("the client certificate expired before it could be renewed; registering again for a new one")
                return
            case .awaitRegistration:
                return
            }
        }
    }

    private func certificateSigningRequest() throws(ClientError) -> String {
        do { return try key.certificateSigningRequest(commonName: commonName) } catch {
            throw ClientError(.invalidRequest, error.message)
        }
    }

    private func lapse(_ message: String) {
        logger.warning("\(message)")
        control.certificateLapsed()
    }
}
