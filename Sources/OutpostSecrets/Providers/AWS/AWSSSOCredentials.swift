import Crypto
import Foundation
import NIOHTTP1

/// The role credentials of an IAM Identity Center (SSO) profile, as botocore
/// gets them: the access token that `aws sso login` cached in
/// `~/.aws/sso/cache/<sha1>.json` (of the `sso_session` name, or of the
/// legacy profile's `sso_start_url`), exchanged at the SSO portal's
/// `GET /federation/credentials?role_name=&account_id=` (header
/// `x-amz-sso_bearer_token`) for temporary credentials.
///
/// The agent never logs in and never writes the cache: a missing, expired or
/// refused token is an error that says to run `aws sso login`.
struct AWSSSOCredentials: Sendable {
    /// `sso_start_url` (for the legacy cache key and messages).
    var startURL: String
    /// `sso_session`, for profiles that name an `[sso-session]` section.
    var sessionName: String?
    var region: String
    var accountID: String
    var roleName: String
    /// The profile, for the `aws sso login --profile` hint.
    var profile: String
    /// `~/.aws/sso/cache`.
    var cacheDirectory: String
    /// The portal's base URL (`https://portal.sso.REGION.amazonaws.com`, or an override).
    var portal: String
    var http: SecretHTTP

    /// The SSO settings of `profile`, or `nil` when it has none (`sso_account_id`
    /// and `sso_role_name` both absent, as botocore decides).
    /// - Throws: `.invalidConfiguration` for an incomplete or inconsistent SSO profile.
    init?(
        profile name: String, settings profile: [String: String], files: AWSProfileFiles, home: String,
        portalOverride: String?, fips: Bool, http: SecretHTTP
    ) throws(SecretError) {
        guard profile["sso_account_id"] != nil || profile["sso_role_name"] != nil else { return nil }
        var merged = profile
        if let session = profile.nonEmpty("sso_session") {
            guard let section = files.ssoSessions[session] else {
                throw SecretError(
                    .invalidConfiguration,
                    "profile [\(name)] names sso_session \(session), but \(files.configPath) has no [sso-session \(session)]")
            }
            for (key, value) in section {
                if let own = merged[key], own != value {
                    throw SecretError(
                        .invalidConfiguration,
                        "\(key) differs between profile [\(name)] (\(own)) and [sso-session \(session)] (\(value))")
                }
                merged[key] = value
            }
            sessionName = session
        }
        let required = ["sso_start_url", "sso_region", "sso_account_id", "sso_role_name"]
        let missing = required.filter { merged.nonEmpty($0) == nil }
        guard missing.isEmpty else {
            throw SecretError(
                .invalidConfiguration,
                "profile [\(name)] is set up for IAM Identity Center (SSO) but lacks \(missing.joined(separator: ", "))")
        }
        startURL = merged["sso_start_url"]!
        region = merged["sso_region"]!
        accountID = merged["sso_account_id"]!
        roleName = merged["sso_role_name"]!
        self.profile = name
        cacheDirectory = home + "/.aws/sso/cache"
        portal = portalOverride ?? AWSEndpoints.ssoPortal(region: region, fips: fips)
        self.http = http
    }

    /// The cache file: sha1 of the session name, or of the start URL (legacy profiles).
    var cacheFile: String {
        let key = sessionName ?? startURL
        let digest = Insecure.SHA1.hash(data: Array(key.utf8))
        return cacheDirectory + "/" + digest.map { String(format: "%02x", $0) }.joined() + ".json"
    }

    private var loginHint: String { "run `aws sso login --profile \(profile)`" }
    private var tokenName: String { sessionName.map { "sso-session \($0)" } ?? startURL }

    struct CachedToken: Decodable {
        var accessToken: String?
        var expiresAt: String?
    }

    struct PortalAnswer: Decodable {
        struct RoleCredentials: Decodable {
            var accessKeyId: String?
            var secretAccessKey: String?
            var sessionToken: String?
            /// Milliseconds since 1970.
            var expiration: Double?
        }
        var roleCredentials: RoleCredentials?
    }

    func credentials() async throws(SecretError) -> AWSCredentials {
        let file = cacheFile
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SecretError(
                .denied, "no cached IAM Identity Center token for \(tokenName) (\(file)): \(loginHint)")
        }
        guard let cached = try? JSONDecoder().decode(CachedToken.self, from: data),
            let token = cached.accessToken, !token.isEmpty, let expiresText = cached.expiresAt
        else {
            throw SecretError(
                .denied, "the cached IAM Identity Center token \(file) has no accessToken and expiresAt: \(loginHint)")
        }
        // The AWS CLI writes `2026-01-01T00:00:00Z`; older ones wrote `...UTC`.
        let normalized = expiresText.hasSuffix("UTC") ? String(expiresText.dropLast(3)) + "Z" : expiresText
        guard let expiresAt = AWSCredentials.parseTimestamp(normalized) else {
            throw SecretError(.denied, "the cached IAM Identity Center token \(file) has an unreadable expiresAt: \(loginHint)")
        }
        guard expiresAt > Date() else {
            throw SecretError(
                .denied, "the cached IAM Identity Center token for \(tokenName) expired at \(expiresText): \(loginHint)")
        }
        let query = "role_name=\(SigV4Signer.uriEncode(roleName, encodeSlash: true))"
            + "&account_id=\(SigV4Signer.uriEncode(accountID, encodeSlash: true))"
        let url = portal + "/federation/credentials?" + query
        let host = SecretHTTP.host(of: url)
        let response = try await http.send(
            .GET, url, headers: [("x-amz-sso_bearer_token", token), ("Accept", "application/json")],
            maxBodyBytes: 64 << 10)
        let what = "IAM Identity Center GetRoleCredentials (role \(roleName), account \(accountID)) at \(host)"
        guard response.status == 200 else {
            let error = AWSServiceError(response: response)
            if response.status == 401 || error.code == "UnauthorizedException" {
                throw SecretError(
                    .denied, "\(what) refused the cached token for \(tokenName) (expired or revoked): \(loginHint)")
            }
            throw error.secretError(what: what, secrets: [token])
        }
        let answer = try response.json(PortalAnswer.self, what: what)
        guard let role = answer.roleCredentials, let keyID = role.accessKeyId, !keyID.isEmpty,
            let secret = role.secretAccessKey, !secret.isEmpty
        else {
            throw SecretError(.malformed, "\(what) answered without roleCredentials.accessKeyId and secretAccessKey")
        }
        return AWSCredentials(
            accessKeyID: keyID, secretAccessKey: secret, sessionToken: role.sessionToken,
            expiration: role.expiration.map { Date(timeIntervalSince1970: $0 / 1000) })
    }
}
