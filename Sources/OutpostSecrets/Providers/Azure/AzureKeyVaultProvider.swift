import Foundation
import NIOHTTP1
import Synchronization

/// Azure Key Vault (`type: azure-key-vault`): reads secrets through the vault's
/// REST API with a Microsoft Entra ID token from client credentials (a secret or a
/// certificate), AKS workload identity, or a managed identity.
///
/// Path syntax: `NAME` (the current version), `NAME/VERSION` or `NAME@VERSION`.
/// A secret's value is always text; a JSON object in it is split into keys by `SecretSet`.
struct AzureKeyVaultProvider: SecretProvider {
    /// The provider's settings, read from its options.
    struct Configuration: Sendable {
        /// Base URL of the vault (`vault_url`, or `https://<vault_name>.vault.azure.net`).
        var vaultURL: String
        /// The secrets API version sent with every request (`api_version`, default "7.4").
        var apiVersion: String
        /// Audience of the token (`resource`; default derived from the vault's host,
        /// e.g. https://vault.azure.cn, and corrected by the vault's challenge).
        var resource: String
        /// Whether `resource` was set: the vault's challenge then cannot change it.
        var resourceConfigured: Bool
        /// How the token is obtained (`auth`).
        var credential: AzureCredential
    }

    static let defaultAPIVersion = "7.4"
    static let defaultResource = AzureCloud.publicResource
    static let allowedKeys: Set<String> = ["vault_name", "vault_url", "api_version", "resource", "auth"]
    /// More pages than any vault has: a listing that goes on is a server (or a proxy) gone wrong.
    static let maxPages = 2000

    let configuration: Configuration
    private let http: SecretHTTP
    private let tokens: OAuthTokenCache
    private let audience: Audience

