import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostTestSupport

@testable import OutpostSecrets

/// Fakes of the two credential endpoints AWS runs next to workloads, served
/// over real sockets with `withFakeServer`, handing out keys that moto accepts:
///
/// - the container credentials endpoint (ECS, EKS Pod Identity): `GET <path>`
///   with `Authorization: <token>` → `{AccessKeyId, SecretAccessKey, Token, Expiration}`;
/// - EC2 instance metadata, IMDSv2 only by default: `PUT /latest/api/token` (needs
///   `X-aws-ec2-metadata-token-ttl-seconds`) → a session token that every
///   `GET /latest/meta-data/iam/security-credentials/[ROLE]` and
///   `GET /latest/meta-data/placement/region` (and `.../availability-zone`) must present in
///   `X-aws-ec2-metadata-token` (401 without it, as IMDS does with v1 off).
///   `setIMDSv1(tokenStatus:)` makes it an IMDSv1-only service (what some proxies
///   are): the token request answers `tokenStatus` and reads need no token.
///
/// `boto3` reads both (Tests/SDKProofs/aws_proof.py).
actor AWSFakeCredentialServer {
    let credentials: AWSCredentials
    /// How long handed-out credentials live.
    var lifetime: TimeInterval = 3600
    /// The container endpoint's expected `Authorization` value (`nil`: none required).
    let containerToken: String?
    let role = "outpost-instance-role"
    /// What `/latest/meta-data/placement/region` answers.
    let region: String
    private var sessionTokens: Set<String> = []
    /// The status of the token request (200: IMDSv2 works).
    private var tokenStatus = 200
    /// Whether reads without a session token are answered (IMDSv1).
    private var v1Enabled = false

    private(set) var containerRequests = 0
    private(set) var tokenRequests = 0
    private(set) var credentialRequests = 0
    /// Metadata requests that came without a valid IMDSv2 session token.
    private(set) var rejectedWithoutToken = 0
    /// Metadata requests answered without a token (IMDSv1).
    private(set) var v1Reads = 0
    private(set) var regionRequests = 0

    init(credentials: AWSCredentials, containerToken: String? = nil, region: String = "us-east-1") {
        self.credentials = credentials
        self.containerToken = containerToken
        self.region = region
    }

    /// IMDSv1 only: the token request answers `tokenStatus`, reads need no token.
    func setIMDSv1(tokenStatus: Int) {
        self.tokenStatus = tokenStatus
        v1Enabled = true
    }

    func setLifetime(_ seconds: TimeInterval) { lifetime = seconds }

    /// Serves both endpoints for the duration of `body`, which gets the base URL.
    nonisolated func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(), body)
    }

    nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/container/credentials") { request, _ -> Response in
            let (status, body) = await self.container(authorization: request.headers[.authorization])
            return Self.response(status, body)
        }
        router.put("/latest/api/token") { request, _ -> Response in
            let ttl = request.headers[HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!]
            let (status, body) = await self.issueToken(ttl: ttl)
            return Self.response(status, body, contentType: "text/plain")
        }
        let credentialsPath = "/latest/meta-data/iam/security-credentials"
        router.get(RouterPath(credentialsPath)) { request, _ -> Response in
            let token = request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!]
            let (status, body) = await self.metadata(roleName: "", token: token)
            return Self.response(status, body, contentType: "text/plain")
        }
        router.get("/latest/meta-data/placement/region") { request, _ -> Response in
            let token = request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!]
            let (status, body) = await self.placementRegion(token: token)
            return Self.response(status, body, contentType: "text/plain")
        }
        // What botocore's IMDS region provider reads (it drops the zone letter).
        router.get("/latest/meta-data/placement/availability-zone") { request, _ -> Response in
            let token = request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!]
            let (status, body) = await self.placementRegion(token: token)
            return Self.response(status, status == 200 ? body + "a" : body, contentType: "text/plain")
        }
        router.get(RouterPath(credentialsPath + "/{role}")) { request, context -> Response in
            let token = request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!]
            let roleName = context.parameters.get("role") ?? ""
            let (status, body) = await self.metadata(roleName: roleName, token: token)
            return Self.response(status, body)
        }
        return router
    }

    private func container(authorization: String?) -> (Int, String) {
        containerRequests += 1
        if let containerToken, authorization != containerToken {
            return (401, #"{"message":"bad or missing authorization token"}"#)
        }
        return (200, credentialsJSON(code: nil))
    }

    private func issueToken(ttl: String?) -> (Int, String) {
        tokenRequests += 1
        guard tokenStatus == 200 else { return (tokenStatus, "") }
        guard let ttl, let seconds = Int(ttl), (1...21_600).contains(seconds) else { return (400, "") }
        let token = "imds-session-\(UUID().uuidString)"
        sessionTokens.insert(token)
        return (200, token)
    }

    /// Whether a read may be answered: a valid session token, or IMDSv1 on.
    private func authorized(_ token: String?) -> Bool {
        if let token, sessionTokens.contains(token) { return true }
        if v1Enabled, token == nil {
            v1Reads += 1
            return true
        }
        rejectedWithoutToken += 1
        return false
    }

    private func placementRegion(token: String?) -> (Int, String) {
        regionRequests += 1
        return authorized(token) ? (200, region) : (401, "")
    }

    private func metadata(roleName: String, token: String?) -> (Int, String) {
        guard authorized(token) else { return (401, "") }
        if roleName.isEmpty { return (200, role) }
        credentialRequests += 1
        guard roleName == role else { return (404, "") }
        return (200, credentialsJSON(code: "Success"))
    }

    private func credentialsJSON(code: String?) -> String {
        let formatter = ISO8601DateFormatter()
        var object: [String: String] = [
            "AccessKeyId": credentials.accessKeyID, "SecretAccessKey": credentials.secretAccessKey,
            "Expiration": formatter.string(from: Date().addingTimeInterval(lifetime)),
        ]
        // The real endpoints always send a session token (boto3 requires one); moto
        // ignores one it did not issue when the key is an IAM user's.
        object["Token"] = credentials.sessionToken ?? "fake-session-token"
        if let code { object["Code"] = code }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func response(_ status: Int, _ body: String, contentType: String = "application/json") -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
