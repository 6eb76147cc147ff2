import Crypto

/// Hashes bearer tokens for storage and compares hashes without leaking timing.
///
/// Tokens carry 256 bits of randomness, so a plain SHA-256 (no salt, no stretching)
/// is enough: the hub stores only the hash and finds a token by it.
enum TokenHasher {
    /// Lower-case hex SHA-256 of the token's UTF-8 bytes.
    static func hash(_ token: String) -> String {
        let digest = SHA256.hash(data: Array(token.utf8))
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `true` when both strings are equal, in time that depends only on their lengths.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// The readable prefixes of the three kinds of bearer token (`Identifiers.token(prefix:)`).
enum TokenKind: String, CaseIterable {
    /// A named API token (any role), for the user API.
    case admin = "opa"
    /// An agent type's registration token, only for `register`.
    case registration = "opr"
    /// An agent session token, only for `/api/v1/agent/*`.
    case agent = "opg"

    /// What a token was meant for, judged by its prefix (used only to word errors).
    init?(of token: String) {
        guard let underscore = token.firstIndex(of: "_") else { return nil }
        self.init(rawValue: String(token[..<underscore]))
    }

    var label: String {
        switch self {
        case .admin: "an API token"
        case .registration: "an agent type's registration token"
        case .agent: "an agent token"
        }
    }
}
