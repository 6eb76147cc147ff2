import Foundation
import NIOHTTP1

/// How the Key Vault provider gets a Microsoft Entra ID access token (`auth:`).
enum AzureCredential: Sendable {
    /// An app registration's client secret (`method: client_credentials`).
    case clientSecret(EntraApplication, SecretSource)
    /// An app registration's certificate (`method: client_certificate`): a client
    /// assertion signed with the certificate's key.
    case clientCertificate(EntraApplication, CertificateSource)
    /// AKS workload identity (`method: workload_identity`): the Kubernetes service
    /// account token in `token_file`, exchanged as a client assertion.
    case workloadIdentity(EntraApplication, tokenFile: String)
    /// The machine's managed identity (`method: managed_identity`).
    case managedIdentity(AzureManagedIdentity)

    /// An app registration in a tenant, and the Entra ID authority to ask.
    struct EntraApplication: Sendable, Equatable {
        /// Entra ID authority host (`authority`, `AZURE_AUTHORITY_HOST`, else the vault's cloud's).
        var authority: String
        /// Directory (tenant) id or domain (`tenant_id`, `AZURE_TENANT_ID`).
        var tenantID: String
        /// Application (client) id (`client_id`, `AZURE_CLIENT_ID`).
        var clientID: String

        /// `{authority}/{tenant}/oauth2/v2.0/token`: where tokens are asked for, and the
        /// audience of a client assertion.
        var tokenURL: String { "\(authority)/\(tenantID)/oauth2/v2.0/token" }
    }

    /// The client secret: inline (`client_secret`, `AZURE_CLIENT_SECRET`) or a file
    /// (`client_secret_file`), read at every token request so rotation needs no restart.
    enum SecretSource: Sendable, Equatable {
        case literal(String)
        case file(String)
    }

    /// The certificate PEM file (`certificate_file`, `AZURE_CLIENT_CERTIFICATE_PATH`),
    /// read at every token request so a renewed certificate needs no restart.
    struct CertificateSource: Sendable, Equatable {
        var path: String
        /// Send the certificate chain (`x5c`) too, for subject name/issuer authentication
        /// (`send_certificate_chain`, `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`).
        var sendChain: Bool
    }

    /// The assertion type of `client_assertion` (RFC 7523).
    static let jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    static let methods = ["client_credentials", "client_certificate", "workload_identity", "managed_identity"]
    private static let applicationKeys: Set<String> = ["method", "tenant_id", "client_id", "authority"]
    private static let allowedKeys: [String: Set<String>] = [
        "client_credentials": applicationKeys.union(["client_secret", "client_secret_file"]),
        "client_certificate": applicationKeys.union(["certificate_file", "send_certificate_chain"]),
        "workload_identity": applicationKeys.union(["token_file"]),
        "managed_identity": ["method", "client_id", "endpoint", "arc_key_directory"],
    ]

