import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The fake's other token sources: authorized users (refresh-token grant), workload and
/// workforce identity pools behind STS, the IAM Credentials API, and the pieces an
/// external account reads its subject token from.
extension FakeGCPSecretManager {
    struct Federation {
        /// Authorized users by refresh token.
        var users: [String: AuthorizedUser] = [:]
        /// Pool providers by audience.
        var pools: [String: Pool] = [:]
        /// Who may get a token of a service account (`roles/iam.serviceAccountTokenCreator`).
        var tokenCreators: [String: Set<String>] = [:]
        var stsRequests: [STSRequest] = []
        var impersonations: [Impersonation] = []
        /// `/external/subject-token`'s answer and the header it wants.
        var subjectTokenBody: String?
        var subjectTokenHeader: (name: String, value: String)?
        var subjectTokenRequests = 0
    }

    struct AuthorizedUser {
        var clientID: String
        var clientSecret: String
        var email: String
    }

    struct Pool {
        /// OIDC (or other text) subject tokens the provider accepts, and the subject each maps to.
        var subjectTokens: [String: String] = [:]
        /// AWS keys by access key id whose signed `GetCallerIdentity` the provider accepts.
        var awsKeys: [String: AWSKey] = [:]
        /// A workforce pool's required `userProject` option (`nil`: a workload pool).
        var userProject: String?
    }

    struct AWSKey {
        var secretAccessKey: String
        var sessionToken: String?
        var arn: String
    }

    /// One token exchange as STS received it (the subject token left out).
    package struct STSRequest: Sendable, Equatable {
        package var audience: String
        package var subjectTokenType: String
        package var scope: String
        package var requestedTokenType: String
        /// The decoded `options` JSON (`{"userProject": ...}`), if sent.
        package var options: [String: String]?
        /// The client id of HTTP basic authentication, if sent.
        package var clientID: String?
        /// The URL of an AWS subject token's signed request.
        package var awsURL: String?
    }

    /// One `generateAccessToken` call as the IAM Credentials API received it.
    package struct Impersonation: Sendable, Equatable {
        package var caller: String
        package var target: String
        package var delegates: [String]
        package var scope: [String]
        package var lifetime: String
    }

    // MARK: Setting the fake up

    /// An authorized user (`authorized_user` file) whose refresh token the token endpoint honours.
    package func addAuthorizedUser(clientID: String, clientSecret: String, refreshToken: String, email: String) {
        state.withLock {
            $0.federation.users[refreshToken] = AuthorizedUser(clientID: clientID, clientSecret: clientSecret, email: email)
        }
    }

    /// A workload identity pool provider (`audience`) that accepts `token` as subject token for `subject`.
    package func allowSubjectToken(_ token: String, subject: String, audience: String) {
        state.withLock { $0.federation.pools[audience, default: Pool()].subjectTokens[token] = subject }
    }

    /// The provider `audience` no longer accepts `token` (it expired).
    package func revokeSubjectToken(_ token: String, audience: String) {
        _ = state.withLock { $0.federation.pools[audience]?.subjectTokens.removeValue(forKey: token) }
    }

    /// A provider (`audience`) that accepts `GetCallerIdentity` requests signed with this AWS key.
    package func allowAWS(
        accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil,
        arn: String = "arn:aws:sts::123456789012:assumed-role/outpost-agent/i-0123456789abcdef0", audience: String
    ) {
        state.withLock {
            $0.federation.pools[audience, default: Pool()].awsKeys[accessKeyID] = AWSKey(
                secretAccessKey: secretAccessKey, sessionToken: sessionToken, arn: arn)
        }
    }

    /// Makes `audience` a workforce pool provider, which wants `options.userProject` = `userProject`.
    package func requireUserProject(_ userProject: String, audience: String) {
        state.withLock { $0.federation.pools[audience, default: Pool()].userProject = userProject }
    }

    /// Lets `principal` (an email, or a federated `principal://...`) get tokens of `target`.
    package func allowImpersonation(of target: String, by principal: String) {
        _ = state.withLock { $0.federation.tokenCreators[target, default: []].insert(principal) }
    }

    /// What `GET /external/subject-token` answers, when it carries header `name: value`.
    package func serveSubjectToken(_ body: String, requiring header: (name: String, value: String)) {
        state.withLock {
            $0.federation.subjectTokenBody = body
            $0.federation.subjectTokenHeader = header
        }
    }

    package var stsRequests: [STSRequest] { state.withLock { $0.federation.stsRequests } }
    package var impersonations: [Impersonation] { state.withLock { $0.federation.impersonations } }
    package var subjectTokenRequests: Int { state.withLock { $0.federation.subjectTokenRequests } }

