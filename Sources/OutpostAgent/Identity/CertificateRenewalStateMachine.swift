import Foundation
import OutpostClient
import OutpostCore

/// When the agent renews its client certificate, as a pure value over the agent's
/// clock: renew at the grant's `renewAfter`, retry a failed renewal with backoff
/// until the certificate expires, and give the certificate up (the session
/// registers again, with a fresh CSR) when it expired or the hub refused it.
/// Tested without I/O.
struct CertificateRenewalStateMachine: Sendable, Equatable {
    enum Action: Sendable, Equatable {
        /// Nothing to do until this instant of the agent's clock.
        case wait(until: Duration)
        /// Ask the hub for a new certificate (same key, new CSR).
        case renew
        /// The certificate is gone (expired, or refused by the hub): register again.
        case reRegister
        /// The session itself ended (401): the poll finds out and registers again,
        /// and that registration's certificate starts a new renewal.
        case awaitRegistration
    }

    let backoff: Backoff
    /// When to renew next, on the agent's clock.
    private(set) var renewAt: Duration
    /// When the current certificate stops being valid, on the agent's clock.
    private(set) var expiresAt: Duration
    /// Consecutive failed renewals, for the backoff.
    private(set) var failures = 0

    /// For a certificate received when the wall clock read `wallNow` and the agent's clock `now`.
    init(grant: ClientCertificateGrant, wallNow: Date, now: Duration, backoff: Backoff) {
        self.backoff = backoff
        (renewAt, expiresAt) = Self.deadlines(grant, wallNow: wallNow, now: now)
    }

    /// What to do at `now`.
    func next(now: Duration) -> Action {
        if now >= expiresAt { return .reRegister }
        if now >= renewAt { return .renew }
        return .wait(until: renewAt)
    }

    /// A renewal brought `grant`: its deadlines replace the old ones.
    mutating func renewed(_ grant: ClientCertificateGrant, wallNow: Date, now: Duration) {
        failures = 0
        (renewAt, expiresAt) = Self.deadlines(grant, wallNow: wallNow, now: now)
    }

    /// A failed renewal. `unit` is the backoff's random draw in `0..<1`.
    mutating func renewalFailed(_ error: ClientError, now: Duration, unit: Double) -> Action {
        if error.apiCode == .clientCertificateRequired {
            // The hub no longer accepts this certificate (its CA was rotated away).
            return .reRegister
        }
        if HubFailure(error) == .sessionExpired {
            return .awaitRegistration
        }
        // Anything else (hub down, a refusal that may pass): retry while the certificate lasts.
        failures += 1
        renewAt = min(now + backoff.delay(attempt: failures, unit: unit), expiresAt)
        return next(now: now)
    }

    /// Wall-clock instants of a grant as instants of the agent's (monotonic) clock.
    private static func deadlines(_ grant: ClientCertificateGrant, wallNow: Date, now: Duration) -> (Duration, Duration) {
        func instant(_ date: Date) -> Duration {
            now + .milliseconds(Int64((date.timeIntervalSince(wallNow) * 1000).rounded(.down)))
        }
        let expiresAt = instant(grant.notValidAfter)
        return (min(instant(grant.renewAfter), expiresAt), expiresAt)
    }
}
