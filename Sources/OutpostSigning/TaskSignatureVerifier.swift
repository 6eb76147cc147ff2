package import Foundation
package import OutpostCore

/// A task signature that checked out: who signed, and what to remember against replay.
package struct VerifiedTaskSignature: Sendable, Equatable {
    /// The id of the key whose signature verified.
    package var kid: String
    package var nonce: String
    /// Until when the nonce must be remembered (the signature is dead after).
    package var expires: Date
}

/// Decides whether a task's signature lets it run: pure (keys, clock and the task in;
/// verdict out), so every refusal is tested without files, network or processes.
/// Replay is the caller's to check with the nonce it returns (`NonceJournal`).
///
/// The order of the checks is part of the guarantee: nothing from the payload is
/// believed before a trusted key's signature over the payload *and its type* has
/// verified; only then are the window, the content and the key's allowances read.
package struct TaskSignatureVerifier: Sendable {
    package var keys: TaskVerificationKeySet
    /// Clock difference tolerated on `not_before` and `expires`.
    package var leeway: TimeInterval

    package init(keys: TaskVerificationKeySet, leeway: TimeInterval = 30) {
        self.keys = keys
        self.leeway = leeway
    }

    /// Checks `envelope` against `expected`, what the agent is about to run.
    package func verify(_ envelope: SignedTaskEnvelope?, expected: SignedTaskContent, now: Date)
        -> Result<VerifiedTaskSignature, TaskSignatureRejection>
    {
        Result { () throws(TaskSignatureRejection) in try check(envelope, expected: expected, now: now) }
    }

    private func check(_ envelope: SignedTaskEnvelope?, expected: SignedTaskContent, now: Date)
        throws(TaskSignatureRejection) -> VerifiedTaskSignature
    {
        guard let envelope, !envelope.signatures.isEmpty else {
            throw TaskSignatureRejection(.missing, "the task is not signed, and this agent runs only signed tasks")
        }
        guard envelope.payloadType == SignedTaskPayload.payloadType else {
            throw TaskSignatureRejection(
                .wrongPayloadType,
                "the signature is for payload type \(UntrustedText.quote(envelope.payloadType)), "
                    + "not \(SignedTaskPayload.payloadType)")
        }
        guard envelope.signatures.count <= SignedTaskEnvelope.maxSignatures else {
            throw TaskSignatureRejection(
                .malformed, "the envelope carries \(envelope.signatures.count) signatures; at most "
                    + "\(SignedTaskEnvelope.maxSignatures) are read")
        }
        guard let payload = envelope.payloadBytes else {
            throw TaskSignatureRejection(.malformed, "the envelope's payload is not base64")
        }
        let kid = try verifySignatures(envelope, payload: payload)
        let signed: SignedTaskPayload
        do {
            signed = try SignedTaskPayload(canonical: payload)
        } catch {
            throw TaskSignatureRejection(.malformed, error.description)
        }
        try checkWindow(signed, now: now)
        let changed = signed.content.differences(from: expected)
        if !changed.isEmpty {
            throw TaskSignatureRejection(.changed(changed), Self.describe(changed, signed: signed.content, expected: expected))
        }
        if let key = keys.keys[kid], let refusal = key.refusal(for: signed.content) {
            throw TaskSignatureRejection(.keyNotAllowed, refusal)
        }
        guard (22...128).contains(signed.nonce.utf8.count), Base64URL.decode(Substring(signed.nonce)) != nil else {
            throw TaskSignatureRejection(.malformed, "the payload's nonce is not 16 to 96 bytes of base64url")
        }
        return VerifiedTaskSignature(
            kid: kid, nonce: signed.nonce, expires: Date(timeIntervalSince1970: TimeInterval(signed.expires)))
    }

    /// The id of the first trusted key whose signature verifies.
    private func verifySignatures(_ envelope: SignedTaskEnvelope, payload: [UInt8]) throws(TaskSignatureRejection)
        -> String
    {
        let message = SignedTaskEnvelope.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: payload)
        var failures: [String] = []
        for signature in envelope.signatures {
            guard let key = keys.keys[signature.keyid] else { continue }
            guard let bytes = SignedTaskEnvelope.decodeBase64(signature.sig) else {
                failures.append("the signature by key \(UntrustedText.quote(key.kid)) is not base64")
                continue
            }
            if key.isValidSignature(bytes, for: message) { return key.kid }
            failures.append(
                bytes.count == key.algorithm.signatureLength
                    ? "the signature by key \(UntrustedText.quote(key.kid)) does not verify (\(key.algorithm.displayName))"
                    : "the signature by key \(UntrustedText.quote(key.kid)) is \(bytes.count) bytes where "
                        + "\(key.algorithm.displayName) signatures have \(key.algorithm.signatureLength): truncated or "
                        + "not of this algorithm")
        }
        if let failure = failures.first { throw TaskSignatureRejection(.badSignature, failure) }
        let named = envelope.signatures.map { UntrustedText.quote($0.keyid) }.joined(separator: ", ")
        let skipped = envelope.signatures.compactMap { keys.skipped[$0.keyid] }.first.map {
            " (a key with that id is in the key set but unusable: \($0))"
        } ?? ""
        let trusted = keys.keyIDs.isEmpty ? "no keys" : keys.keyIDs.map { UntrustedText.quote($0) }.joined(separator: ", ")
        throw TaskSignatureRejection(
            .unknownKey, "the task is signed by key \(named), which this agent does not trust\(skipped); it trusts \(trusted)")
    }

    private func checkWindow(_ signed: SignedTaskPayload, now: Date) throws(TaskSignatureRejection) {
        guard signed.expires > signed.notBefore, signed.expires - signed.notBefore <= SignedTaskPayload.maxValiditySeconds
        else {
            throw TaskSignatureRejection(
                .validityTooLong,
                "the signature's validity window is not between 1 s and 24 h (not_before \(signed.notBefore), "
                    + "expires \(signed.expires))")
        }
        let notBefore = Date(timeIntervalSince1970: TimeInterval(signed.notBefore))
        let expires = Date(timeIntervalSince1970: TimeInterval(signed.expires))
        if now.addingTimeInterval(leeway) < notBefore {
            throw TaskSignatureRejection(
                .notYetValid, "the signature is not valid before \(WireJSON.formatDate(notBefore)) (this agent's clock says \(WireJSON.formatDate(now)))")
        }
        if now.addingTimeInterval(-leeway) >= expires {
            throw TaskSignatureRejection(
                .expired, "the signature expired at \(WireJSON.formatDate(expires)) (this agent's clock says \(WireJSON.formatDate(now)))")
        }
    }

    /// "the script differs from what was signed", naming the ids for a task id or target.
    private static func describe(_ fields: [SignedTaskContent.Field], signed: SignedTaskContent, expected: SignedTaskContent)
        -> String
    {
        let parts = fields.map { field -> String in
            switch field {
            case .taskID:
                "the task id (signed for \(UntrustedText.quote(signed.taskID)), handed over as \(UntrustedText.quote(expected.taskID)))"
            case .target:
                "the target (signed for \(UntrustedText.quote(signed.target)), handed over as \(UntrustedText.quote(expected.target)))"
            case .env:
                "the environment variables (\(changedKeys(signed.env, expected.env)))"
            default:
                field.phrase
            }
        }
        return "the task differs from what was signed: \(SignedTaskContent.list(parts)) \(parts.count == 1 ? "was" : "were") changed"
    }

    /// The names (never values) of variables added, removed or changed.
    private static func changedKeys(_ signed: [String: String], _ handed: [String: String]) -> String {
        let names = Set(signed.keys).union(handed.keys).filter { signed[$0] != handed[$0] }.sorted()
        return names.prefix(5).map { UntrustedText.quote($0) }.joined(separator: ", ") + (names.count > 5 ? ", …" : "")
    }
}