    /// Reads the `auth` section.
    ///
    /// Without `method`, the keys given choose it (`client_secret[_file]`,
    /// `certificate_file`, `token_file`, `endpoint`); without those, the agent's
    /// environment does, in the order of azure-identity's `DefaultAzureCredential`:
    /// client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), client
    /// certificate (`AZURE_CLIENT_CERTIFICATE_PATH` instead of the secret), workload
    /// identity (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, as AKS
    /// sets them), then the managed identity.
    /// - Parameter defaultAuthority: the authority when neither `authority` nor
    ///   `AZURE_AUTHORITY_HOST` is set (the vault's cloud's).
    init(auth: ProviderOptions, environment: [String: String], defaultAuthority: String) throws(SecretError) {
        func set(_ variable: String) -> Bool { !(environment[variable] ?? "").isEmpty }
        func given(_ key: String, _ variable: String? = nil) throws(SecretError) -> Bool {
            if let value = try auth.string(key), !value.isEmpty { return true }
            return variable.map(set) ?? false
        }
        let (secret, secretFile) = (try given("client_secret"), try given("client_secret_file"))
        let hasSecret = secret || secretFile
        let hasCertificate = try given("certificate_file")
        let hasTokenFile = try given("token_file")
        let (endpoint, arcDirectory) = (try given("endpoint"), try given("arc_key_directory"))
        let hasEndpoint = endpoint || arcDirectory
        let (tenant, client) = (try given("tenant_id", "AZURE_TENANT_ID"), try given("client_id", "AZURE_CLIENT_ID"))
        let hasApplication = tenant && client
        let method: String
        if let explicit = try auth.string("method") {
            method = explicit
        } else if hasSecret {
            method = "client_credentials"
        } else if hasCertificate {
            method = "client_certificate"
        } else if hasTokenFile {
            method = "workload_identity"
        } else if hasEndpoint {
            method = "managed_identity"
        } else if hasApplication {
            if set("AZURE_CLIENT_SECRET") {
                method = "client_credentials"
            } else if set("AZURE_CLIENT_CERTIFICATE_PATH") {
                method = "client_certificate"
            } else if set("AZURE_FEDERATED_TOKEN_FILE") {
                method = "workload_identity"
            } else {
                method = "managed_identity"
            }
        } else {
            method = "managed_identity"
        }
        if try auth.string("method") == nil, method == "managed_identity", let tenant = try auth.string("tenant_id"),
            !tenant.isEmpty
        {
            // An application without a credential: say what is missing, not that tenant_id is unknown.
            throw auth.invalid(
                "tenant_id",
                "an application needs a credential: set client_secret, client_secret_file, certificate_file or token_file "
                    + "(or AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE "
                    + "in the agent's environment)")
        }
        guard let allowed = Self.allowedKeys[method] else {
            throw auth.invalid("method", "unknown auth method \"\(method)\"; use \(Self.methods.joined(separator: ", "))")
        }
        try auth.rejectUnknownKeys(allowed: allowed)
        switch method {
        case "client_credentials":
            let application = try Self.application(auth, environment, method: method, defaultAuthority: defaultAuthority)
            self = .clientSecret(application, try Self.clientSecret(auth, environment))
        case "client_certificate":
            let application = try Self.application(auth, environment, method: method, defaultAuthority: defaultAuthority)
            self = .clientCertificate(application, try Self.certificate(auth, environment))
        case "workload_identity":
            let application = try Self.application(auth, environment, method: method, defaultAuthority: defaultAuthority)
            self = .workloadIdentity(application, tokenFile: try Self.tokenFile(auth, environment))
        default:
            self = try Self.managedIdentity(auth, environment, defaultAuthority: defaultAuthority)
        }
    }

    // MARK: Reading the options