    /// The audience tokens are asked for; the vault's challenge may correct it.
    final class Audience: Sendable {
        private let current: Mutex<String>
        init(_ resource: String) { current = Mutex(resource) }
        var resource: String {
            get { current.withLock { $0 } }
            set { current.withLock { $0 = newValue } }
        }
    }

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.allowedKeys)
        let configuration = try Configuration(options: options, environment: context.environment)
        let http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
        let audience = Audience(configuration.resource)
        self.configuration = configuration
        self.http = http
        self.audience = audience
        tokens = OAuthTokenCache { () async throws(SecretError) in
            try await configuration.credential.fetchToken(http: http, resource: audience.resource)
        }
    }

    /// The credentials this provider reads from files or the environment, so that every
    /// task's log masks them (a task running as the agent's user may read the same files):
    /// the certificate's private key, the service account token as it is now, the client secret.
    var heldValues: [NamedSecretValue] {
        func file(_ path: String) -> String? {
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }
        switch configuration.credential {
        case .clientSecret(_, .literal(let secret)):
            return [NamedSecretValue(name: "auth.client_secret", value: secret)]
        case .clientSecret(_, .file(let path)):
            let secret = file(path)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return secret.isEmpty ? [] : [NamedSecretValue(name: "auth.client_secret_file", value: secret)]
        case .clientCertificate(_, let source):
            return AzureClientCertificate.blocks(in: file(source.path) ?? "").filter { $0.label.hasSuffix("PRIVATE KEY") }
                .map { NamedSecretValue(name: "auth.certificate_file (private key)", value: $0.text) }
        case .workloadIdentity(_, let path):
            let token = file(path)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return token.isEmpty ? [] : [NamedSecretValue(name: "auth.token_file", value: token)]
        case .managedIdentity:
            return []
        }
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let (name, version) = try Self.parse(path)
        let url = "\(configuration.vaultURL)/secrets/\(name)\(version.map { "/\($0)" } ?? "")?api-version="
            + CloudText.percentEncoded(configuration.apiVersion)
        let response = try await authorizedGET(url)
        guard (200..<300).contains(response.status) else { throw failure(response) }
        struct SecretBundle: Decodable { var value: String? }
        guard let value = try response.json(SecretBundle.self, what: "Key Vault").value else {
            throw SecretError(.malformed, "Key Vault returned the secret without a value")
        }
        return .text(value)
    }

    /// Names of the vault's secrets that start with `prefix`, following `nextLink` pages.
    /// Each page's request is bounded on its own (`timeout`); a listing stops with an
    /// error after `maxPages` pages, at a page it has seen before, or at a link to
    /// another host (the token would go with it).
    func list(prefix: String) async throws(SecretError) -> [String] {
        struct Page: Decodable {
            struct Item: Decodable { var id: String }
            var value: [Item]?
            var nextLink: String?
        }
        var next: String? = "\(configuration.vaultURL)/secrets?api-version="
            + CloudText.percentEncoded(configuration.apiVersion) + "&maxresults=25"
        var names: [String] = []
        var seen: Set<String> = []
        while let url = next {
            guard seen.insert(url).inserted else {
                throw SecretError(
                    .malformed, "Key Vault's nextLink repeats an earlier page (after \(seen.count) pages); listing stopped")
            }
            guard seen.count <= Self.maxPages else {
                throw SecretError(
                    .malformed,
                    "Key Vault kept sending nextLink after \(Self.maxPages) pages (\(names.count) names so far); listing stopped")
            }
            let response = try await authorizedGET(url)
            guard (200..<300).contains(response.status) else { throw failure(response) }
            let page = try response.json(Page.self, what: "Key Vault")
            for item in page.value ?? [] {
                // Ids are https://VAULT/secrets/NAME (list items carry no version).
                if let range = item.id.range(of: "/secrets/") {
                    let name = item.id[range.upperBound...].split(separator: "/").first.map(String.init) ?? ""
                    if !name.isEmpty, name.hasPrefix(prefix) { names.append(name) }
                }
            }
            next = try nextPage(page.nextLink)
        }
        return names.sorted()
    }

    /// A GET with the cached bearer token. A 401 whose challenge asks for another
    /// audience (a vault of another cloud) switches to it, when it fits the vault's host
    /// and `resource` is not set, and repeats the request with a token for it; any other
    /// 401 (token revoked, or expired early) repeats it once with a new token.
    private func authorizedGET(_ url: String) async throws(SecretError) -> SecretHTTP.Response {
        var renewed = false
        var switched = false
        while true {
            let token = try await tokens.token()
            let response = try await http.send(
                .GET, url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
            guard response.status == 401 else { return response }
            if !switched, !configuration.resourceConfigured, let asked = challengedResource(response),
                asked != audience.resource, AzureCloud.scope(asked, fitsVault: configuration.vaultURL)
            {
                switched = true
                audience.resource = asked
                await tokens.reject(token)
                continue
            }
            guard !renewed else { return response }
            renewed = true
            await tokens.reject(token)
        }
    }

    /// The audience a 401's `WWW-Authenticate: Bearer ... resource="..."` (or `scope`) asks for.
    private func challengedResource(_ response: SecretHTTP.Response) -> String? {
        guard let header = response.headers.first(name: "WWW-Authenticate"), let challenge = AzureChallenge(header),
            challenge.scheme == "bearer", let scope = challenge.scope
        else { return nil }
        return AzureCloud.resource(ofScope: scope)
    }

    /// The URL of the next page, refusing one on another host: the token goes with it.
    private func nextPage(_ link: String?) throws(SecretError) -> String? {
        guard var link, !link.isEmpty else { return nil }
        guard CloudText.sameOrigin(link, configuration.vaultURL) else {
            throw SecretError(
                .malformed, "Key Vault's nextLink points away from \(SecretHTTP.host(of: configuration.vaultURL)); not following it")
        }
        if !link.contains("api-version=") {
            link += (link.contains("?") ? "&" : "?") + "api-version=" + CloudText.percentEncoded(configuration.apiVersion)
        }
        return link
    }

    /// The error for a Key Vault answer `{"error": {"code", "message"}}`.
    private func failure(_ response: SecretHTTP.Response) -> SecretError {
        struct Body: Decodable {
            struct Inner: Decodable {
                var code: String?
                var message: String?
            }
            var error: Inner?
        }
        let body = try? JSONDecoder().decode(Body.self, from: Data(response.body))
        let code = body?.error?.code ?? ""
        let message = CloudText.scrubbed(body?.error?.message ?? "", hiding: [])
        var detail = "Key Vault answered HTTP \(response.status)" + (code.isEmpty ? "" : " \(code)")
            + (message.isEmpty ? "" : ": \(message)")
        if response.status == 401, let header = response.headers.first(name: "WWW-Authenticate") {
            if let authority = Self.challengeAuthority(header) {
                // The challenge names the tenant the vault belongs to: the usual cause
                // of a 401 with a fresh token is a token from another tenant.
                detail += " (the vault accepts tokens from \(authority))"
            }
            if let asked = challengedResource(response), asked != audience.resource {
                detail += configuration.resourceConfigured
                    ? " (the vault asks for tokens for \(asked), not the configured resource \(audience.resource))"
                    : " (the vault asks for tokens for \(asked), which does not match its host "
                        + "\(SecretHTTP.host(of: configuration.vaultURL)), so the agent does not send it one; "
                        + "set resource: \(asked) if this vault is really there)"
            }
        }
        switch (code, response.status) {
        case ("SecretNotFound", _), (_, 404): return SecretError(.notFound, detail)
        case ("Forbidden", _), ("Unauthorized", _), (_, 401), (_, 403): return SecretError(.denied, detail)
        case ("Throttled", _), (_, 408), (_, 429), (_, 500...599):
            return SecretError(.unreachable, detail, retryAfter: RetryAfter.parse(response.headers.first(name: "Retry-After")))
        default: return SecretHTTP.error(status: response.status, detail: "Key Vault \(code): \(message)")
        }
    }

    /// `authorization="https://login.microsoftonline.com/TENANT"` from a `Bearer` challenge.
    static func challengeAuthority(_ challenge: String) -> String? {
        for key in ["authorization=\"", "authorization_uri=\""] {
            if let start = challenge.range(of: key),
                let end = challenge[start.upperBound...].firstIndex(of: "\"")
            {
                return String(challenge[start.upperBound..<end])
            }
        }
        return nil
    }

    /// Splits `NAME`, `NAME/VERSION` or `NAME@VERSION`.
    /// - Throws: `.notFound` for a path no Key Vault secret can have.
    static func parse(_ path: String) throws(SecretError) -> (name: String, version: String?) {
        let parts = path.split(separator: path.contains("@") ? "@" : "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0].count <= 127, CloudText.isPlain(parts[0], extra: "-") else {
            throw SecretError(
                .notFound,
                "not a Key Vault secret path; use NAME, NAME/VERSION or NAME@VERSION "
                    + "(NAME: 1-127 letters, digits and '-')")
        }
        guard parts.count == 2 else { return (String(parts[0]), nil) }
        guard parts[1].count <= 64, CloudText.isPlain(parts[1]) else {
            throw SecretError(.notFound, "not a Key Vault secret version (expected letters and digits, e.g. 32 hex digits)")
        }
        return (String(parts[0]), String(parts[1]))
    }
}

