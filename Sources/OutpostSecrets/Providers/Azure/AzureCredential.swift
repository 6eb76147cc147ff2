import Foundation
import NIOHTTP1

/// How the Key Vault provider gets a Microsoft Entra ID access token (`auth:`).
enum AzureCredential: Sendable {
    /// An app registration's client secret (`method: client_credentials`).
    case clientCredentials(ClientCredentials)
    /// The managed identity of the machine (`method: managed_identity`).
    case managedIdentity(ManagedIdentity)

    struct ClientCredentials: Sendable {
        /// Entra ID authority host (`authority`, default https://login.microsoftonline.com).
        var authority: String
        /// Directory (tenant) id or domain (`tenant_id`, default `AZURE_TENANT_ID`).
        var tenantID: String
        /// Application (client) id (`client_id`, default `AZURE_CLIENT_ID`).
        var clientID: String
        /// Where the client secret comes from.
        var secret: SecretSource
    }

    /// The client secret: inline (`client_secret`, `AZURE_CLIENT_SECRET`) or a file
    /// (`client_secret_file`), read at every token request so rotation needs no restart.
    enum SecretSource: Sendable {
        case literal(String)
        case file(String)
    }

    struct ManagedIdentity: Sendable {
        enum Endpoint: Sendable {
            /// The Instance Metadata Service (VMs, AKS, Container Instances): header `Metadata: true`.
            case imds(String)
            /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
            case appService(String, header: String)
        }

        var endpoint: Endpoint
        /// A user-assigned identity's client id (`client_id`); system-assigned when `nil`.
        var clientID: String?
    }

    static let defaultAuthority = "https://login.microsoftonline.com"
    static let defaultIMDSEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
    private static let clientCredentialKeys: Set<String> = [
        "method", "tenant_id", "client_id", "client_secret", "client_secret_file", "authority",
    ]
    private static let managedIdentityKeys: Set<String> = ["method", "client_id", "endpoint"]

