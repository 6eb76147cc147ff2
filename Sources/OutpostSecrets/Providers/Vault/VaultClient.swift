import Foundation
import NIOHTTP1

/// One Vault server as the provider talks to it: URLs under `/v1/`, the
/// `X-Vault-Request`, namespace and token headers, a custom CA and client
/// certificate, and Vault's `{"errors": [...]}` bodies turned into error details
/// with every credential scrubbed out.
struct VaultClient: Sendable {
    let http: SecretHTTP
    let address: String
    let namespace: String?
    let tls: VaultTLS?
    /// Pauses before each repeat of a request Vault answered 412 (see `send`).
    var consistencyBackoff: [Duration] = Self.defaultConsistencyBackoff

    /// Three repeats within about a second.
    static let defaultConsistencyBackoff: [Duration] = [.milliseconds(100), .milliseconds(250), .milliseconds(600)]

    /// Sends `method` to `/v1/<apiPath>[?query]`; never throws for an HTTP status.
    ///
    /// Every request carries `X-Vault-Request: true`: Vault Agent and Vault Proxy
    /// (`require_request_header`) refuse requests without it, a guard against
    /// server-side request forgery.
    ///
    /// A 412 is repeated after a short pause, up to `consistencyBackoff.count`
    /// times: Vault Enterprise answers 412 when a performance standby has not yet
    /// caught up with a write the request depends on (eventual consistency), and
    /// the same request succeeds moments later.
    /// - Throws: `.unreachable` when Vault does not answer.
    func send(
        _ method: HTTPMethod, _ apiPath: String, query: String? = nil, token: String?, json body: [String: String]? = nil
    ) async throws(SecretError) -> SecretHTTP.Response {
        let url = address + "/v1/" + apiPath + (query.map { "?" + $0 } ?? "")
        var headers: [(String, String)] = [("Accept", "application/json"), ("X-Vault-Request", "true")]
        if let token { headers.append(("X-Vault-Token", token)) }
        if let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        var bytes: [UInt8]?
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = Array((try? JSONEncoder().encode(body)) ?? Data())
        }
        var response = try await sendOnce(method, url, headers: headers, body: bytes)
        for pause in consistencyBackoff where response.status == 412 {
            do { try await Task.sleep(for: pause) } catch {
                throw SecretError(.unreachable, "cancelled while waiting to repeat a request Vault answered 412")
            }
            response = try await sendOnce(method, url, headers: headers, body: bytes)
        }
        return response
    }

    private func sendOnce(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?
    ) async throws(SecretError) -> SecretHTTP.Response {
        if let tls { return try await tls.send(http, method, url, headers: headers, body: body) }
        return try await http.send(method, url, headers: headers, body: body)
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
        let words = errorText(response, credentials: credentials)
        if response.status == 412 {
            // Still 412 after the quick repeats: the standby is lagging; the provider's retries may outlast it.
            return SecretError(
                .unreachable, "HTTP 412: Vault could not yet serve \(what) consistently (a performance standby "
                    + "behind the active node?): \(words)")
        }
        return SecretHTTP.error(status: response.status, detail: "Vault refused \(what): \(words)")
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
        /// Whether `auth/token/renew-self` can extend it.
        var renewable: Bool?

        enum CodingKeys: String, CodingKey {
            case clientToken = "client_token"
            case leaseDuration = "lease_duration"
            case renewable
        }
    }

    var auth: Auth?
}

/// The `data` of `auth/token/lookup-self`: what is left of the token's lease.
struct VaultLookupBody: Decodable {
    struct Data: Decodable {
        /// Seconds left; 0 for a token without expiry.
        var ttl: Int?
        var renewable: Bool?
    }

    var data: Data?
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
