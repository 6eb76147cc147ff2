import Foundation
import OutpostCore
import NIOHTTP1

/// An AWS API error answer (JSON `__type`/`message`, Query-protocol XML
/// `<Code>`/`<Message>`, or the `X-Amzn-ErrorType` header) and the one place
/// that maps AWS error codes to `SecretError` codes.
struct AWSServiceError: Sendable, Equatable {
    /// HTTP status of the answer.
    var status: Int
    /// AWS error code without namespace (`ResourceNotFoundException`), or `nil` if none was given.
    var code: String?
    /// AWS's message, whitespace collapsed and cut short; never a credential (see `secretError`).
    var message: String

    /// Reads the error out of a non-2xx answer.
    init(response: SecretHTTP.Response) {
        status = response.status
        let text = response.text
        var code: String?
        var message: String?
        if let header = response.headers.first(name: "x-amzn-errortype"), !header.isEmpty {
            code = Self.stripNamespace(String(header.split(separator: ":").first ?? Substring(header)))
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] {
            if let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String {
                code = code ?? Self.stripNamespace(type)
            }
            message = (object["message"] ?? object["Message"]) as? String
        } else if text.hasPrefix("<") || text.contains("<?xml") {
            code = code ?? AWSXML.firstValue(of: "Code", in: text)
            message = AWSXML.firstValue(of: "Message", in: text)
        }
        self.code = code
        self.message = message ?? ""
    }

    init(status: Int, code: String?, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// `com.amazonaws.secretsmanager#ResourceNotFoundException` → `ResourceNotFoundException`.
    static func stripNamespace(_ type: String) -> String {
        String(type.split(separator: "#").last ?? Substring(type)).trimmingCharacters(in: .whitespaces)
    }

    static let notFoundCodes: Set<String> = ["ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException"]
    static let deniedCodes: Set<String> = [
        "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
        "SignatureDoesNotMatch", "IncompleteSignature", "InvalidClientTokenId", "ExpiredTokenException",
        "ExpiredToken", "MissingAuthenticationToken", "MissingAuthenticationTokenException", "InvalidToken",
        "InvalidIdentityToken", "IDPRejectedClaim", "AuthFailure", "RequestExpired", "DecryptionFailure",
        "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException",
        "RegionDisabledException", "NotAuthorized", "OptInRequired",
    ]
    static let unreachableCodes: Set<String> = [
        "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
        "InternalServiceError", "InternalServiceErrorException", "InternalFailure", "InternalError",
        "ServiceUnavailable", "ServiceUnavailableException", "IDPCommunicationError", "RequestTimeout",
        "RequestTimeoutException", "PriorRequestNotComplete",
    ]

    /// Whether fresh credentials could help (an expired or unknown session).
    var isExpiredCredentials: Bool {
        ["ExpiredTokenException", "ExpiredToken", "RequestExpired", "InvalidClientTokenId", "UnrecognizedClientException"]
            .contains(code ?? "")
    }

    /// The `SecretError` of this answer: `what` names the call
    /// (`Secrets Manager GetSecretValue`); `secrets` are removed from AWS's message.
    func secretError(what: String, secrets: [String]) -> SecretError {
        let detail = "\(what) answered HTTP \(status)" + (code.map { " \($0)" } ?? "")
            + (message.isEmpty ? "" : ": \(Self.sanitize(message, secrets: secrets))")
        let errorCode: SecretError.Code
        if let code, Self.notFoundCodes.contains(code) {
            errorCode = .notFound
        } else if let code, Self.deniedCodes.contains(code) {
            errorCode = .denied
        } else if let code, Self.unreachableCodes.contains(code) {
            errorCode = .unreachable
        } else if code == "InvalidRequestException", message.lowercased().contains("delet") {
            // GetSecretValue on a secret scheduled for deletion.
            errorCode = .notFound
        } else {
            errorCode = SecretHTTP.error(status: status, detail: "").code
        }
        return SecretError(errorCode, detail)
    }

    /// AWS's message on one line, at most 300 characters, with `secrets` cut out:
    /// some services echo the canonical request (and with it a session token).
    static func sanitize(_ message: String, secrets: [String]) -> String {
        var text = message.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for secret in secrets where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "[REDACTED]")
        }
        if text.count > 300 { text = String(text.prefix(300)) + "…" }
        return text
    }
}