    /// The principal STS gives a federated subject of the pool provider `audience`.
    package static func federatedPrincipal(audience: String, subject: String) -> String {
        var pool = audience.replacingOccurrences(of: "//iam.googleapis.com/", with: "")
        if let providers = pool.range(of: "/providers/") { pool = String(pool[..<providers.lowerBound]) }
        return "principal://iam.googleapis.com/\(pool)/subject/\(subject)"
    }

    /// The `service_account_impersonation_url` of `email` at this fake.
    package static func impersonationURL(_ baseURL: String, email: String) -> String {
        "\(baseURL)/v1/projects/-/serviceAccounts/\(email):generateAccessToken"
    }

    /// STS's `token_url` at this fake.
    package static func stsURL(_ baseURL: String) -> String { baseURL + "/v1/token" }

    // MARK: Routes

    func addFederationRoutes(_ router: Router<BasicRequestContext>) {
        router.post("/v1/token") { request, _ in try await self.exchangeToken(request) }
        router.post("/v1/projects/:project/serviceAccounts/:account") { request, context in
            try await self.generateAccessToken(request, account: context.parameters.get("account") ?? "")
        }
        router.get("/external/subject-token") { request, _ in self.subjectToken(request) }
        addAWSInstanceRoutes(router)
    }

    /// `grant_type=refresh_token&client_id=...&client_secret=...&refresh_token=...` at `/token`.
    func refreshTokenGrant(_ form: [String: String]) -> Response {
        guard let user = state.withLock({ $0.federation.users[form["refresh_token"] ?? ""] }) else {
            return Self.oauthError(400, "invalid_grant", "Token has been expired or revoked.")
        }
        guard form["client_id"] == user.clientID else {
            return Self.oauthError(401, "invalid_client", "The OAuth client was not found.")
        }
        guard form["client_secret"] == user.clientSecret else {
            return Self.oauthError(401, "invalid_client", "Unauthorized")
        }
        // A user's grant covers what was consented to: cloud-platform here.
        if let scope = form["scope"], !scope.split(separator: " ").allSatisfy({ $0 == Self.scope[...] }) {
            return Self.oauthError(400, "invalid_scope", "Bad Request")
        }
        let (token, lifetime) = issueToken(principal: user.email)
        return FakeCloud.json(
            .ok, ["access_token": token, "expires_in": lifetime, "token_type": "Bearer", "scope": Self.scope])
    }

