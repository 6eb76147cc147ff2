import Foundation
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import Testing

/// When the agent renews its client certificate: pure decisions on the agent's clock.
@Suite("Certificate renewal state machine")
struct CertificateRenewalStateMachineTests {
    let wallNow = Date(timeIntervalSince1970: 1_800_000_000)
    let start: Duration = .seconds(100)
    let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(4))

    /// A certificate of 5 s received at `start`: renew at +3.333 s, expires at +5 s.
    func grant(lifetime: TimeInterval = 5, receivedAt wall: Date? = nil) -> ClientCertificateGrant {
        let issued = wall ?? wallNow
        return ClientCertificateGrant(
            certificate: "PEM", caCertificates: "PEM", notValidAfter: issued + lifetime, renewAfter: issued + lifetime * 2 / 3)
    }

    func machine() -> CertificateRenewalStateMachine {
        CertificateRenewalStateMachine(grant: grant(), wallNow: wallNow, now: start, backoff: backoff)
    }

    @Test("it waits until renew_after, then renews")
    func renewsAtRenewAfter() {
        let machine = machine()
        #expect(machine.next(now: start) == .wait(until: start + .milliseconds(3333)))
        #expect(machine.next(now: start + .milliseconds(3332)) == .wait(until: start + .milliseconds(3333)))
        #expect(machine.next(now: start + .milliseconds(3333)) == .renew)
    }

    @Test("a renewed certificate moves both deadlines, measured from when it arrived")
    func renewalMovesDeadlines() {
        var machine = machine()
        let now = start + .seconds(4)
        machine.renewed(grant(receivedAt: wallNow + 4), wallNow: wallNow + 4, now: now)
        #expect(machine.next(now: now) == .wait(until: now + .milliseconds(3333)))
        #expect(machine.expiresAt == now + .seconds(5))
    }

    @Test("a failed renewal is retried with growing backoff")
    func retriesWithBackoff() {
        var machine = machine()
        let now = start + .milliseconds(3400)
        let down = ClientError(.unreachable, "connection refused")
        #expect(machine.renewalFailed(down, now: now, unit: 1) == .wait(until: now + .milliseconds(500)))
        #expect(machine.renewalFailed(down, now: now, unit: 1) == .wait(until: now + .seconds(1)))
        #expect(machine.failures == 2)
        // A success resets the backoff.
        machine.renewed(grant(), wallNow: wallNow, now: start)
        #expect(machine.renewalFailed(down, now: now, unit: 1) == .wait(until: now + .milliseconds(500)))
    }

    @Test("retries stop at the certificate's expiry, which leads to registering again")
    func retriesEndAtExpiry() {
        var machine = machine()
        let now = start + .milliseconds(4800)
        let failure = ClientError(.http(status: 503, code: nil), "unavailable")
        #expect(machine.renewalFailed(failure, now: now, unit: 1) == .wait(until: start + .seconds(5)))
        #expect(machine.next(now: start + .seconds(5)) == .reRegister)
    }

    @Test("an expired certificate leads to registering again, even before any renewal")
    func expiredReRegisters() {
        #expect(machine().next(now: start + .seconds(6)) == .reRegister)
    }

    @Test("the hub refusing the certificate leads to registering again at once")
    func refusedReRegisters() {
        var machine = machine()
        let refused = ClientError(.http(status: 403, code: .clientCertificateRequired), "present a client certificate")
        #expect(machine.renewalFailed(refused, now: start + .seconds(4), unit: 0) == .reRegister)
    }

    @Test("a lost session leaves renewal to the next registration")
    func lostSessionWaitsForRegistration() {
        var machine = machine()
        let expired = ClientError(.http(status: 401, code: .agentOffline), "agent offline")
        #expect(machine.renewalFailed(expired, now: start + .seconds(4), unit: 0) == .awaitRegistration)
    }

    @Test("a renew_after past the expiry is not trusted: the expiry bounds it")
    func renewAfterBoundedByExpiry() {
        let odd = ClientCertificateGrant(certificate: "", caCertificates: "", notValidAfter: wallNow + 5, renewAfter: wallNow + 9)
        let machine = CertificateRenewalStateMachine(grant: odd, wallNow: wallNow, now: start, backoff: backoff)
        #expect(machine.next(now: start) == .wait(until: start + .seconds(5)))
    }
}