    private static func application(
        _ auth: ProviderOptions, _ environment: [String: String], method: String, defaultAuthority: String
    ) throws(SecretError) -> EntraApplication {
        func value(_ key: String, _ variable: String) throws(SecretError) -> String {
            if let value = try auth.string(key), !value.isEmpty { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            throw auth.invalid(key, "required for \(method) (or set \(variable) in the agent's environment)")
        }
        let tenantID = try value("tenant_id", "AZURE_TENANT_ID")
        guard CloudText.isPlain(tenantID, extra: ".-") else {
            throw auth.invalid("tenant_id", "expected a directory id (GUID) or domain, got \"\(tenantID)\"")
        }
        let clientID = try value("client_id", "AZURE_CLIENT_ID")
        return EntraApplication(
            authority: try authority(auth, environment) ?? defaultAuthority, tenantID: tenantID, clientID: clientID)
    }

    /// `authority`, else `AZURE_AUTHORITY_HOST` (a host name or a URL), else `nil`.
    static func authority(_ auth: ProviderOptions, _ environment: [String: String]) throws(SecretError) -> String? {
        if let configured = try auth.url("authority") { return configured }
        guard let host = environment["AZURE_AUTHORITY_HOST"]?.trimmingCharacters(in: .whitespaces), !host.isEmpty else {
            return nil
        }
        var authority = host.hasPrefix("http://") || host.hasPrefix("https://") ? host : "https://\(host)"
        while authority.hasSuffix("/") { authority.removeLast() }
        return authority
    }

    private static func clientSecret(_ auth: ProviderOptions, _ environment: [String: String]) throws(SecretError) -> SecretSource {
        switch (try auth.string("client_secret"), try auth.string("client_secret_file")) {
        case (.some, .some):
            throw auth.invalid("client_secret_file", "set either client_secret or client_secret_file, not both")
        case (.some(let literal), nil) where !literal.isEmpty:
            return .literal(literal)
        case (_, .some(let path)):
            do {
                _ = try CloudText.readCredentialFile(path, option: "client_secret_file")
            } catch {
                throw auth.invalid("client_secret_file", error.detail)
            }
            return .file(path)
        default:
            guard let literal = environment["AZURE_CLIENT_SECRET"], !literal.isEmpty else {
                throw auth.invalid(
                    "client_secret",
                    "required for client_credentials: set client_secret or client_secret_file "
                        + "(or AZURE_CLIENT_SECRET in the agent's environment)")
            }
            return .literal(literal)
        }
    }

    private static func certificate(
        _ auth: ProviderOptions, _ environment: [String: String]
    ) throws(SecretError) -> CertificateSource {
        let path: String
        if let configured = try auth.string("certificate_file"), !configured.isEmpty {
            path = configured
        } else if let variable = environment["AZURE_CLIENT_CERTIFICATE_PATH"], !variable.isEmpty {
            path = variable
        } else {
            throw auth.invalid(
                "certificate_file",
                "required for client_certificate: a PEM file with the certificate and its private key "
                    + "(or AZURE_CLIENT_CERTIFICATE_PATH in the agent's environment)")
        }
        do {
            _ = try AzureClientCertificate.load(path: path, option: "certificate_file")
        } catch {
            throw auth.invalid("certificate_file", error.detail)
        }
        var sendChain = try auth.bool("send_certificate_chain")
        if sendChain == nil, let variable = environment["AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"] {
            sendChain = ["true", "1", "yes"].contains(variable.lowercased())
        }
        return CertificateSource(path: path, sendChain: sendChain ?? false)
    }

    private static func tokenFile(_ auth: ProviderOptions, _ environment: [String: String]) throws(SecretError) -> String {
        let path: String
        if let configured = try auth.string("token_file"), !configured.isEmpty {
            path = configured
        } else if let variable = environment["AZURE_FEDERATED_TOKEN_FILE"], !variable.isEmpty {
            path = variable
        } else {
            throw auth.invalid(
                "token_file",
                "required for workload_identity: the projected service account token "
                    + "(or AZURE_FEDERATED_TOKEN_FILE in the agent's environment, as AKS sets it)")
        }
        do {
            _ = try CloudText.readCredentialFile(path, option: "token_file")
        } catch {
            throw auth.invalid("token_file", error.detail)
        }
        return path
    }

    /// The managed identity of the machine, found as azure-identity finds it: an
    /// explicit `endpoint` is IMDS; else `IDENTITY_ENDPOINT` with `IDENTITY_HEADER` and
    /// `IDENTITY_SERVER_THUMBPRINT` is Service Fabric, with `IDENTITY_HEADER` alone App
    /// Service, with `IMDS_ENDPOINT` Azure Arc; else AKS workload identity's variables
    /// make it a workload identity (the node's IMDS would give the node's identity, not
    /// the pod's); else IMDS (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, or 169.254.169.254).
    private static func managedIdentity(
        _ auth: ProviderOptions, _ environment: [String: String], defaultAuthority: String
    ) throws(SecretError) -> AzureCredential {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let configuredClientID = try auth.string("client_id").flatMap { $0.isEmpty ? nil : $0 }
        let clientID = configuredClientID ?? variable("AZURE_CLIENT_ID")
        let arcDirectory = try auth.string("arc_key_directory") ?? AzureManagedIdentity.defaultArcKeyDirectory
        if let endpoint = try auth.url("endpoint") {
            return .managedIdentity(AzureManagedIdentity(source: .imds(url: endpoint), clientID: clientID))
        }
        if let url = variable("IDENTITY_ENDPOINT") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw auth.invalid("method", "IDENTITY_ENDPOINT in the agent's environment is not an http(s) URL: \"\(url)\"")
            }
            if let header = variable("IDENTITY_HEADER") {
                if let thumbprint = variable("IDENTITY_SERVER_THUMBPRINT") {
                    guard configuredClientID == nil else {
                        throw auth.invalid(
                            "client_id",
                            "Service Fabric does not let an application choose its managed identity "
                                + "(the cluster's configuration does); remove client_id")
                    }
                    guard url.lowercased().hasPrefix("https://") else {
                        throw auth.invalid(
                            "method",
                            "IDENTITY_ENDPOINT in the agent's environment is not https://, yet IDENTITY_SERVER_THUMBPRINT "
                                + "asks for its certificate to be checked (Service Fabric's endpoint is https)")
                    }
                    let hex = thumbprint.filter { $0 != ":" && $0 != " " }
                    guard hex.count == 40, hex.allSatisfy(\.isHexDigit) else {
                        throw auth.invalid(
                            "method",
                            "IDENTITY_SERVER_THUMBPRINT in the agent's environment is not a SHA-1 thumbprint (40 hex digits)")
                    }
                    // Service Fabric's identity is the application's: AZURE_CLIENT_ID does not apply.
                    return .managedIdentity(
                        AzureManagedIdentity(source: .serviceFabric(url: url, header: header, thumbprint: hex), clientID: nil))
                }
                return .managedIdentity(AzureManagedIdentity(source: .appService(url: url, header: header), clientID: clientID))
            }
            if variable("IMDS_ENDPOINT") != nil {
                guard arcDirectory.hasPrefix("/") else {
                    throw auth.invalid("arc_key_directory", "expected an absolute path, got \"\(arcDirectory)\"")
                }
                return .managedIdentity(AzureManagedIdentity(source: .arc(url: url, keyDirectory: arcDirectory), clientID: clientID))
            }
        }
        if let tokenFile = variable("AZURE_FEDERATED_TOKEN_FILE"), let tenantID = variable("AZURE_TENANT_ID"),
            let clientID, CloudText.isPlain(tenantID, extra: ".-")
        {
            let application = EntraApplication(
                authority: try authority(auth, environment) ?? defaultAuthority, tenantID: tenantID, clientID: clientID)
            return .workloadIdentity(application, tokenFile: tokenFile)
        }
        var endpoint = AzureManagedIdentity.defaultIMDSEndpoint
        if var host = variable("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
            while host.hasSuffix("/") { host.removeLast() }
            endpoint = host + "/metadata/identity/oauth2/token"
        }
        return .managedIdentity(AzureManagedIdentity(source: .imds(url: endpoint), clientID: clientID))
    }

    // MARK: Getting a token

    /// Asks Entra ID (or the managed-identity endpoint) for a token for `resource`
    /// (`https://vault.azure.net`).
    /// - Throws: `.denied` when the credentials are refused, `.unreachable` when
    ///   the endpoint cannot be reached or answers 429/5xx (with its `Retry-After`).
    func fetchToken(http: SecretHTTP, resource: String) async throws(SecretError) -> OAuthToken {
        let scope = resource + "/.default"
        switch self {
        case .clientSecret(let app, let source):
            let secret: String
            switch source {
            case .literal(let value): secret = value
            case .file(let path): secret = try CloudText.readCredentialFile(path, option: "client_secret_file")
            }
            return try await Self.entraToken(
                http: http, app: app, fields: [("client_secret", secret)], scope: scope, hiding: [secret])
        case .clientCertificate(let app, let source):
            let certificate = try AzureClientCertificate.load(path: source.path, option: "certificate_file")
            let assertion = try certificate.assertion(clientID: app.clientID, audience: app.tokenURL, sendChain: source.sendChain)
            return try await Self.entraToken(
                http: http, app: app,
                fields: [("client_assertion_type", Self.jwtBearer), ("client_assertion", assertion)], scope: scope,
                hiding: [assertion])
        case .workloadIdentity(let app, let tokenFile):
            // Read at every exchange: the kubelet rotates the projected token (hourly by default).
            let assertion = try CloudText.readCredentialFile(tokenFile, option: "token_file")
            return try await Self.entraToken(
                http: http, app: app,
                fields: [("client_assertion_type", Self.jwtBearer), ("client_assertion", assertion)], scope: scope,
                hiding: [assertion])
        case .managedIdentity(let identity):
            return try await identity.fetchToken(http: http, resource: resource)
        }
    }

    /// The client-credentials grant at Entra ID's token endpoint.
    private static func entraToken(
        http: SecretHTTP, app: EntraApplication, fields: [(String, String)], scope: String, hiding: [String]
    ) async throws(SecretError) -> OAuthToken {
        let body = CloudText.form(
            [("grant_type", "client_credentials"), ("client_id", app.clientID)] + fields + [("scope", scope)])
        let response = try await http.send(
            .POST, app.tokenURL,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")], body: body)
        return try token(from: response, source: "Microsoft Entra ID (\(SecretHTTP.host(of: app.tokenURL)))", hiding: hiding)
    }

    /// The token of a 2xx answer; else the error, with the endpoint's own words.
    static func token(
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
            case 404 where managedIdentity, 410 where managedIdentity, 408, 429, 500...599:
                throw SecretError(.unreachable, detail, retryAfter: RetryAfter.parse(response.headers.first(name: "Retry-After")))
            default: throw SecretError(.denied, detail)
            }
        }
        let decoded = try response.json(OAuthTokenResponse.self, what: source)
        return decoded.token()
    }
}
