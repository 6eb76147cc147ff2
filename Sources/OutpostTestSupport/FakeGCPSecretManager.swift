import Foundation
import Hummingbird
import Synchronization

/// A faithful fake of Google Cloud Secret Manager's REST API (versions access,
/// secrets list, global and regional) and the token sources in front of it, on one
/// real HTTP server:
///
/// - Google's OAuth token endpoint (`/token`): the JWT bearer grant, which verifies
///   the assertion's RS256 signature with the service account's public key and checks
///   its claims, and the refresh-token grant of authorized users;
/// - the GCE metadata server (`/computeMetadata/v1`);
/// - Google's STS (`/v1/token`): the token exchange of workload identity federation,
///   for OIDC subject tokens and AWS-signed `GetCallerIdentity` requests, whose SigV4
///   signature it verifies with the AWS keys the test gave it;
/// - the IAM Credentials API (`/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`);
/// - for external accounts: a subject-token URL (`/external/subject-token`) and an
///   EC2 instance metadata service with IMDSv2 (`/latest/...`).
///
/// Secret Manager also accepts a service account's self-signed JWT as the bearer
/// token, as Google does (the official client library sends one).
///
/// Payloads go out base64-encoded with their CRC32C as a decimal string, names
/// carry the project number, and errors have Google's `{"error": {"code",
/// "message", "status"}}` shape, as the documentation describes.
package final class FakeGCPSecretManager: Sendable {
    /// The endpoints a fault can be injected into.
    package enum Endpoint: Sendable {
        /// The OAuth token endpoint and the metadata server's token.
        case token
        /// Secret Manager's API.
        case api
        /// STS's token exchange (`/v1/token`).
        case sts
        /// The IAM Credentials API (`generateAccessToken`).
        case iam
    }

    /// How many requests each endpoint has answered.
    package struct Counts: Sendable, Equatable {
        /// The OAuth token endpoint (both grants) and the metadata server's token.
        package var tokenRequests = 0
        package var apiRequests = 0
        package var stsRequests = 0
        package var iamRequests = 0

        package init(tokenRequests: Int = 0, apiRequests: Int = 0, stsRequests: Int = 0, iamRequests: Int = 0) {
            self.tokenRequests = tokenRequests
            self.apiRequests = apiRequests
            self.stsRequests = stsRequests
            self.iamRequests = iamRequests
        }
    }

    struct Version {
        var number: Int
        var data: [UInt8]
        var enabled = true
    }

    struct IssuedToken {
        var principal: String
        var expires: Date
        var scopes: [String]
    }

    struct State {
        /// Secrets by location (`""`: global), then id.
        var secrets: [String: [String: [Version]]] = [:]
        var tokens: [String: IssuedToken] = [:]
        var deniedSecrets: Set<String> = []
        var deniedPrincipals: Set<String> = []
        var corruptChecksums = false
        var faults = FakeFaults<Endpoint>()
        var tokenLifetime = 3599
        var delay: Duration?
        var counts = Counts()
        var endlessListing = false
        var repeatingPageToken = false
        var federation = Federation()
        var awsInstance = AWSInstance()
    }

    /// The project's id (`outpost-test`) and number (used in returned names, as Google does).
    package let projectID: String
    package let projectNumber: String
    /// Service accounts whose keys the token endpoint accepts, by email.
    let serviceAccounts: [String: FakeGCPServiceAccount]
    /// The email of the VM's default service account (metadata server).
    package let metadataAccount: String
    /// Most secrets in one list page.
    let pageSize: Int
    let state = Mutex(State())

    package static let scope = "https://www.googleapis.com/auth/cloud-platform"
    /// The scope google-auth asks for when a service account's token is only used to
    /// impersonate another (the IAM Credentials API accepts it; Secret Manager does not).
    package static let iamScope = "https://www.googleapis.com/auth/iam"

    package init(
        projectID: String = "outpost-test", projectNumber: String = "123456789012",
        serviceAccounts: [FakeGCPServiceAccount] = [],
        metadataAccount: String = "123456789012-compute@developer.gserviceaccount.com", pageSize: Int = 25
    ) {
        self.projectID = projectID
        self.projectNumber = projectNumber
        var byEmail: [String: FakeGCPServiceAccount] = [:]
        for account in serviceAccounts { byEmail[account.email] = account }
        self.serviceAccounts = byEmail
        self.metadataAccount = metadataAccount
        self.pageSize = pageSize
    }

    /// The `token_uri` of key files for this fake.
    package static func tokenURI(_ baseURL: String) -> String { baseURL + "/token" }

    // MARK: Setting the fake up

    /// Adds a version holding `text` (UTF-8) to a global secret, or to a regional one in
    /// `location`; returns its number (1, 2, ...).
    @discardableResult
    package func setSecret(_ name: String, _ text: String, location: String? = nil) -> Int {
        setSecret(name, bytes: Array(text.utf8), location: location)
    }

    /// Adds a version holding raw `bytes`; returns its number.
    @discardableResult
    package func setSecret(_ name: String, bytes: [UInt8], location: String? = nil) -> Int {
        state.withLock { state in
            let place = location ?? ""
            let number = (state.secrets[place]?[name]?.last?.number ?? 0) + 1
            state.secrets[place, default: [:]][name, default: []].append(Version(number: number, data: bytes))
            return number
        }
    }

    /// Disables a version of a global secret (access then answers 400 FAILED_PRECONDITION).
    package func disable(_ name: String, version: Int) {
        state.withLock { state in
            guard let index = state.secrets[""]?[name]?.firstIndex(where: { $0.number == version }) else { return }
            state.secrets[""]?[name]?[index].enabled = false
        }
    }

    /// Every list page ends with a `nextPageToken`, forever (a broken or hostile store);
    /// with `repeating`, the token of the page asked for (a loop).
    package func setEndlessListing(_ endless: Bool, repeating: Bool = false) {
        state.withLock {
            $0.endlessListing = endless
            $0.repeatingPageToken = repeating
        }
    }

    /// Denies access to one secret (IAM without `secretmanager.versions.access`).
    package func deny(secret: String) {
        _ = state.withLock { $0.deniedSecrets.insert(secret) }
    }

    /// Denies every API call of one account (by email).
    package func deny(principal: String) {
        _ = state.withLock { $0.deniedPrincipals.insert(principal) }
    }

    /// Sends a wrong `dataCrc32c` with every payload (corruption on the way).
    package func setCorruptChecksums(_ corrupt: Bool) {
        state.withLock { $0.corruptChecksums = corrupt }
    }

    /// The next `count` requests to `endpoint` fail with `status` and Google's body
    /// for it; status 200 on `.api` sends an HTML page instead of JSON.
    package func inject(status: Int, on endpoint: Endpoint, count: Int = 1) {
        state.withLock { $0.faults.add(endpoint, status: status, count: count) }
    }

    /// Invalidates every token issued so far: the API answers 401 UNAUTHENTICATED to them.
    package func revokeTokens() {
        state.withLock { $0.tokens.removeAll() }
    }

    /// `expires_in` of tokens issued from now on (default 3599 s). The API still
    /// accepts a token for five minutes past it (clock skew), as Google does.
    package func setTokenLifetime(seconds: Int) {
        state.withLock { $0.tokenLifetime = seconds }
    }

    /// Delays every API answer (a slow service).
    package func setDelay(_ delay: Duration?) {
        state.withLock { $0.delay = delay }
    }

    package var counts: Counts { state.withLock { $0.counts } }

    /// Serves the fake on 127.0.0.1 for the duration of `body`, which gets the base URL
    /// (also the `endpoint` and `metadata_endpoint` options).
    package func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(), body)
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/token") { request, _ in try await self.oauthToken(request) }
        router.get("/computeMetadata/v1/instance/service-accounts/:account/token") { request, context in
            self.metadataToken(request, account: context.parameters.get("account") ?? "")
        }
        router.get("/computeMetadata/v1/project/project-id") { request, _ in self.metadataProjectID(request) }
        for prefix in ["/v1/projects/:project", "/v1/projects/:project/locations/:location"] {
            router.get(RouterPath(prefix + "/secrets")) { request, context in
                await self.apiRequest(request) { principal in
                    self.listSecrets(
                        request, project: context.parameters.get("project") ?? "",
                        location: context.parameters.get("location"), principal: principal)
                }
            }
            router.get(RouterPath(prefix + "/secrets/:secret/versions/:version")) { request, context in
                await self.apiRequest(request) { principal in
                    self.accessVersion(
                        project: context.parameters.get("project") ?? "", location: context.parameters.get("location"),
                        secret: context.parameters.get("secret") ?? "",
                        versionSegment: context.parameters.get("version") ?? "", principal: principal)
                }
            }
        }
        addFederationRoutes(router)
        return router
    }

    /// Takes one pending fault for `endpoint`, counting the request.
    func takeFault(_ endpoint: Endpoint) -> Int? {
        state.withLock { state in
            switch endpoint {
            case .token: state.counts.tokenRequests += 1
            case .api: state.counts.apiRequests += 1
            case .sts: state.counts.stsRequests += 1
            case .iam: state.counts.iamRequests += 1
            }
            return state.faults.take(endpoint)
        }
    }

    /// Records a new access token for `principal`, good for `scopes`.
    func issueToken(principal: String, scopes: [String] = [scope]) -> (token: String, lifetime: Int) {
        let token = FakeCloud.randomToken(prefix: "ya29.c.fake-")
        let lifetime = state.withLock { state in
            state.tokens[token] = IssuedToken(
                principal: principal, expires: Date().addingTimeInterval(TimeInterval(state.tokenLifetime + 300)),
                scopes: scopes)
            return state.tokenLifetime
        }
        return (token, lifetime)
    }
}