    /// Reads the `auth` section. Without `method`, client credentials are used when
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` are all set in
    /// the agent's environment (as the Azure SDKs do), else the managed identity.
    init(auth: ProviderOptions, environment: [String: String]) throws(SecretError) {
        let fromEnvironment = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"].allSatisfy {
            !(environment[$0] ?? "").isEmpty
        }
        let method = try auth.string("method") ?? (fromEnvironment ? "client_credentials" : "managed_identity")
        switch method {
        case "client_credentials":
            try auth.rejectUnknownKeys(allowed: Self.clientCredentialKeys)
            self = .clientCredentials(try Self.clientCredentials(auth, environment))
        case "managed_identity":
            try auth.rejectUnknownKeys(allowed: Self.managedIdentityKeys)
            var endpoint = ManagedIdentity.Endpoint.imds(Self.defaultIMDSEndpoint)
            if let configured = try auth.url("endpoint") {
                endpoint = .imds(configured)
            } else if let url = environment["IDENTITY_ENDPOINT"], !url.isEmpty,
                let header = environment["IDENTITY_HEADER"], !header.isEmpty
            {
                endpoint = .appService(url, header: header)
            }
            self = .managedIdentity(ManagedIdentity(endpoint: endpoint, clientID: try auth.string("client_id")))
        default:
            throw auth.invalid("method", "unknown auth method \"\(method)\"; use client_credentials or managed_identity")
        }
    }

    private static func clientCredentials(
        _ auth: ProviderOptions, _ environment: [String: String]
    ) throws(SecretError) -> ClientCredentials {
        func value(_ key: String, _ variable: String) throws(SecretError) -> String {
            if let value = try auth.string(key), !value.isEmpty { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            throw auth.invalid(key, "required for client_credentials (or set \(variable) in the agent's environment)")
        }
        let tenantID = try value("tenant_id", "AZURE_TENANT_ID")
        guard CloudText.isPlain(tenantID, extra: ".-") else {
            throw auth.invalid("tenant_id", "expected a directory id (GUID) or domain, got \"\(tenantID)\"")
        }
        let clientID = try value("client_id", "AZURE_CLIENT_ID")
        let inline = try auth.string("client_secret")
        let file = try auth.string("client_secret_file")
        let secret: SecretSource
        switch (inline, file) {
        case (.some, .some):
            throw auth.invalid("client_secret_file", "set either client_secret or client_secret_file, not both")
        case (.some(let literal), nil) where !literal.isEmpty:
            secret = .literal(literal)
        case (_, .some(let path)):
            do {
                _ = try CloudText.readCredentialFile(path, option: "client_secret_file")
            } catch {
                throw auth.invalid("client_secret_file", error.detail)
            }
            secret = .file(path)
        default:
            guard let literal = environment["AZURE_CLIENT_SECRET"], !literal.isEmpty else {
                throw auth.invalid(
                    "client_secret",
                    "required for client_credentials: set client_secret or client_secret_file "
                        + "(or AZURE_CLIENT_SECRET in the agent's environment)")
            }
            secret = .literal(literal)
        }
        var authority = defaultAuthority
        if let configured = try auth.url("authority") {
            authority = configured
        } else if let host = environment["AZURE_AUTHORITY_HOST"], !host.isEmpty {
            authority = host.hasPrefix("http") ? host : "https://\(host)"
            while authority.hasSuffix("/") { authority.removeLast() }
        }
        return ClientCredentials(authority: authority, tenantID: tenantID, clientID: clientID, secret: secret)
    }

    /// Asks Entra ID (or the managed-identity endpoint) for a token for `resource`
    /// (`https://vault.azure.net`).
    /// - Throws: `.denied` when the credentials are refused, `.unreachable` when
    ///   the endpoint cannot be reached or answers 429/5xx.
    func fetchToken(http: SecretHTTP, resource: String) async throws(SecretError) -> OAuthToken {
        switch self {
        case .clientCredentials(let credentials):
            let secret: String
            switch credentials.secret {
            case .literal(let value): secret = value
            case .file(let path): secret = try CloudText.readCredentialFile(path, option: "client_secret_file")
            }
            let url = "\(credentials.authority)/\(credentials.tenantID)/oauth2/v2.0/token"
            let body = CloudText.form([
                ("grant_type", "client_credentials"), ("client_id", credentials.clientID),
                ("client_secret", secret), ("scope", "\(resource)/.default"),
            ])
            let response = try await http.send(
                .POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: body)
            return try Self.token(from: response, source: "Microsoft Entra ID (\(SecretHTTP.host(of: url)))", hiding: [secret])
        case .managedIdentity(let identity):
            var query = [("api-version", "2018-02-01"), ("resource", resource)]
            var headers = [("Metadata", "true")]
            let base: String
            switch identity.endpoint {
            case .imds(let url):
                base = url
            case .appService(let url, let header):
                base = url
                query[0].1 = "2019-08-01"
                headers = [("X-IDENTITY-HEADER", header)]
            }
            if let clientID = identity.clientID { query.append(("client_id", clientID)) }
            let separator = base.contains("?") ? "&" : "?"
            let url = base + separator + query.map { "\($0.0)=\(CloudText.percentEncoded($0.1))" }.joined(separator: "&")
            headers.append(("Accept", "application/json"))
            let response = try await http.send(.GET, url, headers: headers)
            let hidden = headers.map(\.1).filter { $0 != "true" && $0 != "application/json" }
            return try Self.token(
                from: response, source: "the managed identity endpoint (\(SecretHTTP.host(of: base)))", hiding: hidden,
                managedIdentity: true)
        }
    }

    private static func token(
        from response: SecretHTTP.Response, source: String, hiding: [String], managedIdentity: Bool = false
    ) throws(SecretError) -> OAuthToken {
        guard (200..<300).contains(response.status) else {
            let body = try? JSONDecoder().decode(OAuthErrorResponse.self, from: Data(response.body))
            let reason = [body?.error, body?.errorDescription.map { CloudText.scrubbed($0, hiding: hiding) }]
                .compactMap { $0 }.joined(separator: ": ")
            let detail = "\(source) refused the token request with HTTP \(response.status)"
                + (reason.isEmpty ? "" : " (\(reason))")
            switch response.status {
            // IMDS answers 404 and 410 while it is (re)starting; its documentation says to retry.
            case 404 where managedIdentity, 410 where managedIdentity: throw SecretError(.unreachable, detail)
            case 408, 429, 500...599: throw SecretError(.unreachable, detail)
            default: throw SecretError(.denied, detail)
            }
        }
        let decoded = try response.json(OAuthTokenResponse.self, what: source)
        return decoded.token()
    }
}
