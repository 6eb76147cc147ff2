package import Foundation

/// An AWS access key pair, with the session token and expiry of temporary
/// credentials. `description` shows none of the secret parts.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    /// Set for temporary credentials (STS, container, IMDS); sent as `X-Amz-Security-Token`.
    package var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    package var expiration: Date?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The access key id's first four characters (`AKIA`, `ASIA`) and its length:
    /// enough to tell key kinds apart in a log, nothing to reuse.
    package var maskedAccessKeyID: String {
        "\(accessKeyID.prefix(4))…(\(accessKeyID.count) chars)"
    }

    package var description: String {
        var text = "AWSCredentials(access key \(maskedAccessKeyID), secret hidden"
        if sessionToken != nil { text += ", session token hidden" }
        if let expiration { text += ", expires \(expiration)" }
        return text + ")"
    }

    /// The strings that must never appear in a message: secret key, session token.
    var secrets: [String] { [secretAccessKey] + (sessionToken.map { [$0] } ?? []) }
}

extension AWSCredentials {
    /// Parses the `Expiration` of STS, container and IMDS answers
    /// (`2026-11-22T04:05:06Z`, with or without fractional seconds or an offset).
    static func parseTimestamp(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: trimmed) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: trimmed) { return date }
        // Some endpoints send epoch seconds.
        return Double(trimmed).map { Date(timeIntervalSince1970: $0) }
    }
}
