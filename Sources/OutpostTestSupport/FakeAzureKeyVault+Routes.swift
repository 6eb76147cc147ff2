import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The fake's handlers: what Entra ID, IMDS, App Service and Key Vault answer.
extension FakeAzureKeyVault {
    // MARK: Token endpoints

    /// `GET /{tenant}/v2.0/.well-known/openid-configuration`: where MSAL finds the token endpoint.
    func openIDConfiguration(_ request: Request, tenant: String, scheme: String) -> Response {
        guard tenant == tenantID || tenant == "organizations" || tenant == "common" else {
            return Self.aadError(
                .badRequest, "invalid_tenant", 90002,
                "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
        }
        let base = "\(origin(request, scheme))/\(tenantID)"
        return FakeCloud.json(
            .ok,
            [
                "token_endpoint": "\(base)/oauth2/v2.0/token", "authorization_endpoint": "\(base)/oauth2/v2.0/authorize",
                "device_authorization_endpoint": "\(base)/oauth2/v2.0/devicecode", "issuer": "\(base)/v2.0",
                "jwks_uri": "\(origin(request, scheme))/\(tenantID)/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"], "tenant_region_scope": "EU",
            ])
    }

    /// `POST /{tenant}/oauth2/v2.0/token`, client-credentials grant: with `client_secret`,
    /// or a `client_assertion` (a certificate-signed JWT, or a federated token).
    func entraToken(_ request: Request, tenant: String, scheme: String) async throws -> Response {
        if let fault = takeFault(.token) { return Self.tokenFault(fault) }
        let form = try await FakeCloud.form(request)
        guard tenant == tenantID else {
            return Self.aadError(
                .badRequest, "invalid_request", 90002,
                "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
        }
        guard form["grant_type"] == "client_credentials" else {
            return Self.aadError(
                .badRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        }
        let clientID = form["client_id"] ?? ""
        let registered = state.withLock { state in
            (state.certificates.contains { $0.clientID == clientID }, state.federated.contains { $0.clientID == clientID })
        }
        guard clients[clientID] != nil || registered.0 || registered.1 else {
            return Self.aadError(
                .badRequest, "unauthorized_client", 700016,
                "Application with identifier '\(clientID)' was not found in the directory '\(tenantID)'.")
        }
        let scope = form["scope"] ?? ""
        guard scope.hasSuffix("/.default"), knowsResource(String(scope.dropLast("/.default".count))) else {
            return Self.aadError(
                .badRequest, "invalid_scope", 1002012,
                "The provided value for scope \(scope) is not valid. Client credential flows must have a "
                    + "scope value with /.default suffixed to the resource identifier (application ID URI).")
        }
        let audience = String(scope.dropLast("/.default".count))
        var grant = Grant(kind: .clientSecret, principal: clientID, audience: audience)
        if let assertion = form["client_assertion"] {
            guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" else {
                return Self.aadError(
                    .badRequest, "invalid_request", 50027,
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.")
            }
            let tokenURL = "\(origin(request, scheme))/\(tenant)/oauth2/v2.0/token"
            switch checkAssertion(assertion, clientID: clientID, tokenURL: tokenURL) {
            case .failure(let refusal): return refusal.response
            case .success(let checked):
                grant.kind = checked.kind
                grant.assertionID = checked.id
                grant.algorithm = checked.algorithm
            }
        } else {
            guard let expected = clients[clientID], form["client_secret"] == expected else {
                return Self.aadError(
                    .unauthorized, "invalid_client", 7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                        + "not the client secret ID, for a secret added to app '\(clientID)'.")
            }
        }
        let (token, lifetime) = issueToken(grant)
        return FakeCloud.json(
            .ok, ["token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token])
    }

    /// `GET /metadata/identity/oauth2/token` of the Instance Metadata Service.
    func imdsToken(_ request: Request) -> Response {
        if let fault = takeFault(.token) { return Self.tokenFault(fault) }
        guard FakeCloud.header(request, "Metadata") == "true" else {
            return FakeCloud.json(
                .badRequest, ["error": "invalid_request", "error_description": "Required metadata header not specified"])
        }
        return managedIdentityToken(request, kind: .imds, apiVersions: ["2018-02-01", "2019-08-01"], includeExpiresIn: true)
    }

    /// `GET {IDENTITY_ENDPOINT}` of App Service, authenticated by `X-IDENTITY-HEADER`.
    func appServiceToken(_ request: Request) -> Response {
        if let fault = takeFault(.token) { return Self.tokenFault(fault) }
        guard FakeCloud.header(request, "X-IDENTITY-HEADER") == appServiceHeader else {
            return FakeCloud.json(
                .forbidden, ["error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing or not valid"])
        }
        return managedIdentityToken(request, kind: .appService, apiVersions: ["2019-08-01"], includeExpiresIn: false)
    }

    /// `GET {IDENTITY_ENDPOINT}` of an Azure Arc-enabled server: without `Authorization`
    /// it writes a fresh key into `arcKeyDirectory` and answers 401 `WWW-Authenticate:
    /// Basic realm=<that file>`; with `Authorization: Basic <key>` it issues the token.
    func arcToken(_ request: Request) -> Response {
        if let fault = takeFault(.token) { return Self.tokenFault(fault) }
        guard let arcKeyDirectory else { return FakeCloud.text(.notFound, "no Azure Arc agent here") }
        guard FakeCloud.header(request, "Metadata") == "true" else {
            return FakeCloud.json(
                .badRequest, ["error": "invalid_request", "error_description": "Required metadata header not specified"])
        }
        guard let authorization = FakeCloud.header(request, "Authorization") else {
            let key = FakeCloud.randomToken(prefix: "")
            let path = arcKeyDirectory + "/" + UUID().uuidString.lowercased() + ".key"
            guard FileManager.default.createFile(atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o640])
            else { return FakeCloud.text(.internalServerError, "cannot write \(path)") }
            state.withLock { _ = $0.arcKeys.insert(key) }
            return FakeCloud.json(
                .unauthorized, ["error": "unauthorized", "error_description": "Basic authentication required"],
                headers: [("WWW-Authenticate", "Basic realm=\(path)")])
        }
        let key = authorization.hasPrefix("Basic ") ? String(authorization.dropFirst("Basic ".count)) : ""
        guard state.withLock({ $0.arcKeys.contains(key) }) else {
            return FakeCloud.json(
                .unauthorized, ["error": "unauthorized", "error_description": "Invalid Basic authentication key"])
        }
        return managedIdentityToken(request, kind: .arc, apiVersions: ["2019-11-01", "2020-06-01"], includeExpiresIn: true)
    }

    /// `GET {IDENTITY_ENDPOINT}` of Service Fabric, authenticated by the `secret` header.
    func serviceFabricToken(_ request: Request) -> Response {
        if let fault = takeFault(.token) { return Self.tokenFault(fault) }
        guard FakeCloud.header(request, "secret") == serviceFabricHeader else {
            return FakeCloud.json(
                .unauthorized,
                ["error": ["code": "SecretHeaderNotFound", "message": "Secret is not found in the request headers."]])
        }
        return managedIdentityToken(
            request, kind: .serviceFabric, apiVersions: ["2019-07-01-preview"], includeExpiresIn: false, numericExpiry: true)
    }

    private func managedIdentityToken(
        _ request: Request, kind: Grant.Kind, apiVersions: Set<String>, includeExpiresIn: Bool, numericExpiry: Bool = false
    ) -> Response {
        guard let version = FakeCloud.query(request, "api-version") else {
            return FakeCloud.json(
                .badRequest,
                ["error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"])
        }
        guard apiVersions.contains(version) else {
            return FakeCloud.json(
                .badRequest, ["error": "invalid_request", "error_description": "Invalid version of api: \(version)"])
        }
        let resource = FakeCloud.query(request, "resource") ?? ""
        guard knowsResource(resource) else {
            return FakeCloud.json(
                .badRequest,
                [
                    "error": "invalid_resource",
                    "error_description": "AADSTS500011: The resource principal named \(resource) was not found in the tenant",
                ])
        }
        let requested = FakeCloud.query(request, "client_id") ?? FakeCloud.query(request, "principal_id")
        let system = kind == .arc ? arcIdentity ?? managedIdentities.first : managedIdentities.first
        guard let identity = requested ?? system, managedIdentities.contains(identity) || identity == arcIdentity else {
            return FakeCloud.json(.badRequest, ["error": "invalid_request", "error_description": "Identity not found"])
        }
        let audience = resource.hasSuffix("/") ? String(resource.dropLast()) : resource
        let (token, lifetime) = issueToken(Grant(kind: kind, principal: identity, audience: audience))
        let now = Int(Date().timeIntervalSince1970)
        var body: [String: Any] = [
            "access_token": token, "client_id": identity,
            // Service Fabric sends a number; IMDS, App Service and Arc send numbers as strings.
            "expires_on": numericExpiry ? (now + lifetime) as Any : String(now + lifetime) as Any,
            "resource": resource, "token_type": "Bearer",
        ]
        if includeExpiresIn {
            body["expires_in"] = String(lifetime)
            body["ext_expires_in"] = String(lifetime)
            body["not_before"] = String(now - 300)
        }
        return FakeCloud.json(.ok, body)
    }

    // MARK: The vault

    /// Counts, applies faults and the delay, checks `api-version` and the bearer
    /// token, then runs `handler` with the token's principal.
    func vaultRequest(_ request: Request, scheme: String, _ handler: (String) -> Response) async -> Response {
        if let fault = takeFault(.vault) { return Self.vaultFault(fault) }
        if let delay = state.withLock({ $0.delay }) { try? await Task.sleep(for: delay) }
        guard let version = FakeCloud.query(request, "api-version") else {
            return Self.vaultError(.badRequest, "BadParameter", "The request URI contains an invalid or missing api-version.")
        }
        guard Self.apiVersions.contains(version) else {
            return Self.vaultError(
                .badRequest, "BadParameter",
                "The specified version (\(version)) is not recognized. Consider using the latest supported version (7.4).")
        }
        let audience = vaultResource(request)
        let challenge = (
            "WWW-Authenticate", "Bearer authorization=\"\(origin(request, scheme))/\(tenantID)\", resource=\"\(audience)\""
        )
        guard let token = FakeCloud.bearer(request) else {
            return Self.vaultError(
                .unauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", headers: [challenge])
        }
        let issued = state.withLock { $0.tokens[token] }
        guard let issued else {
            return Self.vaultError(
                .unauthorized, "Unauthorized", "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.",
                headers: [challenge])
        }
        guard issued.expires > Date() else {
            return Self.vaultError(
                .unauthorized, "Unauthorized", "[TokenExpired] Error validating token: 'S2S12086'.", headers: [challenge])
        }
        guard issued.audience == audience else {
            return Self.vaultError(
                .unauthorized, "Unauthorized", "AKV10022: Invalid audience. Expected \(audience), found: \(issued.audience).",
                headers: [challenge])
        }
        return handler(issued.principal)
    }

    func getSecret(_ request: Request, name: String, version: String?, principal: String, scheme: String) -> Response {
        let (versions, denied) = state.withLock { ($0.secrets[name], $0.deniedPrincipals.contains(principal)) }
        if denied { return forbidden(principal: principal, operation: "get") }
        let found = version.map { wanted in versions?.first { $0.id == wanted } } ?? versions?.last
        guard let found else {
            let what = version.map { "\(name)/\($0)" } ?? name
            return Self.vaultError(
                .notFound, "SecretNotFound",
                "A secret with (name/id) \(what) was not found in this key vault. If you recently deleted this secret you "
                    + "may be able to recover it using the correct recovery command. For help resolving this issue, please "
                    + "see https://go.microsoft.com/fwlink/?linkid=2125182")
        }
        guard found.enabled else {
            return FakeCloud.json(
                .forbidden,
                [
                    "error": [
                        "code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.",
                        "innererror": ["code": "SecretDisabled"],
                    ]
                ])
        }
        return FakeCloud.json(
            .ok,
            [
                "value": found.value, "id": "\(origin(request, scheme))/secrets/\(name)/\(found.id)",
                "attributes": [
                    "enabled": true, "created": found.created, "updated": found.created,
                    "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
                ],
                "tags": [String: String](),
            ])
    }

    func listSecrets(_ request: Request, principal: String, scheme: String) -> Response {
        let (secrets, denied) = state.withLock { ($0.secrets, $0.deniedPrincipals.contains(principal)) }
        if denied { return forbidden(principal: principal, operation: "list") }
        let names = secrets.keys.sorted()
        let requested = FakeCloud.query(request, "maxresults").flatMap { Int($0) } ?? 25
        guard (1...25).contains(requested) else {
            return Self.vaultError(.badRequest, "BadParameter", "maxresults must be between 1 and 25.")
        }
        let size = min(requested, pageSize)
        let offset = FakeCloud.query(request, "$skiptoken")
            .flatMap { Data(base64Encoded: $0) }
            .flatMap { Int(String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "offset:", with: "")) } ?? 0
        let page = names.dropFirst(offset).prefix(size)
        let origin = self.origin(request, scheme)
        let (endless, foreign) = state.withLock { ($0.endlessPaging, $0.foreignNextLink) }
        var body: [String: Any] = [
            "value": page.map { name in
                ["id": "\(origin)/secrets/\(name)", "attributes": ["enabled": true], "contentType": "text/plain"]
            }
        ]
        if let foreign {
            body["nextLink"] = foreign
        } else if endless || offset + size < names.count {
            let skip = Data("offset:\(offset + size)".utf8).base64EncodedString()
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let version = FakeCloud.query(request, "api-version") ?? "7.4"
            body["nextLink"] = "\(origin)/secrets?api-version=\(version)&$skiptoken=\(skip)&maxresults=\(size)"
        } else {
            body["nextLink"] = NSNull()
        }
        return FakeCloud.json(.ok, body)
    }

    private func forbidden(principal: String, operation: String) -> Response {
        FakeCloud.json(
            .forbidden,
            [
                "error": [
                    "code": "Forbidden",
                    "message": "The user, group or application 'appid=\(principal);iss=https://sts.windows.net/\(tenantID)/' "
                        + "does not have secrets \(operation) permission on key vault 'fakevault;location=westeurope'. "
                        + "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                    "innererror": ["code": "AccessDenied"],
                ]
            ])
    }

    // MARK: Error bodies

    static func vaultError(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, headers: [(String, String)] = []
    ) -> Response {
        FakeCloud.json(status, ["error": ["code": code, "message": message]], headers: headers)
    }

    static func vaultFault(_ fault: Fault) -> Response {
        switch fault.status {
        case 200:
            // A proxy or captive portal answering in the vault's place.
            return FakeCloud.text(.ok, "<html><body>Please sign in to the network</body></html>", contentType: "text/html")
        case 429:
            return vaultError(
                .tooManyRequests, "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
                headers: [("Retry-After", fault.retryAfter ?? "1")])
        default:
            return vaultError(
                HTTPResponse.Status(code: fault.status), "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry later.",
                headers: fault.retryAfter.map { [("Retry-After", $0)] } ?? [])
        }
    }

    /// Entra ID's error body; `error_description` ends with the trace lines Entra ID appends.
    static func aadError(_ status: HTTPResponse.Status, _ error: String, _ code: Int, _ message: String) -> Response {
        let trace = UUID().uuidString.lowercased()
        let now = ISO8601DateFormatter().string(from: Date())
        return FakeCloud.json(
            status,
            [
                "error": error,
                "error_description": "AADSTS\(code): \(message) Trace ID: \(trace) Correlation ID: \(trace) Timestamp: \(now)"
                    .replacingOccurrences(of: " Trace ID", with: "\r\nTrace ID")
                    .replacingOccurrences(of: " Correlation ID", with: "\r\nCorrelation ID")
                    .replacingOccurrences(of: " Timestamp", with: "\r\nTimestamp"),
                "error_codes": [code], "timestamp": now, "trace_id": trace, "correlation_id": trace,
            ])
    }

    static func tokenFault(_ fault: Fault) -> Response {
        FakeCloud.json(
            HTTPResponse.Status(code: fault.status),
            ["error": "temporarily_unavailable", "error_description": "The service is temporarily unavailable."],
            headers: fault.retryAfter.map { [("Retry-After", $0)] } ?? [])
    }
}
