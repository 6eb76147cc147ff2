import Foundation

/// An access token from an OAuth token endpoint (Entra ID, Azure IMDS, Google)
/// and how long the endpoint said it is good for.
struct OAuthToken: Sendable {
    /// The bearer token; never logged, never in an error.
    var value: String
    /// Time left until it expires, as of receipt.
    var lifetime: Duration
}

/// The fields of a successful token response that the cloud providers read.
///
/// Entra ID and Google send `expires_in` as a JSON number; IMDS and App Service
/// send numbers as strings and add `expires_on` (seconds since 1970).
struct OAuthTokenResponse: Decodable {
    var accessToken: String
    var expiresIn: Int64?
    var expiresOn: Int64?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case expiresIn = "expires_in"
        case expiresOn = "expires_on"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.decode(String.self, forKey: .accessToken)
        expiresIn = Self.number(container, .expiresIn)
        expiresOn = Self.number(container, .expiresOn)
    }

    private static func number(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) -> Int64? {
        if let value = try? container.decode(Int64.self, forKey: key) { return value }
        if let text = try? container.decode(String.self, forKey: key) { return Int64(text) }
        return nil
    }

    /// The token with its lifetime; a response without any expiry is used once only.
    func token(now: Date = Date()) -> OAuthToken {
        let seconds: Int64
        if let expiresIn {
            seconds = expiresIn
        } else if let expiresOn {
            seconds = expiresOn - Int64(now.timeIntervalSince1970)
        } else {
            seconds = 0
        }
        return OAuthToken(value: accessToken, lifetime: .seconds(max(0, seconds)))
    }
}

/// The error body of an OAuth token endpoint: `{"error": "invalid_client", "error_description": "..."}`.
struct OAuthErrorResponse: Decodable {
    var error: String?
    var errorDescription: String?

    enum CodingKeys: String, CodingKey {
        case error
        case errorDescription = "error_description"
    }
}

/// Text helpers shared by the Azure and GCP providers.
enum CloudText {
    /// Characters left as they are in a query value or form field (RFC 3986 unreserved).
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `value` percent-encoded for a URL query or an `application/x-www-form-urlencoded` body.
    static func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ fields: [(String, String)]) -> [UInt8] {
        Array(fields.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&").utf8)
    }

    /// A store's own words, made safe for an error detail: the first line only,
    /// any credential we hold replaced, and cut to `limit` characters. Stores do
    /// not echo credentials, but an error message is the last place one may leak.
    static func scrubbed(_ text: String, hiding credentials: [String], limit: Int = 300) -> String {
        var line = String(text.split(whereSeparator: \.isNewline).first ?? "").trimmingCharacters(in: .whitespaces)
        for credential in credentials where credential.count >= 4 {
            line = line.replacingOccurrences(of: credential, with: "[hidden]")
        }
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }

    /// Whether `candidate` points at the same scheme, host and port as `base`, so a
    /// bearer token may be sent there (a paging link must not carry it elsewhere).
    static func sameOrigin(_ candidate: String, _ base: String) -> Bool {
        guard let left = URLComponents(string: candidate), let right = URLComponents(string: base),
            let leftScheme = left.scheme?.lowercased(), let rightScheme = right.scheme?.lowercased(),
            let leftHost = left.host?.lowercased(), let rightHost = right.host?.lowercased()
        else { return false }
        func port(_ components: URLComponents, _ scheme: String) -> Int {
            components.port ?? (scheme == "https" ? 443 : 80)
        }
        return leftScheme == rightScheme && leftHost == rightHost && port(left, leftScheme) == port(right, rightScheme)
    }

    /// Whether every character of `text` is an ASCII letter, digit, or one of `extra`.
    static func isPlain(_ text: some StringProtocol, extra: String = "") -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || extra.unicodeScalars.contains(scalar))
        }
    }

    /// The contents of a credential file without the trailing newline editors add.
    /// - Throws: `.invalidConfiguration` naming the file (never its contents).
    static func readCredentialFile(_ path: String, option: String) throws(SecretError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(.invalidConfiguration, "\(option) \(path) cannot be read (missing or not readable by the agent)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw SecretError(.invalidConfiguration, "\(option) \(path) is empty") }
        return text
    }
}
