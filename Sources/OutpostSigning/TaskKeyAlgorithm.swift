/// The signature algorithms a task may be signed with. Nothing else is accepted:
/// no RSA (large keys, padding choices), no HMAC (a shared secret the hub could hold),
/// no `none`.
package enum TaskKeyAlgorithm: String, Sendable, CaseIterable {
    /// Ed25519 (RFC 8032), JOSE name `EdDSA`, JWK `kty: OKP, crv: Ed25519`. The default.
    case ed25519 = "EdDSA"
    /// ECDSA on P-256 with SHA-256, JOSE name `ES256`, JWK `kty: EC, crv: P-256`.
    case es256 = "ES256"

    /// How `--algorithm` spells it: `ed25519` or `es256`.
    package var flagName: String {
        switch self {
        case .ed25519: "ed25519"
        case .es256: "es256"
        }
    }

    package init?(flagName: String) {
        guard let match = Self.allCases.first(where: { $0.flagName == flagName.lowercased() }) else { return nil }
        self = match
    }

    /// Bytes of every signature of this algorithm (ES256: r‖s, as JOSE writes it).
    package var signatureLength: Int { 64 }

    /// For messages: "Ed25519" / "ES256 (P-256)".
    package var displayName: String {
        switch self {
        case .ed25519: "Ed25519"
        case .es256: "ES256 (P-256)"
        }
    }
}
