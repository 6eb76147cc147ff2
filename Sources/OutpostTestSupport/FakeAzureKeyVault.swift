import Foundation
import Hummingbird
import Synchronization

/// A faithful fake of Azure Key Vault's secrets API and of the token endpoints
/// that feed it, on one real HTTP server: Microsoft Entra ID's client-credentials
/// grant (under `/login`), the Instance Metadata Service's managed-identity
/// endpoint, and App Service's identity endpoint.
///
/// Requests and answers follow Microsoft's documentation (paths, query
/// parameters, headers, JSON shapes, error codes and messages). Tokens are
/// opaque random strings the fake remembers, so a revoked or expired token gets
/// the vault's real 401 with its `WWW-Authenticate` challenge.
package final class FakeAzureKeyVault: Sendable {
    /// The endpoints a fault can be injected into.
    package enum Endpoint: Sendable {
        /// Every token endpoint (Entra ID, IMDS, App Service).
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

    struct Version {
        var id: String
        var value: String
        var enabled = true
        var created = Int(Date().timeIntervalSince1970)
    }

    struct IssuedToken {
        var principal: String
        var expires: Date
    }

    struct State {
        var secrets: [String: [Version]] = [:]
        var tokens: [String: IssuedToken] = [:]
        var faults = FakeFaults<Endpoint>()
        var deniedPrincipals: Set<String> = []
        var tokenLifetime = 3599
        var delay: Duration?
        var counts = Counts()
    }

    /// The one tenant the fake's Entra ID knows.
    package let tenantID: String
    /// Registered applications: client id → client secret.
    let clients: [String: String]
    /// Client ids of the machine's managed identities; the first is the system-assigned one.
    let managedIdentities: [String]
    /// The secret App Service puts into `IDENTITY_HEADER`.
    package let appServiceHeader: String
    /// Most secrets in one list page (Key Vault's default is 25).
    let pageSize: Int
    let state = Mutex(State())

    /// The token audience Key Vault accepts.
    package static let resource = "https://vault.azure.net"
    /// API versions the fake accepts (`api-version`).
    static let apiVersions: Set<String> = ["2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"]

    package init(
        tenantID: String = "72f988bf-86f1-41af-91ab-2d7cd011db47", clients: [String: String] = [:],
        managedIdentities: [String] = [], appServiceHeader: String = FakeCloud.randomToken(prefix: "ash-"),
        pageSize: Int = 25
    ) {
        self.tenantID = tenantID
        self.clients = clients
        self.managedIdentities = managedIdentities
        self.appServiceHeader = appServiceHeader
        self.pageSize = pageSize
    }

    // MARK: Where the fake's endpoints are, given the server's base URL

    /// The `authority` option for client credentials.
    package static func authority(_ baseURL: String) -> String { baseURL + "/login" }
    /// The managed identity `endpoint` option (IMDS).
    package static func imdsEndpoint(_ baseURL: String) -> String { baseURL + "/metadata/identity/oauth2/token" }
    /// `IDENTITY_ENDPOINT` for App Service.
    package static func appServiceEndpoint(_ baseURL: String) -> String { baseURL + "/msi/token" }

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
    /// sends then; status 200 on `.vault` sends an HTML page instead of JSON.
    package func inject(status: Int, on endpoint: Endpoint, count: Int = 1) {
        state.withLock { $0.faults.add(endpoint, status: status, count: count) }
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

    package var counts: Counts { state.withLock { $0.counts } }

    /// Serves the fake on 127.0.0.1 for the duration of `body`, which gets the base URL.
    package func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(), body)
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/login/:tenant/oauth2/v2.0/token") { request, context in
            try await self.clientCredentialsToken(request, tenant: context.parameters.get("tenant") ?? "")
        }
        router.get("/metadata/identity/oauth2/token") { request, _ in self.imdsToken(request) }
        router.get("/msi/token") { request, _ in self.appServiceToken(request) }
        router.get("/secrets") { request, _ in
            await self.vaultRequest(request) { principal in self.listSecrets(request, principal: principal) }
        }
        router.get("/secrets/:name") { request, context in
            await self.vaultRequest(request) { principal in
                self.getSecret(request, name: context.parameters.get("name") ?? "", version: nil, principal: principal)
            }
        }
        router.get("/secrets/:name/:version") { request, context in
            await self.vaultRequest(request) { principal in
                self.getSecret(
                    request, name: context.parameters.get("name") ?? "", version: context.parameters.get("version"),
                    principal: principal)
            }
        }
        return router
    }

    /// Takes one pending fault for `endpoint`, counting the request.
    func takeFault(_ endpoint: Endpoint) -> Int? {
        state.withLock { state in
            switch endpoint {
            case .token: state.counts.tokenRequests += 1
            case .vault: state.counts.vaultRequests += 1
            }
            return state.faults.take(endpoint)
        }
    }

    /// Records a new token for `principal`.
    func issueToken(principal: String) -> (token: String, lifetime: Int) {
        let token = FakeCloud.randomToken(prefix: "eyJ0eXAiOiJKV1Qi.fake-aad-")
        let lifetime = state.withLock { state in
            // Token validators allow five minutes of clock skew past `exp`, so a
            // token announced with 0 s left still works; a client must not rely on it.
            state.tokens[token] = IssuedToken(
                principal: principal, expires: Date().addingTimeInterval(TimeInterval(state.tokenLifetime + 300)))
            return state.tokenLifetime
        }
        return (token, lifetime)
    }
}