extension AzureKeyVaultProvider.Configuration {
    init(options: ProviderOptions, environment: [String: String]) throws(SecretError) {
        switch (try options.string("vault_name"), try options.url("vault_url")) {
        case (.some, .some):
            throw options.invalid("vault_url", "set either vault_name or vault_url, not both")
        case (.some(let name), nil):
            // Vault names: 3-24 characters, letters, digits and '-', starting with a letter.
            guard (3...24).contains(name.count), CloudText.isPlain(name, extra: "-"), name.first?.isLetter == true else {
                throw options.invalid("vault_name", "expected 3-24 letters, digits and '-', starting with a letter")
            }
            vaultURL = "https://\(name.lowercased()).vault.azure.net"
        case (nil, .some(let url)):
            vaultURL = url
        case (nil, nil):
            throw options.invalid("vault_name", "required: set vault_name (https://NAME.vault.azure.net) or vault_url")
        }
        apiVersion = try options.string("api_version") ?? AzureKeyVaultProvider.defaultAPIVersion
        guard CloudText.isPlain(apiVersion, extra: ".-") else {
            throw options.invalid("api_version", "expected a Key Vault API version such as 7.4")
        }
        let configuredResource = try options.url("resource")
        resource = configuredResource ?? AzureCloud.resource(forVault: vaultURL)
        resourceConfigured = configuredResource != nil
        let auth =
            try options.section("auth")
            ?? ProviderOptions(
                values: [:], overrides: options.overrides, context: "\(options.context).auth",
                environmentPrefix: options.environmentPrefix + "AUTH_", overridePrefix: options.overridePrefix + "auth_")
        credential = try AzureCredential(
            auth: auth, environment: environment,
            defaultAuthority: AzureCloud.authority(forVault: vaultURL) ?? AzureCloud.publicAuthority)
    }

    /// The token audience for a vault at `url` (see `AzureCloud.resource(forVault:)`).
    static func resource(forVault url: String) -> String {
        AzureCloud.resource(forVault: url)
    }
}
