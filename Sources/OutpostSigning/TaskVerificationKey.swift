package import Crypto
package import OutpostCore

/// A public key an agent trusts to sign tasks: its id, its algorithm, and what it
/// may sign for (`allowed_targets`, `allowed_tags` in the key set).
package struct TaskVerificationKey: Sendable {
    package enum Material: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    package var kid: String
    package var material: Material
    /// Glob patterns of target names this key may sign for; `nil`: any target.
    package var allowedTargets: [TagPattern]?
    /// Tag patterns that every tag of a signed task's target must match; `nil`: any tags.
    package var allowedTags: [TagPattern]?

    package init(kid: String, material: Material, allowedTargets: [TagPattern]? = nil, allowedTags: [TagPattern]? = nil) {
        self.kid = kid
        self.material = material
        self.allowedTargets = allowedTargets
        self.allowedTags = allowedTags
    }

    package var algorithm: TaskKeyAlgorithm {
        switch material {
        case .ed25519: .ed25519
        case .p256: .es256
        }
    }

    /// Whether `signature` is this key's signature of `message` (DSSE's PAE bytes).
    /// A signature of the wrong length is never valid (a truncated one included).
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == algorithm.signatureLength else { return false }
        switch material {
        case .ed25519(let key):
            return key.isValidSignature(signature, for: message)
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        }
    }

    /// The public members of the key as a JWK (RFC 7517; OKP per RFC 8037).
    package var publicMembers: [(key: String, value: JSONValue)] {
        switch material {
        case .ed25519(let key):
            return [
                ("kty", .string("OKP")), ("crv", .string("Ed25519")),
                ("x", .string(Base64URL.encode(Array(key.rawRepresentation)))),
            ]
        case .p256(let key):
            let point = Array(key.x963Representation)  // 0x04 ‖ x ‖ y
            return [
                ("kty", .string("EC")), ("crv", .string("P-256")),
                ("x", .string(Base64URL.encode(Array(point[1..<33])))),
                ("y", .string(Base64URL.encode(Array(point[33..<65])))),
            ]
        }
    }

    /// RFC 7638 thumbprint (SHA-256, base64url): the default key id of a generated key.
    package var thumbprint: String {
        // The required members, sorted and without spaces: exactly RFC 8785's output.
        let bytes = (try? CanonicalJSON.encode(.object(publicMembers))) ?? []
        return Base64URL.encode(Array(SHA256.hash(data: bytes)))
    }

    /// The key as a JWK object of a key set: public members, `kid`, `alg`, `use`, and
    /// the allowances when set.
    package var jwk: JSONValue {
        var members = publicMembers
        members += [("kid", .string(kid)), ("alg", .string(algorithm.rawValue)), ("use", .string("sig"))]
        if let allowedTargets { members.append(("allowed_targets", .array(allowedTargets.map { .string($0.pattern) }))) }
        if let allowedTags { members.append(("allowed_tags", .array(allowedTags.map { .string($0.pattern) }))) }
        return .object(members)
    }

    /// Why this key may not sign for `content`, or `nil` when it may.
    package func refusal(for content: SignedTaskContent) -> String? {
        if let allowedTargets, !allowedTargets.contains(where: { $0.matches(content.target) }) {
            return "key \(UntrustedText.quote(kid)) may not sign tasks for target \(UntrustedText.quote(content.target)) "
                + "(its allowed_targets: \(allowedTargets.map(\.pattern).joined(separator: ", ")))"
        }
        if let allowedTags, let tag = allowedTags.firstDisallowed(in: TagSet(content.tags)) {
            return "key \(UntrustedText.quote(kid)) may not sign tasks for targets tagged \(UntrustedText.quote(tag)) "
                + "(its allowed_tags: \(allowedTags.map(\.pattern).joined(separator: ", ")))"
        }
        return nil
    }
}
