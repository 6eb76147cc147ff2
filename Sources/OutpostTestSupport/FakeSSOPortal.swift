import Crypto
package import Foundation
package import Hummingbird
import HTTPTypes
import NIOCore

/// A fake of IAM Identity Center's portal API (the `sso` service of the AWS
/// SDKs) with the one call credential providers make, `GetRoleCredentials`:
///
/// `GET /federation/credentials?role_name=ROLE&account_id=ACCOUNT` with header
/// `x-amz-sso_bearer_token: TOKEN` → `{"roleCredentials": {"accessKeyId",
/// "secretAccessKey", "sessionToken", "expiration" (epoch milliseconds)}}`.
///
/// Errors as the service gives them (REST-JSON, `x-amzn-ErrorType` header plus
/// `{"message"}`): a missing or unknown token is 401 `UnauthorizedException`,
/// a role the token's user may not use is 403 `ForbiddenException`, a missing
/// parameter 400 `InvalidRequestException`. `boto3` reads it (Tests/SDKProofs/aws_proof.py).
///
/// The keys handed out are whatever the test grants (moto's IAM keys, so that
/// the credentials then work against moto with signature checking).
package actor FakeSSOPortal {
    package struct Grant: Sendable {
        package var accountID: String
        package var roleName: String
        package var accessKeyID: String
        package var secretAccessKey: String
        package var sessionToken: String?

        package init(accountID: String, roleName: String, accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accountID = accountID
            self.roleName = roleName
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// Access token → the roles it may use.
    private var grants: [String: [Grant]] = [:]
    /// How long handed-out credentials live.
    private var lifetime: TimeInterval = 3600
    /// Requests answered, and those refused for their token.
    package private(set) var requests = 0
    package private(set) var unauthorized = 0

    package init() {}

    /// Lets `token` get `grant`'s credentials.
    package func grant(token: String, _ grant: Grant) {
        grants[token, default: []].append(grant)
    }

    package func setLifetime(_ seconds: TimeInterval) { lifetime = seconds }

    /// Serves the portal for the duration of `body`, which gets the base URL.
    package nonisolated func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(), body)
    }

    package nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/federation/credentials") { request, _ -> Response in
            let token = request.headers[HTTPField.Name("x-amz-sso_bearer_token")!]
            let role = request.uri.queryParameters.get("role_name")
            let account = request.uri.queryParameters.get("account_id")
            let (status, type, body) = await self.roleCredentials(token: token, role: role, account: account)
            var headers: HTTPFields = [.contentType: "application/json"]
            if let type { headers[HTTPField.Name("x-amzn-ErrorType")!] = type }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }

    private func roleCredentials(token: String?, role: String?, account: String?) -> (Int, String?, String) {
        requests += 1
        guard let role, !role.isEmpty, let account, !account.isEmpty else {
            return (400, "InvalidRequestException", #"{"message":"role_name and account_id are required"}"#)
        }
        guard let token, let granted = grants[token] else {
            unauthorized += 1
            return (401, "UnauthorizedException", #"{"message":"Session token not found or invalid"}"#)
        }
        guard let grant = granted.first(where: { $0.roleName == role && $0.accountID == account }) else {
            return (403, "ForbiddenException", #"{"message":"No access"}"#)
        }
        var credentials: [String: Any] = [
            "accessKeyId": grant.accessKeyID, "secretAccessKey": grant.secretAccessKey,
            "expiration": Int64((Date().timeIntervalSince1970 + lifetime) * 1000),
        ]
        credentials["sessionToken"] = grant.sessionToken ?? "fake-sso-session-\(UUID().uuidString)"
        let data = (try? JSONSerialization.data(withJSONObject: ["roleCredentials": credentials], options: [.sortedKeys])) ?? Data()
        return (200, nil, String(decoding: data, as: UTF8.self))
    }

    /// Writes the token cache file that `aws sso login` leaves, where the SDKs look:
    /// `HOME/.aws/sso/cache/<sha1 of cacheKey>.json` (`cacheKey`: the `sso_session`
    /// name, or a legacy profile's `sso_start_url`). Returns its path.
    @discardableResult
    package static func writeCachedToken(
        home: String, cacheKey: String, token: String, startURL: String, region: String, expiresAt: Date
    ) throws -> String {
        let directory = home + "/.aws/sso/cache"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let object: [String: String] = [
            "accessToken": token, "expiresAt": formatter.string(from: expiresAt), "startUrl": startURL, "region": region,
        ]
        let path = directory + "/" + sha1Hex(cacheKey) + ".json"
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// SHA-1 in hex: the SDKs' cache file name.
    package static func sha1Hex(_ text: String) -> String {
        Insecure.SHA1.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
