import Crypto
import _CryptoExtras

/// One verification key from the key set: an RSA key (RS256) or a P-256 key
/// (ES256), with the id and algorithm the key set gave it.
struct JSONWebKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    var kid: String
    /// `alg` as the key set announced it; when set, only that algorithm may use the key.
    var alg: String?
    var material: Material

    /// The only algorithm this kind of key verifies.
    var algorithm: String {
        switch material {
        case .rsa: "RS256"
        case .p256: "ES256"
        }
    }

    /// For messages: "an RSA key" / "an EC P-256 key".
    var kindDescription: String {
        switch material {
        case .rsa(let key): "an RSA key (\(key.keySizeInBits) bits)"
        case .p256: "an EC P-256 key"
        }
    }

    /// Whether a token with header `alg` may be checked with this key: the
    /// algorithm must fit the key's type, and the key set's `alg` when it gave one.
    /// (An HMAC algorithm fits no key: this is what defeats "HS256 signed with
    /// the RSA public key".)
    func accepts(algorithm tokenAlgorithm: String) -> Bool {
        tokenAlgorithm == algorithm && (alg == nil || alg == tokenAlgorithm)
    }

    /// Whether `signature` is a valid signature of `input` under this key.
    func isValidSignature(_ signature: [UInt8], for input: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: input)
        switch material {
        case .rsa(let key):
            // RSASSA-PKCS1-v1_5 is what RS256 means (RFC 7518 §3.3); "insecure" is
            // swift-crypto's label for the padding, which is sound for signatures.
            return key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .p256(let key):
            // JWS carries r||s (64 bytes), not DER (RFC 7518 §3.4).
            guard signature.count == 64, let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return key.isValidSignature(parsed, for: digest)
        }
    }
}
