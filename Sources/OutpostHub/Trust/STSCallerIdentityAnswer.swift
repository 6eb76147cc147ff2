import Foundation
import OutpostCore

/// STS's answer to a replayed `GetCallerIdentity`: the caller's `Account`,
/// `Arn` and `UserId`, or the refusal or failure it stands for.
struct STSCallerIdentityAnswer: Sendable, Equatable {
    var account: String
    var arn: String
    var userID: String

    /// STS error codes that mean "try again later", not "this identity is wrong".
    static let transientCodes: Set<String> = [
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure",
        "InternalError", "RegionDisabledException",
    ]

    /// Reads an answer.
    /// - Parameters:
    ///   - endpoint: the STS host, for messages.
    ///   - redact: strings to cut out of STS's message (a session token: some
    ///     signature errors echo the canonical request).
    /// - Throws: `.identityRefused` naming STS's code and message for a 4xx;
    ///   `.stsUnavailable` for a redirect, a 5xx, throttling, or a 2xx that is not
    ///   a `GetCallerIdentityResult`.
    init(status: Int, body: String, endpoint: String, redact: [String]) throws(HubError) {
        guard (200..<300).contains(status) else {
            let code = AWSXML.firstValue(of: "Code", in: body).map { Self.oneLine($0, redact: redact) }
            let message = AWSXML.firstValue(of: "Message", in: body).map { Self.oneLine($0, redact: redact) }
            let said = [code, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            let detail = "HTTP \(status)" + (said.isEmpty ? "" : " \(said)")
            if (300..<400).contains(status) {
                throw HubError(
                    .stsUnavailable,
                    "the STS endpoint \(endpoint) answered a redirect (\(detail)), which the hub does not follow")
            }
            if status >= 500 || status == 429 || code.map(Self.transientCodes.contains) == true {
                throw HubError(.stsUnavailable, "the STS endpoint \(endpoint) failed (\(detail)); try again later")
            }
            throw HubError(.identityRefused, "STS refused the agent's signed GetCallerIdentity request: \(detail)")
        }
        guard body.contains("GetCallerIdentityResult"),
            let account = AWSXML.firstValue(of: "Account", in: body).map(Self.trimmed), !account.isEmpty,
            let arn = AWSXML.firstValue(of: "Arn", in: body).map(Self.trimmed), !arn.isEmpty
        else {
            throw HubError(
                .stsUnavailable,
                "the STS endpoint \(endpoint) answered HTTP \(status) "
                    + "without a GetCallerIdentityResult holding Account and Arn")
        }
        self.account = account
        self.arn = arn
        userID = AWSXML.firstValue(of: "UserId", in: body).map(Self.trimmed) ?? ""
    }

    private static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// STS's words on one line, at most 300 characters, with `redact` cut out.
    static func oneLine(_ text: String, redact: [String]) -> String {
        var line = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for secret in redact where secret.count >= 8 {
            line = line.replacingOccurrences(of: secret, with: "[REDACTED]")
        }
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
