import Foundation
import NIOHTTP1

/// Azure Key Vault (`type: azure-key-vault`): reads secrets through the vault's
/// REST API with a Microsoft Entra ID token from client credentials or a managed
/// identity.
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
        /// Audience of the token (`resource`; default derived from the vault's DNS
        /// suffix, e.g. https://vault.azure.cn, else https://vault.azure.net).
        var resource: String
        /// How the token is obtained (`auth`).
        var credential: AzureCredential
    }

    static let defaultAPIVersion = "7.4"
    static let defaultResource = "https://vault.azure.net"
    static let allowedKeys: Set<String> = ["vault_name", "vault_url", "api_version", "resource", "auth"]

    let configuration: Configuration
    private let http: SecretHTTP
    private let tokens: OAuthTokenCache

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.allowedKeys)
        let configuration = try Configuration(options: options, environment: context.environment)
        let http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
        self.configuration = configuration
        self.http = http
        tokens = OAuthTokenCache { () async throws(SecretError) in
            try await configuration.credential.fetchToken(http: http, resource: configuration.resource)
        }
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let (name, version) = try Self.parse(path)
        let url = "\(configuration.vaultURL)/secrets/\(name)\(version.map { "/\($0)" } ?? "")?api-version="
            + CloudText.percentEncoded(configuration.apiVersion)
        let response = try await tokens.authorizedGET(url, with: http)
        guard (200..<300).contains(response.status) else { throw failure(response) }
        struct SecretBundle: Decodable { var value: String? }
        guard let value = try response.json(SecretBundle.self, what: "Key Vault").value else {
            throw SecretError(.malformed, "Key Vault returned the secret without a value")
        }
        return .text(value)
    }

    /// Names of the vault's secrets that start with `prefix`, following `nextLink` pages.
    func list(prefix: String) async throws(SecretError) -> [String] {
        struct Page: Decodable {
            struct Item: Decodable { var id: String }
            var value: [Item]?
            var nextLink: String?
        }
        var next: String? = "\(configuration.vaultURL)/secrets?api-version="
            + CloudText.percentEncoded(configuration.apiVersion) + "&maxresults=25"
        var names: [String] = []
        var pages = 0
        while let url = next {
            pages += 1
            guard pages <= 1000 else { throw SecretError(.malformed, "Key Vault kept sending nextLink after 1000 pages") }
            let response = try await tokens.authorizedGET(url, with: http)
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
        if response.status == 401, let challenge = response.headers.first(name: "WWW-Authenticate"),
            let authority = Self.challengeAuthority(challenge)
        {
            // The challenge names the tenant the vault belongs to: the usual cause
            // of a 401 with a fresh token is a token from another tenant.
            detail += " (the vault accepts tokens from \(authority))"
        }
        switch (code, response.status) {
        case ("SecretNotFound", _), (_, 404): return SecretError(.notFound, detail)
        case ("Forbidden", _), ("Unauthorized", _), (_, 401), (_, 403): return SecretError(.denied, detail)
        case ("Throttled", _), (_, 408), (_, 429), (_, 500...599): return SecretError(.unreachable, detail)
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
        resource = try options.url("resource") ?? Self.resource(forVault: vaultURL)
        let auth =
            try options.section("auth")
            ?? ProviderOptions(
                values: [:], overrides: options.overrides, context: "\(options.context).auth",
                environmentPrefix: options.environmentPrefix + "AUTH_", overridePrefix: options.overridePrefix + "auth_")
        credential = try AzureCredential(auth: auth, environment: environment)
    }

    /// `https://vault.<suffix>` for a vault at `NAME.vault.<suffix>` (sovereign
    /// clouds: azure.cn, usgovcloudapi.net, ...), else the public cloud's audience.
    static func resource(forVault url: String) -> String {
        guard let host = URLComponents(string: url)?.host?.lowercased(), let range = host.range(of: ".vault.") else {
            return AzureKeyVaultProvider.defaultResource
        }
        return "https://vault.\(host[range.upperBound...])"
    }
}
