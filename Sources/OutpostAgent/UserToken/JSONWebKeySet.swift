import Crypto
import Foundation
import OutpostCore
import _CryptoExtras

/// A JSON Web Key Set (RFC 7517) reduced to the keys that can verify user
/// tokens: RSA (RS256) and EC P-256 (ES256) signature keys with a `kid`.
///
/// Keys of other types, encryption keys and broken keys are skipped, not
/// fatal: identity providers publish mixed sets. Why each was skipped is kept
/// to explain a later "unknown key" refusal.
struct JSONWebKeySet: Sendable {
    /// Usable keys by `kid` (a set may give one id to keys of different types).
    var keys: [String: [JSONWebKey]]
    /// Why the key with this id was not usable (only keys that had an id).
    var skipped: [String: String]

    /// Number of usable keys.
    var count: Int { keys.values.reduce(0) { $0 + $1.count } }

    /// Parses a key set document.
    /// - Throws: a short cause when the document is not a key set at all.
    init(json bytes: [UInt8]) throws(KeySetFetchError) {
        guard let document = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw KeySetFetchError("the answer is not a JSON object")
        }
        guard let entries = document["keys"] as? [Any] else {
            throw KeySetFetchError("the answer has no \"keys\" array, so it is not a JSON Web Key Set")
        }
        var keys: [String: [JSONWebKey]] = [:]
        var skipped: [String: String] = [:]
        for entry in entries {
            guard let object = entry as? [String: Any], let kid = object["kid"] as? String, !kid.isEmpty else { continue }
            switch Self.key(kid: kid, object) {
            case .success(let key): keys[kid, default: []].append(key)
            case .failure(let why): skipped[kid] = why.cause
            }
        }
        self.keys = keys
        self.skipped = skipped.filter { keys[$0.key] == nil }
    }

    private static func key(kid: String, _ object: [String: Any]) -> Result<JSONWebKey, KeySetFetchError> {
        let kty = object["kty"] as? String
        if let use = object["use"] as? String, use != "sig" {
            return .failure(KeySetFetchError("it is for \"use\": \"\(use)\", not for signatures"))
        }
        if let operations = object["key_ops"] as? [Any], !operations.contains(where: { $0 as? String == "verify" }) {
            return .failure(KeySetFetchError("its \"key_ops\" do not include \"verify\""))
        }
        let alg = object["alg"] as? String
        func field(_ name: String) -> [UInt8]? {
            (object[name] as? String).flatMap { Base64URL.decode(Substring($0)) }
        }
        switch kty {
        case "RSA":
            guard let n = field("n"), let e = field("e") else {
                return .failure(KeySetFetchError("its RSA \"n\" or \"e\" is missing or not base64url"))
            }
            // swift-crypto refuses moduli under 2048 bits, as RFC 7518 §3.3 requires.
            guard let key = try? _RSA.Signing.PublicKey(n: n, e: e) else {
                return .failure(KeySetFetchError("its RSA modulus and exponent do not form a key of at least 2048 bits"))
            }
            return .success(JSONWebKey(kid: kid, alg: alg, material: .rsa(key)))
        case "EC":
            guard object["crv"] as? String == "P-256" else {
                return .failure(KeySetFetchError("its curve \"\((object["crv"] as? String) ?? "")\" is not P-256"))
            }
            guard let x = field("x"), let y = field("y"), x.count == 32, y.count == 32,
                let key = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            else {
                return .failure(KeySetFetchError("its \"x\" and \"y\" are not a point on P-256"))
            }
            return .success(JSONWebKey(kid: kid, alg: alg, material: .p256(key)))
        default:
            return .failure(KeySetFetchError("its type \"\(kty ?? "")\" is not RSA or EC"))
        }
    }
}
