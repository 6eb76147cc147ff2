/// What `UserTokenVerifier.verify` decided about a task's user token.
package enum UserTokenVerdict: Sendable, Equatable {
    /// The token verified; `subject` is its `sub` claim (recorded on the task).
    case accepted(subject: String)
    /// The token was refused; the task is `rejected` with `rejection.message`.
    case rejected(UserTokenRejection)
}

/// Why a user token was refused: a machine reason and one sentence for people.
///
/// The message names the reason and what it concerns (key id, issuer,
/// audience, expiry, key set URL); it never contains the token or any of its
/// three parts.
package struct UserTokenRejection: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Reason: String, Sendable, Equatable, CaseIterable {
        /// The task carries no user token.
        case missing
        /// Not a compact JWS of base64url JSON, or a required claim is absent or mistyped.
        case malformed
        /// `alg` is not RS256 or ES256 (`none`, HS*, ...), or does not match the chosen key.
        case unsupportedAlgorithm = "unsupported_algorithm"
        /// The header has no `kid`, so no key can be chosen.
        case missingKeyID = "missing_key_id"
        /// No usable key in the key set has the token's `kid`, also after a refresh.
        case unknownKey = "unknown_key"
        /// The signature does not verify with the chosen key.
        case badSignature = "bad_signature"
        /// `exp` is past (beyond the leeway).
        case expired
        /// `nbf` is still ahead (beyond the leeway).
        case notYetValid = "not_yet_valid"
        /// `iss` differs from the configured issuer.
        case wrongIssuer = "wrong_issuer"
        /// `aud` does not include the configured audience.
        case wrongAudience = "wrong_audience"
        /// The key set could not be fetched or parsed, so nothing can be verified.
        case keySetUnavailable = "key_set_unavailable"
    }

    package var reason: Reason
    /// One sentence naming the reason; never the token.
    package var message: String

    package init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    package var description: String { message }
}
