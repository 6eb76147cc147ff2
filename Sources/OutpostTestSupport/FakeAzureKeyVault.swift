import _CryptoExtras
package import Foundation
import Hummingbird
import Synchronization

/// A faithful fake of Azure Key Vault's secrets API and of the token endpoints
/// that feed it, on one real HTTP (or HTTPS) server: Microsoft Entra ID (OpenID
/// discovery and the client-credentials grant with a client secret, a certificate's
/// client assertion or a federated token, at `/{tenant}/...`), the Instance Metadata
/// Service's managed-identity endpoint, App Service's, Azure Arc's (with its key-file
/// challenge) and Service Fabric's.
///
/// Requests and answers follow Microsoft's documentation (paths, query
/// parameters, headers, JSON shapes, error codes and messages). Tokens are
/// opaque random strings the fake remembers with their audience, so a revoked,
/// expired or wrong-audience token gets the vault's real 401 with its
/// `WWW-Authenticate` challenge. The vault's audience follows its host as Key
/// Vault's does: `https://vault.X` at `NAME.vault.X`, else `resource`.
package final class FakeAzureKeyVault: Sendable {
    /// The endpoints a fault can be injected into.
    package enum Endpoint: Sendable {
        /// Every token endpoint (Entra ID, IMDS, App Service, Arc, Service Fabric).
        case token
        /// The vault's secrets API.
        case vault
    }

    /// How many requests each side has answered.
    package struct Counts: Sendable, Equatable {
        package var tokenRequests = 0
        package var vaultRequests = 0

        package init(tokenRequests: Int = 0, vaultRequests: Int = 0) {
            self.tokenRequests = tokenRequests
            self.vaultRequests = vaultRequests
        }
    }

    /// One token the fake issued: how it was asked for, to whom, for which audience.
    package struct Grant: Sendable, Equatable {
        package enum Kind: String, Sendable {
            case clientSecret, clientCertificate, federatedToken, imds, appService, arc, serviceFabric
        }

        package var kind: Kind
        /// The client id of the application or managed identity.
        package var principal: String
        /// `https://vault.azure.net` (no `/.default`).
        package var audience: String
        /// `jti` of the client assertion or federated token, when there was one.
        package var assertionID: String?
        /// The assertion's JOSE header `alg` (`RS256`, `PS256`), when there was one.
        package var algorithm: String?

        package init(kind: Kind, principal: String, audience: String, assertionID: String? = nil, algorithm: String? = nil) {
            self.kind = kind
            self.principal = principal
            self.audience = audience
            self.assertionID = assertionID
            self.algorithm = algorithm
        }
    }

    struct Version {
        var id: String
        var value: String
        var enabled = true
        var created = Int(Date().timeIntervalSince1970)
    }

    struct IssuedToken {
        var principal: String
        var audience: String
        var expires: Date
    }

    struct Fault: Equatable {
        var status: Int
        var retryAfter: String?
    }

    /// A certificate an application may sign client assertions with.
    struct RegisteredCertificate {
        var clientID: String
        var sha1: String
        var sha256: String
        var publicKey: _RSA.Signing.PublicKey
    }

    /// A federated identity credential of an application (Entra ID's "federated credentials").
    struct FederatedCredential {
        var clientID: String
        var issuer: String
        var subject: String
        var audience: String
    }

    struct State {
        var secrets: [String: [Version]] = [:]
        var tokens: [String: IssuedToken] = [:]
        var faults = FakeFaults<Endpoint>()
        var retryAfter: [Endpoint: String] = [:]
        var deniedPrincipals: Set<String> = []
        var tokenLifetime = 3599
        var delay: Duration?
        var counts = Counts()
        var grants: [Grant] = []
        var certificates: [RegisteredCertificate] = []
        var federated: [FederatedCredential] = []
        var arcKeys: Set<String> = []
        var endlessPaging = false
        var foreignNextLink: String?
    }

    /// The one tenant the fake's Entra ID knows.
    package let tenantID: String
    /// Registered applications: client id → client secret.
    let clients: [String: String]
    /// Client ids of the machine's managed identities; the first is the system-assigned one.
    let managedIdentities: [String]
    /// The secret App Service puts into `IDENTITY_HEADER`.
    package let appServiceHeader: String
    /// The secret Service Fabric puts into `IDENTITY_HEADER`.
    package let serviceFabricHeader: String
    /// Where the fake's Azure Arc agent writes its key files (`nil`: no Arc endpoint).
    package let arcKeyDirectory: String?
    /// The Arc-enabled server's own identity (default: the first managed identity).
    let arcIdentity: String?
    /// Most secrets in one list page (Key Vault's default is 25).
    let pageSize: Int
    /// The vault's audience on a host that is not `NAME.vault.X` (127.0.0.1, localhost).
    package let resource: String
    let state = Mutex(State())

    /// The public cloud's Key Vault audience.
    package static let publicResource = "https://vault.azure.net"
    /// API versions the fake accepts (`api-version`).
    static let apiVersions: Set<String> = [
        "2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01",
    ]
    /// The audience AKS workload identity's tokens carry.
    package static let tokenExchangeAudience = "api://AzureADTokenExchange"
    /// The key of the fake's Kubernetes service-account issuer (made once per test process).
    static let issuerKey: _RSA.Signing.PrivateKey = {
        do { return try _RSA.Signing.PrivateKey(keySize: .bits2048) } catch { fatalError("cannot make an RSA key: \(error)") }
    }()

    package init(
        tenantID: String = "72f988bf-86f1-41af-91ab-2d7cd011db47", clients: [String: String] = [:],
        managedIdentities: [String] = [], appServiceHeader: String = FakeCloud.randomToken(prefix: "ash-"),
        serviceFabricHeader: String = FakeCloud.randomToken(prefix: "sfh-"), arcKeyDirectory: String? = nil,
        arcIdentity: String? = nil, pageSize: Int = 25, resource: String = FakeAzureKeyVault.publicResource
    ) {
        self.tenantID = tenantID
        self.clients = clients
        self.managedIdentities = managedIdentities
        self.appServiceHeader = appServiceHeader
        self.serviceFabricHeader = serviceFabricHeader
        self.arcKeyDirectory = arcKeyDirectory
        self.arcIdentity = arcIdentity
        self.pageSize = pageSize
        self.resource = resource
    }

    // MARK: Where the fake's endpoints are, given the server's base URL

    /// The `authority` option (`AZURE_AUTHORITY_HOST`): Entra ID's routes are at `/{tenant}/...`.
    package static func authority(_ baseURL: String) -> String { baseURL }
    /// The managed identity `endpoint` option (IMDS).
    package static func imdsEndpoint(_ baseURL: String) -> String { baseURL + "/metadata/identity/oauth2/token" }
    /// `IDENTITY_ENDPOINT` for App Service.
    package static func appServiceEndpoint(_ baseURL: String) -> String { baseURL + "/msi/token" }
    /// `IDENTITY_ENDPOINT` for Azure Arc (set `IMDS_ENDPOINT` too, to anything).
    package static func arcEndpoint(_ baseURL: String) -> String { baseURL + "/arc/metadata/identity/oauth2/token" }
    /// `IDENTITY_ENDPOINT` for Service Fabric (serve the fake over TLS: its thumbprint is pinned).
    package static func serviceFabricEndpoint(_ baseURL: String) -> String { baseURL + "/sf/token" }

    // MARK: Setting the fake up

    /// Adds a version of secret `name` holding `value`; returns its version id (32 hex digits).
    @discardableResult
    package func setSecret(_ name: String, _ value: String) -> String {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        state.withLock { $0.secrets[name, default: []].append(Version(id: id, value: value)) }
        return id
    }

    /// Disables one version of a secret (Key Vault then answers 403 SecretDisabled).
    package func disable(_ name: String, version: String) {
        state.withLock { state in
            guard let index = state.secrets[name]?.firstIndex(where: { $0.id == version }) else { return }
            state.secrets[name]?[index].enabled = false
        }
    }

    /// Takes the `secrets/get` and `secrets/list` permissions away from a client or identity.
    package func deny(principal: String) {
        _ = state.withLock { $0.deniedPrincipals.insert(principal) }
    }

    /// The next `count` requests to `endpoint` fail with `status` and the body Azure
    /// sends then; status 200 on `.vault` sends an HTML page instead of JSON. A 429 or
    /// 503 carries `Retry-After: retryAfter` when given (the vault's 429 says `1` by default).
    package func inject(status: Int, on endpoint: Endpoint, count: Int = 1, retryAfter: String? = nil) {
        state.withLock { state in
            state.faults.add(endpoint, status: status, count: count)
            state.retryAfter[endpoint] = retryAfter
        }
    }

    /// Invalidates every token issued so far (as if revoked): the vault answers 401 to them.
    package func revokeTokens() {
        state.withLock { $0.tokens.removeAll() }
    }

    /// Lifetime of the tokens issued from now on (default 3599 s; 0: already stale when received).
    package func setTokenLifetime(seconds: Int) {
        state.withLock { $0.tokenLifetime = seconds }
    }

    /// Delays every vault answer (a slow vault).
    package func setDelay(_ delay: Duration?) {
        state.withLock { $0.delay = delay }
    }

    /// A vault gone wrong: every list page links to a further one, forever.
    package func setEndlessPaging(_ on: Bool) {
        state.withLock { $0.endlessPaging = on }
    }

    /// A list page's `nextLink` points at `url` instead (another host).
    package func setForeignNextLink(_ url: String?) {
        state.withLock { $0.foreignNextLink = url }
    }

    /// Lets application `clientID` sign in with client assertions signed by the key of
    /// the PEM certificate `certificatePEM` (an RSA certificate).
    package func registerCertificate(_ certificatePEM: String, for clientID: String) throws {
        let registered = try Self.registration(of: certificatePEM, clientID: clientID)
        state.withLock { $0.certificates.append(registered) }
    }

    /// Lets application `clientID` exchange tokens of `issuer` for `subject` (AKS:
    /// `system:serviceaccount:NAMESPACE:NAME`), as a federated identity credential does.
    package func addFederatedCredential(
        clientID: String, issuer: String, subject: String, audience: String = FakeAzureKeyVault.tokenExchangeAudience
    ) {
        state.withLock {
            $0.federated.append(FederatedCredential(clientID: clientID, issuer: issuer, subject: subject, audience: audience))
        }
    }

    /// A service-account token as the kubelet projects it for workload identity (RS256,
    /// signed by the fake's issuer key): `iss`, `sub`, `aud`, valid `lifetime` seconds from `issuedAt`.
    package static func federatedToken(
        issuer: String, subject: String, audience: String = tokenExchangeAudience, lifetime: Int = 3600,
        issuedAt: Date = Date()
    ) -> String {
        let now = Int(issuedAt.timeIntervalSince1970)
        let header = ["alg": "RS256", "typ": "JWT", "kid": "fake-issuer-key"]
        let claims: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": [audience], "iat": now, "nbf": now, "exp": now + lifetime,
            "jti": UUID().uuidString.lowercased(),
            "kubernetes.io": ["namespace": "outpost", "serviceaccount": ["name": "outpost-agent"]],
        ]
        func segment(_ object: Any) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return FakeAzureKeyVault.base64URL(data)
        }
        let input = segment(header) + "." + segment(claims)
        let signature = (try? issuerKey.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5))?.rawRepresentation ?? Data()
        return input + "." + FakeAzureKeyVault.base64URL(signature)
    }

    package var counts: Counts { state.withLock { $0.counts } }

    /// Every token issued so far, oldest first.
    package var grants: [Grant] { state.withLock { $0.grants } }

    /// Serves the fake on 127.0.0.1 for the duration of `body`, which gets the base URL;
    /// over HTTPS with `tls` (the Key Vault SDKs send tokens over https only).
    package func run<T: Sendable>(tls: TestCredential? = nil, _ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(scheme: tls == nil ? "http" : "https"), tls: tls, body)
    }

    /// The routes, for a server reached over `scheme` (links and audiences name it).
    func router(scheme: String) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/:tenant/v2.0/.well-known/openid-configuration") { request, context in
            self.openIDConfiguration(request, tenant: context.parameters.get("tenant") ?? "", scheme: scheme)
        }
        router.post("/:tenant/oauth2/v2.0/token") { request, context in
            try await self.entraToken(request, tenant: context.parameters.get("tenant") ?? "", scheme: scheme)
        }
        router.get("/metadata/identity/oauth2/token") { request, _ in self.imdsToken(request) }
        router.get("/msi/token") { request, _ in self.appServiceToken(request) }
        router.get("/arc/metadata/identity/oauth2/token") { request, _ in self.arcToken(request) }
        router.get("/sf/token") { request, _ in self.serviceFabricToken(request) }
        router.get("/secrets") { request, _ in
            await self.vaultRequest(request, scheme: scheme) { principal in
                self.listSecrets(request, principal: principal, scheme: scheme)
            }
        }
        router.get("/secrets/:name") { request, context in
            await self.vaultRequest(request, scheme: scheme) { principal in
                self.getSecret(
                    request, name: context.parameters.get("name") ?? "", version: nil, principal: principal, scheme: scheme)
            }
        }
        router.get("/secrets/:name/:version") { request, context in
            await self.vaultRequest(request, scheme: scheme) { principal in
                self.getSecret(
                    request, name: context.parameters.get("name") ?? "", version: context.parameters.get("version"),
                    principal: principal, scheme: scheme)
            }
        }
        return router
    }

    /// Takes one pending fault for `endpoint`, counting the request.
    func takeFault(_ endpoint: Endpoint) -> Fault? {
        state.withLock { state in
            switch endpoint {
            case .token: state.counts.tokenRequests += 1
            case .vault: state.counts.vaultRequests += 1
            }
            return state.faults.take(endpoint).map { Fault(status: $0, retryAfter: state.retryAfter[endpoint]) }
        }
    }

    /// Records a new token for `grant`.
    func issueToken(_ grant: Grant) -> (token: String, lifetime: Int) {
        let token = FakeCloud.randomToken(prefix: "eyJ0eXAiOiJKV1Qi.fake-aad-")
        let lifetime = state.withLock { state in
            // Token validators allow five minutes of clock skew past `exp`, so a
            // token announced with 0 s left still works; a client must not rely on it.
            state.tokens[token] = IssuedToken(
                principal: grant.principal, audience: grant.audience,
                expires: Date().addingTimeInterval(TimeInterval(state.tokenLifetime + 300)))
            state.grants.append(grant)
            return state.tokenLifetime
        }
        return (token, lifetime)
    }

    /// `http(s)://HOST:PORT` as the client addressed the server (for links and audiences).
    func origin(_ request: Request, _ scheme: String) -> String {
        "\(scheme)://\(request.head.authority ?? FakeCloud.header(request, "Host") ?? "127.0.0.1")"
    }

    /// The audience the vault at the request's host accepts, as Key Vault announces it:
    /// `https://vault.X[:PORT]` for `NAME.vault.X[:PORT]`, else `resource`.
    func vaultResource(_ request: Request) -> String {
        let authority = (request.head.authority ?? FakeCloud.header(request, "Host") ?? "").lowercased()
        guard let range = authority.range(of: ".vault."), !authority[..<range.lowerBound].isEmpty else { return resource }
        return "https://vault.\(authority[range.upperBound...])"
    }

    /// Whether Entra ID knows `resource` as Key Vault's audience in some cloud (any
    /// `https://vault.X`, and the fake's own `resource`).
    func knowsResource(_ resource: String) -> Bool {
        let trimmed = resource.hasSuffix("/") ? String(resource.dropLast()) : resource
        return trimmed == self.resource || (trimmed.hasPrefix("https://vault.") && trimmed.count > "https://vault.".count)
    }
}
