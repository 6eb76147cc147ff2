package import Crypto
package import Foundation
package import OutpostCore

/// Signs a task as its submitter: builds the payload (content, validity window,
/// nonce), serializes it canonically and signs its DSSE pre-authentication encoding.
package struct TaskSigner: Sendable {
    /// How long a signature stays valid when the caller does not say. Long enough for
    /// a queued task to reach an agent, short enough that a captured one soon expires.
    package static let defaultValidity: Duration = .seconds(600)
    /// Tolerated clock difference between signer and agent: `not_before` is set this
    /// far in the past so a slightly slow agent clock does not refuse a fresh task.
    package static let backdating: Int64 = 60

    package let key: TaskSigningKey

    package init(key: TaskSigningKey) {
        self.key = key
    }

    /// The envelope for `content`, valid from `now` for `validity`.
    /// - Throws: `SigningKeyError` when the validity is out of range or the key fails to sign.
    package func sign(_ content: SignedTaskContent, now: Date, validity: Duration = Self.defaultValidity)
        throws(SigningKeyError) -> SignedTaskEnvelope
    {
        let seconds = validity.components.seconds
        guard seconds > 0, seconds <= SignedTaskPayload.maxValiditySeconds - Self.backdating else {
            throw SigningKeyError("a signature may be valid for 1 s to 23 h 59 min, not \(validity)")
        }
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        let payload = SignedTaskPayload(
            content: content, notBefore: issued - Self.backdating, expires: issued + seconds, nonce: Self.makeNonce())
        do {
            let bytes = try payload.canonicalBytes()
            let signature = try key.sign(
                SignedTaskEnvelope.preAuthenticationEncoding(payloadType: SignedTaskPayload.payloadType, payload: bytes))
            return SignedTaskEnvelope.make(payload: bytes, keyID: key.kid, signature: signature)
        } catch {
            throw SigningKeyError("the task could not be signed: \(error)")
        }
    }

    /// 16 random bytes, base64url.
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Lowercase hex SHA-256 of the script's UTF-8 bytes: how a payload names a script.
    package static func scriptDigest(_ script: String) -> String {
        SHA256.hash(data: Array(script.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
