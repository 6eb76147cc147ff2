import Foundation
import NIOHTTP1

/// The `http` provider: a home-grown secret store answering `GET <store_url>`
/// with JSON, optionally behind a bearer token or an API-key header.
///
/// A reply is `{"value": "..."}` (a single value), any other JSON object
/// (key/values), a JSON string, or — with `value_field` — the object or value
/// at that field. 404 is not found, 401/403 denied, 408/429/5xx unreachable
/// (retried by `ManagedProvider`).
struct HTTPStoreProvider: SecretProvider {
    let name: String
    let configuration: HTTPStoreConfiguration
    let http: SecretHTTP

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        self.name = name
        self.configuration = try HTTPStoreConfiguration(options: options)
        self.http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let url = try configuration.url(forName: path)
        let (response, credentials) = try await get(url)
        let what = "GET \(Self.display(url))"
        guard (200...299).contains(response.status) else { throw Self.failure(response, what, credentials: credentials) }
        guard let reply = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)) else {
            throw SecretError(.malformed, "the store answered \(what) with a body that is not JSON")
        }
        if let field = configuration.valueField {
            var value = reply
            for (depth, key) in field.enumerated() {
                guard case .object(let object) = value, let next = object[key] else {
                    let at = field.prefix(depth + 1).joined(separator: ".")
                    throw SecretError(.malformed, "the store's reply to \(what) has no field \(at) (value_field)")
                }
                value = next
            }
            return try Self.payload(value, what: what)
        }
        if case .object(let object) = reply, object.count == 1, let value = object["value"] {
            return try Self.payload(value, what: what)
        }
        return try Self.payload(reply, what: what)
    }

    /// Names from `list_url` (a JSON array of strings) that start with `prefix`.
    /// - Throws: `.unsupported` without `list_url`.
    func list(prefix: String) async throws(SecretError) -> [String] {
        guard let listURL = configuration.listURL else {
            throw SecretError(.unsupported, "this store has no list_url; set one that answers a JSON array of names")
        }
        let url = listURL.replacingOccurrences(of: "{prefix}", with: VaultPath.escapeSegment(prefix))
        let (response, credentials) = try await get(url)
        let what = "GET \(Self.display(url))"
        guard (200...299).contains(response.status) else { throw Self.failure(response, what, credentials: credentials) }
        guard let names = try? JSONDecoder().decode([String].self, from: Data(response.body)) else {
            throw SecretError(.malformed, "the store answered \(what) with something other than a JSON array of names")
        }
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// One GET with the configured credentials (files read afresh); also
    /// returns the credentials sent, to scrub them from error text.
    private func get(_ url: String) async throws(SecretError) -> (SecretHTTP.Response, [String]) {
        var headers: [(String, String)] = [("Accept", "application/json")]
        var credentials: [String] = []
        if let bearer = configuration.bearer {
            let token = try bearer.value()
            headers.append(("Authorization", "Bearer \(token)"))
            credentials.append(token)
        }
        if let header = configuration.header {
            let value = try header.value.value()
            headers.append((header.name, value))
            credentials.append(value)
        }
        return (try await http.send(.GET, url, headers: headers), credentials)
    }

    /// The payload of a reply value: a string as it is, an object as JSON key/values.
    private static func payload(_ value: JSONValue, what: String) throws(SecretError) -> SecretPayload {
        switch value {
        case .string(let text): return .text(text)
        case .object: return .text(VaultProvider.jsonText(value))
        case .integer, .number, .bool: return .text(value.environmentText)
        case .null: throw SecretError(.notFound, "the store answered \(what) with a null value")
        case .array: throw SecretError(.malformed, "the store answered \(what) with a JSON array, not an object or a value")
        }
    }

    /// The error for a non-2xx reply, quoting the store's message (credentials scrubbed).
    private static func failure(_ response: SecretHTTP.Response, _ what: String, credentials: [String]) -> SecretError {
        var message = response.text
        if case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)) {
            switch object["error"] ?? object["message"] {
            case .string(let text)?: message = text
            case .object(let inner)?:
                if case .string(let text)? = inner["message"] { message = text }
            default: break
            }
        }
        let words = CredentialFile.redact(message, removing: credentials, limit: 200)
        return SecretHTTP.error(status: response.status, detail: "the store refused \(what)" + (words.isEmpty ? "" : ": \(words)"))
    }

    /// The URL without its query (which may carry a key) for messages.
    private static func display(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}
