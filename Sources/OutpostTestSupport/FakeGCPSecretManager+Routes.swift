import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The fake's handlers: what Google's token endpoint, the metadata server and
/// Secret Manager answer.
extension FakeGCPSecretManager {
    // MARK: Tokens

    /// `POST /token`: the JWT bearer grant of service accounts, or the refresh-token
    /// grant of authorized users.
    func oauthToken(_ request: Request) async throws -> Response {
        if let status = takeFault(.token) { return Self.oauthError(status, "internal_failure", "Backend error") }
        let form = try await FakeCloud.form(request)
        switch form["grant_type"] {
        case "urn:ietf:params:oauth:grant-type:jwt-bearer": return jwtBearerToken(form, origin: FakeCloud.origin(request))
        case "refresh_token": return refreshTokenGrant(form)
        default: return Self.oauthError(400, "unsupported_grant_type", "Invalid grant_type: \(form["grant_type"] ?? "")")
        }
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`.
    func jwtBearerToken(_ form: [String: String], origin: String) -> Response {
        let parts = (form["assertion"] ?? "").split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = FakeCloud.base64URLDecode(parts[0]),
            let claimsData = FakeCloud.base64URLDecode(parts[1]), let signature = FakeCloud.base64URLDecode(parts[2]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: claimsData) as? [String: Any]
        else {
            return Self.oauthError(400, "invalid_grant", "Invalid JWT: could not decode the assertion.")
        }
        guard header["alg"] as? String == "RS256" else {
            return Self.oauthError(400, "invalid_grant", "Invalid JWT: unsupported algorithm; use RS256.")
        }
        guard let issuer = claims["iss"] as? String, let account = serviceAccounts[issuer] else {
            return Self.oauthError(400, "invalid_grant", "Invalid grant: account not found")
        }
        if let kid = header["kid"] as? String, kid != account.keyID {
            return Self.oauthError(400, "invalid_grant", "Invalid JWT Signature.")
        }
        guard account.verifies(signature, of: "\(parts[0]).\(parts[1])") else {
            return Self.oauthError(400, "invalid_grant", "Invalid JWT Signature.")
        }
        // Google takes its documented token endpoints as audience too (google-auth always
        // sends https://oauth2.googleapis.com/token, whatever token_uri says).
        let audience = Self.tokenURI(origin)
        let audiences = [audience, "https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token"]
        guard let claimed = claims["aud"] as? String, audiences.contains(claimed) else {
            return Self.oauthError(
                400, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is \(audience)")
        }
        let now = Int(Date().timeIntervalSince1970)
        guard let issuedAt = (claims["iat"] as? NSNumber)?.intValue, let expires = (claims["exp"] as? NSNumber)?.intValue,
            issuedAt <= now + 300, expires >= now, expires - issuedAt <= 3600
        else {
            return Self.oauthError(
                400, "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                    + "Check your iat and exp values in the JWT claim.")
        }
        let scopes = (claims["scope"] as? String ?? "").split(separator: " ").map(String.init)
        guard scopes.contains(Self.scope) || scopes.contains(Self.iamScope) else {
            return Self.oauthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        }
        let (token, lifetime) = issueToken(principal: account.email, scopes: scopes)
        return FakeCloud.json(.ok, ["access_token": token, "expires_in": lifetime, "token_type": "Bearer"])
    }

    /// The metadata server's token for the VM's service account.
    func metadataToken(_ request: Request, account: String) -> Response {
        if let status = takeFault(.token) {
            return FakeCloud.text(HTTPResponse.Status(code: status), "Service Unavailable")
        }
        if let refusal = metadataRefusal(request) { return refusal }
        guard account == "default" || account == metadataAccount else {
            return FakeCloud.text(.notFound, "Not Found", headers: [("Metadata-Flavor", "Google")])
        }
        let (token, lifetime) = issueToken(principal: metadataAccount)
        return FakeCloud.json(
            .ok, ["access_token": token, "expires_in": lifetime, "token_type": "Bearer"],
            headers: [("Metadata-Flavor", "Google")])
    }

    func metadataProjectID(_ request: Request) -> Response {
        if let refusal = metadataRefusal(request) { return refusal }
        return FakeCloud.text(.ok, projectID, contentType: "application/text", headers: [("Metadata-Flavor", "Google")])
    }

    /// The metadata server refuses requests without `Metadata-Flavor: Google` (SSRF protection).
    private func metadataRefusal(_ request: Request) -> Response? {
        guard FakeCloud.header(request, "Metadata-Flavor") != "Google" else { return nil }
        return FakeCloud.text(
            .forbidden,
            "<!DOCTYPE html><html><body><p><b>403.</b> Your client does not have permission to get URL "
                + "<code>\(request.uri.path)</code> from this server. Missing Metadata-Flavor:Google header.</p></body></html>",
            contentType: "text/html; charset=UTF-8")
    }

    // MARK: Secret Manager

    /// Counts, applies faults and the delay, checks the bearer token, then runs
    /// `handler` with the token's principal.
    func apiRequest(_ request: Request, _ handler: (String) -> Response) async -> Response {
        if let status = takeFault(.api) { return Self.apiFault(status) }
        if let delay = state.withLock({ $0.delay }) { try? await Task.sleep(for: delay) }
        let bearer = FakeCloud.bearer(request)
        let issued = bearer.flatMap { token in state.withLock { $0.tokens[token] } } ?? bearer.flatMap(selfSignedJWT)
        guard let issued, issued.expires > Date() else {
            return Self.apiError(
                401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
                    + "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                headers: [("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"")])
        }
        guard issued.scopes.contains(Self.scope) else {
            return Self.apiError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        }
        return handler(issued.principal)
    }

    /// A service account's self-signed JWT used as the bearer token (Google's APIs take
    /// one instead of an access token): RS256 by a known key, `iss` = `sub` = the
    /// account, not expired, and the `cloud-platform` scope or this API as audience.
    func selfSignedJWT(_ token: String) -> IssuedToken? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = FakeCloud.base64URLDecode(parts[0]),
            let claimsData = FakeCloud.base64URLDecode(parts[1]), let signature = FakeCloud.base64URLDecode(parts[2]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: claimsData) as? [String: Any],
            header["alg"] as? String == "RS256", let issuer = claims["iss"] as? String, claims["sub"] as? String == issuer,
            let account = serviceAccounts[issuer], header["kid"] as? String == account.keyID,
            account.verifies(signature, of: "\(parts[0]).\(parts[1])"),
            let expires = (claims["exp"] as? NSNumber)?.doubleValue
        else { return nil }
        let scopes = (claims["scope"] as? String ?? "").split(separator: " ").map(String.init)
        let audience = claims["aud"] as? String ?? ""
        guard scopes.contains(Self.scope) || audience.hasPrefix("https://secretmanager.") else { return nil }
        return IssuedToken(principal: issuer, expires: Date(timeIntervalSince1970: expires), scopes: [Self.scope])
    }

    /// `GET /v1/projects/P[/locations/L]/secrets/S/versions/V:access`.
    func accessVersion(
        project: String, location: String?, secret: String, versionSegment: String, principal: String
    ) -> Response {
        guard versionSegment.hasSuffix(":access") else {
            return Self.apiError(404, "NOT_FOUND", "Method not found.")
        }
        let version = String(versionSegment.dropLast(":access".count))
        let place = location.map { "/locations/\($0)" } ?? ""
        let resource = "projects/\(project)\(place)/secrets/\(secret)/versions/\(version)"
        let (versions, denied, corrupt) = state.withLock { state in
            (
                state.secrets[location ?? ""]?[secret],
                state.deniedSecrets.contains(secret) || state.deniedPrincipals.contains(principal), state.corruptChecksums
            )
        }
        guard project == projectID || project == projectNumber, !denied else {
            return Self.apiError(
                403, "PERMISSION_DENIED",
                "Permission 'secretmanager.versions.access' denied for resource '\(resource)' (or it may not exist).")
        }
        guard let versions, !versions.isEmpty else {
            return Self.apiError(
                404, "NOT_FOUND", "Secret [projects/\(projectNumber)\(place)/secrets/\(secret)] not found or has no versions.")
        }
        let canonical = "projects/\(projectNumber)\(place)/secrets/\(secret)/versions/"
        let found = version == "latest" ? versions.last : versions.first { String($0.number) == version }
        guard let found else {
            return Self.apiError(404, "NOT_FOUND", "Secret Version [\(canonical)\(version)] not found.")
        }
        guard found.enabled else {
            return Self.apiError(
                400, "FAILED_PRECONDITION", "Secret Version [\(canonical)\(found.number)] is in DISABLED state.")
        }
        var checksum = FakeGCPCRC32C.checksum(found.data)
        if corrupt { checksum ^= 0x0000_0001 }
        var payload: [String: Any] = ["dataCrc32c": String(checksum)]
        // proto3 JSON leaves out empty bytes.
        if !found.data.isEmpty { payload["data"] = Data(found.data).base64EncodedString() }
        return FakeCloud.json(.ok, ["name": "\(canonical)\(found.number)", "payload": payload])
    }

    /// `GET /v1/projects/P[/locations/L]/secrets?pageSize=N&pageToken=T`.
    func listSecrets(_ request: Request, project: String, location: String?, principal: String) -> Response {
        let (secrets, denied, endless, repeating) = state.withLock {
            (
                $0.secrets[location ?? ""] ?? [:], $0.deniedPrincipals.contains(principal), $0.endlessListing,
                $0.repeatingPageToken
            )
        }
        let place = location.map { "/locations/\($0)" } ?? ""
        guard project == projectID || project == projectNumber, !denied else {
            return Self.apiError(
                403, "PERMISSION_DENIED",
                "Permission 'secretmanager.secrets.list' denied for resource 'projects/\(project)' (or it may not exist).")
        }
        let requested = FakeCloud.query(request, "pageSize").flatMap { Int($0) } ?? 25_000
        let size = max(1, min(requested, pageSize))
        var offset = 0
        if let token = FakeCloud.query(request, "pageToken"), !token.isEmpty {
            guard let data = Data(base64Encoded: token), let decoded = Int(String(decoding: data, as: UTF8.self)) else {
                return Self.apiError(400, "INVALID_ARGUMENT", "Invalid page token.")
            }
            offset = decoded
        }
        let names = secrets.keys.sorted()
        let page = names.dropFirst(offset).prefix(size).map { name in
            [
                "name": "projects/\(projectNumber)\(place)/secrets/\(name)", "replication": ["automatic": [String: String]()],
                "createTime": "2026-01-01T00:00:00.000000Z", "etag": "\"1\"",
            ] as [String: Any]
        }
        var body: [String: Any] = ["secrets": page, "totalSize": names.count]
        if offset + size < names.count || endless {
            body["nextPageToken"] = Data(String(offset + size).utf8).base64EncodedString()
            if repeating { body["nextPageToken"] = Data(String(offset).utf8).base64EncodedString() }
        }
        return FakeCloud.json(.ok, body)
    }

    // MARK: Error bodies

    static func apiError(_ code: Int, _ status: String, _ message: String, headers: [(String, String)] = []) -> Response {
        FakeCloud.json(
            HTTPResponse.Status(code: code), ["error": ["code": code, "message": message, "status": status]],
            headers: headers)
    }

    static func apiFault(_ code: Int) -> Response {
        switch code {
        case 200:
            // A proxy answering in Google's place.
            return FakeCloud.text(.ok, "<html><body>Please sign in to the network</body></html>", contentType: "text/html")
        case 429:
            return apiError(
                429, "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'.")
        default:
            return apiError(code, "UNAVAILABLE", "The service is currently unavailable.")
        }
    }

    static func oauthError(_ code: Int, _ error: String, _ description: String) -> Response {
        FakeCloud.json(HTTPResponse.Status(code: code), ["error": error, "error_description": description])
    }
}