    /// STS `POST /v1/token` (RFC 8693 token exchange), as Google's documents it.
    func exchangeToken(_ request: Request) async throws -> Response {
        if let status = takeFault(.sts) { return Self.oauthError(status, "server_error", "Internal error") }
        let form = try await FakeCloud.form(request)
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange" else {
            return Self.oauthError(400, "unsupported_grant_type", "Unsupported grant type.")
        }
        guard form["requested_token_type"] == "urn:ietf:params:oauth:token-type:access_token" else {
            return Self.oauthError(400, "invalid_request", "Invalid value for \"requested_token_type\".")
        }
        let types = [
            "urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token",
            "urn:ietf:params:oauth:token-type:saml2", "urn:ietf:params:aws:token-type:aws4_request",
        ]
        let subjectTokenType = form["subject_token_type"] ?? ""
        guard types.contains(subjectTokenType) else {
            return Self.oauthError(400, "invalid_request", "Invalid value for \"subject_token_type\".")
        }
        let audience = form["audience"] ?? ""
        var options: [String: String]?
        if let text = form["options"] {
            // google-auth percent-encodes the JSON before the form does.
            let json = text.removingPercentEncoding ?? text
            options = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String]
            if options == nil { return Self.oauthError(400, "invalid_request", "Invalid value for \"options\".") }
        }
        var clientID: String?
        if let basic = FakeCloud.header(request, "Authorization"), basic.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(basic.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
        {
            clientID = decoded.split(separator: ":", maxSplits: 1).first.map(String.init)
        }
        let scope = form["scope"] ?? ""
        let subjectToken = form["subject_token"] ?? ""
        var awsURL: String?
        if let json = subjectToken.removingPercentEncoding,
            let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        {
            awsURL = object["url"] as? String
        }
        let record = STSRequest(
            audience: audience, subjectTokenType: subjectTokenType, scope: scope,
            requestedTokenType: form["requested_token_type"] ?? "", options: options, clientID: clientID, awsURL: awsURL)
        let pool = state.withLock { state in
            state.federation.stsRequests.append(record)
            return state.federation.pools[audience]
        }
        guard let pool else {
            return Self.oauthError(
                400, "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid. This might either be because the "
                    + "pool or provider is disabled or deleted or because it doesn't exist.")
        }
        if let required = pool.userProject, clientID == nil, options?["userProject"] != required {
            return Self.oauthError(
                400, "invalid_request", "Workforce pool requests must set options.userProject to a valid project.")
        }
        let subject: String
        if subjectTokenType == "urn:ietf:params:aws:token-type:aws4_request" {
            switch FakeGCPAWSSignature.verify(subjectToken, audience: audience, keys: pool.awsKeys) {
            case .success(let arn): subject = arn
            case .failure(let problem): return Self.oauthError(400, "invalid_grant", problem.description)
            }
        } else {
            guard let known = pool.subjectTokens[subjectToken] else {
                return Self.oauthError(400, "invalid_grant", "The given subject token is not valid for this provider.")
            }
            subject = known
        }
        let scopes = scope.isEmpty ? [Self.scope] : scope.split(separator: " ").map(String.init)
        let (token, lifetime) = issueToken(
            principal: Self.federatedPrincipal(audience: audience, subject: subject), scopes: scopes)
        return FakeCloud.json(
            .ok,
            [
                "access_token": token, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer", "expires_in": lifetime,
            ])
    }

    /// `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`.
    func generateAccessToken(_ request: Request, account segment: String) async throws -> Response {
        if let status = takeFault(.iam) { return Self.apiFault(status) }
        guard segment.hasSuffix(":generateAccessToken") else { return Self.apiError(404, "NOT_FOUND", "Method not found.") }
        let target = String(segment.dropLast(":generateAccessToken".count))
        let issued = FakeCloud.bearer(request).flatMap { token in state.withLock { $0.tokens[token] } }
            ?? FakeCloud.bearer(request).flatMap(selfSignedJWT)
        guard let issued, issued.expires > Date() else {
            return Self.apiError(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        }
        guard issued.scopes.contains(Self.scope) || issued.scopes.contains(Self.iamScope) else {
            return Self.apiError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard let body = (try? JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8))) as? [String: Any],
            let scope = body["scope"] as? [String], !scope.isEmpty
        else {
            return Self.apiError(400, "INVALID_ARGUMENT", "Scope required.")
        }
        let lifetime = body["lifetime"] as? String ?? "3600s"
        guard lifetime.hasSuffix("s"), let seconds = Int(lifetime.dropLast()), (1...43_200).contains(seconds) else {
            return Self.apiError(400, "INVALID_ARGUMENT", "Invalid lifetime: \(lifetime).")
        }
        let delegates = body["delegates"] as? [String] ?? []
        let prefix = "projects/-/serviceAccounts/"
        guard delegates.allSatisfy({ $0.hasPrefix(prefix) }) else {
            return Self.apiError(400, "INVALID_ARGUMENT", "Delegates must be projects/-/serviceAccounts/EMAIL.")
        }
        // Each link of the chain must hold Token Creator on the next.
        let chain = [issued.principal] + delegates.map { String($0.dropFirst(prefix.count)) } + [target]
        let allowed = state.withLock { state in
            state.federation.impersonations.append(
                Impersonation(caller: issued.principal, target: target, delegates: delegates, scope: scope, lifetime: lifetime))
            return zip(chain, chain.dropFirst()).allSatisfy { caller, callee in
                state.federation.tokenCreators[callee]?.contains(caller) == true
            }
        }
        guard allowed else {
            return Self.apiError(
                403, "PERMISSION_DENIED",
                "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
        }
        let token = FakeCloud.randomToken(prefix: "ya29.c.fake-impersonated-")
        let expires = Date().addingTimeInterval(TimeInterval(seconds))
        state.withLock { state in
            state.tokens[token] = IssuedToken(principal: target, expires: expires.addingTimeInterval(300), scopes: scope)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return FakeCloud.json(.ok, ["accessToken": token, "expireTime": formatter.string(from: expires)])
    }

    /// `GET /external/subject-token`: an identity endpoint that hands out the subject token.
    func subjectToken(_ request: Request) -> Response {
        let (body, header) = state.withLock { state in
            state.federation.subjectTokenRequests += 1
            return (state.federation.subjectTokenBody, state.federation.subjectTokenHeader)
        }
        guard let body else { return FakeCloud.text(.notFound, "no subject token configured") }
        if let header, FakeCloud.header(request, header.name) != header.value {
            return FakeCloud.text(.forbidden, "missing header \(header.name)")
        }
        return FakeCloud.text(.ok, body, contentType: "application/json")
    }
}
