import Foundation
import NIOHTTP1

/// One Vault server as the provider talks to it: URLs under `/v1/`, the
/// namespace and token headers, a custom CA, and Vault's `{"errors": [...]}`
/// bodies turned into error details with every credential scrubbed out.
struct VaultClient: Sendable {
    let http: SecretHTTP
    let address: String
    let namespace: String?
    let tls: VaultTLS?

    /// Sends `method` to `/v1/<apiPath>[?query]`; never throws for an HTTP status.
    /// - Throws: `.unreachable` when Vault does not answer.
    func send(
        _ method: HTTPMethod, _ apiPath: String, query: String? = nil, token: String?, json body: [String: String]? = nil
    ) async throws(SecretError) -> SecretHTTP.Response {
        let url = address + "/v1/" + apiPath + (query.map { "?" + $0 } ?? "")
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token { headers.append(("X-Vault-Token", token)) }
        if let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        var bytes: [UInt8]?
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = Array((try? JSONEncoder().encode(body)) ?? Data())
        }
        if let tls { return try await tls.send(http, method, url, headers: headers, body: bytes) }
        return try await http.send(method, url, headers: headers, body: bytes)
    }

    /// Vault's own words for a failed request: the `errors` list joined, or the
    /// start of the body when it is not Vault's JSON; credentials scrubbed.
    static func errorText(_ response: SecretHTTP.Response, credentials: [String]) -> String {
        let text: String
        if let body = try? JSONDecoder().decode(VaultErrorBody.self, from: Data(response.body)), let errors = body.errors {
            // Vault wraps multi-errors as "1 error occurred:\n\t* permission denied\n\n".
            let cleaned = errors.map { error in
                error.replacingOccurrences(of: #"^\d+ errors? occurred:\s*"#, with: "", options: .regularExpression)
                    .replacingOccurrences(of: "* ", with: "")
            }
            text = cleaned.joined(separator: "; ")
        } else {
            text = response.text
        }
        let redacted = CredentialFile.redact(text, removing: credentials)
        return redacted.isEmpty ? "no error message" : redacted
    }

    /// The error for a failed data request: Vault's status mapped the common way, its words as detail.
    static func failure(
        _ response: SecretHTTP.Response, _ what: String, credentials: [String]
    ) -> SecretError {
        SecretHTTP.error(
            status: response.status, detail: "Vault refused \(what): \(errorText(response, credentials: credentials))")
    }
}

/// `{"errors": ["..."]}`, Vault's error body.
struct VaultErrorBody: Decodable {
    var errors: [String]?
}

/// The `auth` block of a login reply.
struct VaultLoginBody: Decodable {
    struct Auth: Decodable {
        var clientToken: String
        /// Seconds the token lives; 0 for a token without expiry.
        var leaseDuration: Int?

        enum CodingKeys: String, CodingKey {
            case clientToken = "client_token"
            case leaseDuration = "lease_duration"
        }
    }

    var auth: Auth?
}

/// A KV v1 read: `data` is the secret.
struct VaultKV1Body: Decodable {
    var data: JSONValue?
}

/// A KV v2 read: `data.data` is the secret, `data.metadata` says which version
/// (and whether it was deleted; a 404 for a deleted version carries it too).
struct VaultKV2Body: Decodable {
    struct Version: Decodable {
        var data: JSONValue?
        var metadata: Metadata?
    }

    struct Metadata: Decodable {
        var version: Int?
        var deletionTime: String?
        var destroyed: Bool?

        enum CodingKeys: String, CodingKey {
            case version
            case deletionTime = "deletion_time"
            case destroyed
        }
    }

    var data: Version?
}

/// A LIST reply: `data.keys`, folders ending in `/`.
struct VaultListBody: Decodable {
    struct Keys: Decodable {
        var keys: [String]
    }

    var data: Keys
}
