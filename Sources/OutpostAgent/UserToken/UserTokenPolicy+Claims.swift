import Foundation
import OutpostCore

extension UserTokenPolicy {
    /// Checks the claims of a token whose signature has verified.
    /// - Returns: the subject (`sub`).
    /// - Throws: `.expired`, `.notYetValid`, `.wrongIssuer`, `.wrongAudience`,
    ///   or `.malformed` for a missing `exp` or `sub`.
    func checkClaims(_ claims: JSONWebToken.Claims, now: Date) throws(UserTokenRejection) -> String {
        let instant = now.timeIntervalSince1970
        let leeway = self.leeway.timeInterval
        guard let exp = claims.exp else {
            throw JSONWebToken.malformed("it has no \"exp\" claim; tokens that never expire are refused")
        }
        guard instant < exp + leeway else {
            throw UserTokenRejection(.expired, "user token expired at \(UserTokenText.date(exp))")
        }
        if let nbf = claims.nbf, instant + leeway < nbf {
            throw UserTokenRejection(.notYetValid, "user token is not valid before \(UserTokenText.date(nbf))")
        }
        if let issuer, claims.iss != issuer {
            let found = claims.iss.map { "issuer \(UserTokenText.quote($0))" } ?? "no issuer (iss)"
            throw UserTokenRejection(
                .wrongIssuer, "user token has \(found), not the expected \(UserTokenText.quote(issuer))")
        }
        if let audience, claims.aud?.contains(audience) != true {
            let found = claims.aud.map { "audience \(UserTokenText.list($0))" } ?? "no audience (aud)"
            throw UserTokenRejection(
                .wrongAudience, "user token has \(found), which does not include \(UserTokenText.quote(audience))")
        }
        guard let subject = claims.sub, !subject.isEmpty else {
            throw JSONWebToken.malformed("it has no \"sub\" claim naming the user")
        }
        return subject
    }
}

/// How values taken from a token appear in messages: quoted, shortened and
/// with control characters replaced, since the token's author chose them.
enum UserTokenText {
    static func quote(_ text: String, limit: Int = 80) -> String {
        UntrustedText.quote(text, limit: limit)
    }

    static func list(_ values: [String]) -> String {
        "[" + values.prefix(10).map { quote($0) }.joined(separator: ", ") + (values.count > 10 ? ", …" : "") + "]"
    }

    static func date(_ seconds: Double) -> String {
        guard seconds.magnitude < 1e12 else { return "\(seconds) s after 1970" }
        return Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}
