import Foundation

/// Reading the answers of Google's token services: the OAuth token endpoint
/// (JWT bearer and refresh-token grants), STS (token exchange), the metadata
/// server, and the IAM Credentials API (`generateAccessToken`).
enum GCPTokenAnswer {
    /// The token of an OAuth answer (`access_token`, `expires_in`); for an error
    /// status, `.denied` or `.unreachable` (408, 429, 5xx) quoting the service's
    /// `error: error_description`, with every string of `hiding` replaced.
    static func oauth(
        _ response: SecretHTTP.Response, source: String, hiding: [String]
    ) throws(SecretError) -> OAuthToken {
        guard (200..<300).contains(response.status) else {
            let body = try? JSONDecoder().decode(OAuthErrorResponse.self, from: Data(response.body))
            var reason = [body?.error, body?.errorDescription].compactMap { $0 }.joined(separator: ": ")
            if body == nil || reason.isEmpty { reason = apiReason(response) ?? response.text }
            throw failure(status: response.status, "\(source) refused the token request", reason: reason, hiding: hiding)
        }
        return try response.json(OAuthTokenResponse.self, what: source).token()
    }

    /// The error for a refused token request: `.unreachable` for 408, 429 and 5xx
    /// (asking again may work), else `.denied`.
    static func failure(status: Int, _ what: String, reason: String, hiding: [String]) -> SecretError {
        let reason = CloudText.scrubbed(reason, hiding: hiding)
        let detail = "\(what) with HTTP \(status)" + (reason.isEmpty ? "" : " (\(reason))")
        switch status {
        case 408, 429, 500...599: return SecretError(.unreachable, detail)
        default: return SecretError(.denied, detail)
        }
    }

    /// `STATUS: message` of a Google API error body `{"error": {"code", "message", "status"}}`.
    static func apiReason(_ response: SecretHTTP.Response) -> String? {
        struct Body: Decodable {
            struct Inner: Decodable {
                var message: String?
                var status: String?
            }
            var error: Inner?
        }
        guard let inner = (try? JSONDecoder().decode(Body.self, from: Data(response.body)))?.error else { return nil }
        let text = [inner.status, inner.message].compactMap { $0 }.joined(separator: ": ")
        return text.isEmpty ? nil : text
    }

    /// The token of a `generateAccessToken` answer: `{"accessToken", "expireTime"}`
    /// (RFC 3339, `2026-01-01T12:00:00Z`).
    static func impersonated(
        _ response: SecretHTTP.Response, source: String, hiding: [String], now: Date = Date()
    ) throws(SecretError) -> OAuthToken {
        guard (200..<300).contains(response.status) else {
            throw failure(
                status: response.status, "\(source) refused to issue a token", reason: apiReason(response) ?? response.text,
                hiding: hiding)
        }
        struct Answer: Decodable {
            var accessToken: String
            var expireTime: String?
        }
        let answer = try response.json(Answer.self, what: source)
        let expires = answer.expireTime.flatMap(AWSCredentials.parseTimestamp)
        let seconds = expires.map { $0.timeIntervalSince(now) } ?? 0
        return OAuthToken(value: answer.accessToken, lifetime: .seconds(max(0, Int64(seconds))))
    }
}
