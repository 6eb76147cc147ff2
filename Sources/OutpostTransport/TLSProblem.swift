/// Why a TLS handshake with the hub failed, found by `TLSDiagnosis` in the
/// certificates the hub presented; `description` is one line naming the cause.
package struct TLSProblem: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// A certificate of the chain is past its end date.
        case expired
        /// A certificate of the chain is not valid yet (or this host's clock is behind).
        case notYetValid
        /// The hub's certificate is for other names than the host the client dials.
        case wrongHost
        /// The chain does not lead to a certificate the client trusts.
        case untrustedIssuer
        /// No certificate the hub presents has the pinned SHA-256.
        case pinMismatch
    }

    package var kind: Kind
    /// What is wrong and what to do, e.g. `the hub's certificate expired on
    /// 2026-12-01 08:00 UTC (CN=hub.internal)`.
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
