import Foundation
import OutpostCore

/// A user token in JWS compact serialization (`header.payload.signature`,
/// RFC 7515/7519), parsed but not yet trusted: nothing here is believed until
/// `UserTokenVerifier` has checked the signature.
///
/// Parsing never crashes and never quotes the token; every failure is a
/// `.malformed` rejection saying which part is wrong.
struct JSONWebToken: Sendable {
    /// The protected header.
    struct Header: Sendable {
        /// The signature algorithm as written (`RS256`, `ES256`, or something refused later).
        var alg: String
        /// The key id; `nil` when absent.
        var kid: String?
        /// The media type, informational only (`JWT`, `at+jwt`, ...).
        var typ: String?
    }

    /// The registered claims the agent checks; numeric dates as seconds since the epoch.
    struct Claims: Sendable {
        var sub: String?
        var iss: String?
        /// `aud` as a list, whether the token wrote a string or an array.
        var aud: [String]?
        var exp: Double?
        var nbf: Double?
        var iat: Double?
    }

    var header: Header
    var claims: Claims
    /// `header.payload` exactly as received: what the signature covers.
    var signingInput: [UInt8]
    var signature: [UInt8]

    /// Longest token accepted; real ones are a few kilobytes.
    static let maximumLength = 16 << 10

    /// Parses `text` (surrounding whitespace ignored: token files end with a newline).
    /// - Throws: `.missing` for no or empty text, `.malformed` otherwise.
    init(compact text: String?) throws(UserTokenRejection) {
        let token = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw UserTokenRejection(.missing, "the task carries no user token") }
        guard token.utf8.count <= Self.maximumLength else {
            throw Self.malformed("it is longer than \(Self.maximumLength) bytes")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 5 { throw Self.malformed("it is an encrypted token (JWE); only signed tokens (JWS) are accepted") }
        guard parts.count == 3 else {
            throw Self.malformed("expected three base64url parts separated by dots, found \(parts.count)")
        }
        guard let headerBytes = Base64URL.decode(parts[0]), !headerBytes.isEmpty else {
            throw Self.malformed("the header is not base64url")
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), !payloadBytes.isEmpty else {
            throw Self.malformed("the payload is not base64url")
        }
        guard let signature = Base64URL.decode(parts[2]) else { throw Self.malformed("the signature is not base64url") }
        self.header = try Self.decodeHeader(headerBytes)
        self.claims = try Self.decodeClaims(payloadBytes)
        self.signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        self.signature = signature
    }

    static func malformed(_ why: String) -> UserTokenRejection {
        UserTokenRejection(.malformed, "user token is malformed: \(why)")
    }

    private static func decodeHeader(_ bytes: [UInt8]) throws(UserTokenRejection) -> Header {
        let object = try jsonObject(bytes, part: "header")
        guard let alg = object["alg"] as? String else { throw malformed("the header has no \"alg\" string") }
        // Critical extensions must be understood or refused (RFC 7515 §4.1.11); we understand none.
        if object["crit"] != nil { throw malformed("the header lists critical extensions (\"crit\"), which are not supported") }
        let kid = object["kid"]
        guard kid == nil || kid is String else { throw malformed("the header's \"kid\" is not a string") }
        return Header(alg: alg, kid: kid as? String, typ: object["typ"] as? String)
    }

    private static func decodeClaims(_ bytes: [UInt8]) throws(UserTokenRejection) -> Claims {
        let object = try jsonObject(bytes, part: "payload")
        var claims = Claims()
        claims.sub = try string(object, "sub")
        claims.iss = try string(object, "iss")
        switch object["aud"] {
        case nil: break
        case let single as String: claims.aud = [single]
        case let list as [Any]:
            let strings = list.compactMap { $0 as? String }
            guard strings.count == list.count else { throw malformed("the \"aud\" claim has a member that is not a string") }
            claims.aud = strings
        default: throw malformed("the \"aud\" claim is neither a string nor an array of strings")
        }
        claims.exp = try numericDate(object, "exp")
        claims.nbf = try numericDate(object, "nbf")
        claims.iat = try numericDate(object, "iat")
        return claims
    }

    /// One JSON object; JSON `null` members are dropped (an absent claim).
    private static func jsonObject(_ bytes: [UInt8], part: String) throws(UserTokenRejection) -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)), let object = value as? [String: Any] else {
            throw malformed("the \(part) is not a JSON object")
        }
        return object.filter { !($0.value is NSNull) }
    }

    private static func string(_ object: [String: Any], _ name: String) throws(UserTokenRejection) -> String? {
        guard let value = object[name] else { return nil }
        guard let text = value as? String else { throw malformed("the \"\(name)\" claim is not a string") }
        return text
    }

    /// A NumericDate (RFC 7519 §2): a JSON number, possibly fractional. JSON
    /// `true`/`false` are refused although Foundation would bridge them to 1/0.
    private static func numericDate(_ object: [String: Any], _ name: String) throws(UserTokenRejection) -> Double? {
        guard let value = object[name] else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number), number.doubleValue.isFinite else {
            throw malformed("the \"\(name)\" claim is not a number of seconds since the epoch")
        }
        return number.doubleValue
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        // JSONSerialization (Darwin and swift-corelibs-foundation) gives JSON
        // booleans the `char` type and numbers `int`, `long long` or `double`.
        String(cString: number.objCType) == "c"
    }
}
