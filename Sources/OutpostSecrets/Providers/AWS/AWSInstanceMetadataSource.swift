import Foundation
import NIOHTTP1

/// The role credentials of an EC2 instance, and the instance's region, from
/// the instance metadata service: an IMDSv2 session (`PUT /latest/api/token`),
/// then the role name and its credentials under
/// `/latest/meta-data/iam/security-credentials/`, or the region at
/// `/latest/meta-data/placement/region`, each with the `X-aws-ec2-metadata-token` header.
///
/// IMDSv1 (the same requests without a token) only when allowed (`v1Fallback`):
/// botocore falls back to v1 whenever the token request fails unless
/// `AWS_EC2_METADATA_V1_DISABLED=true`; the agent does the opposite by default
/// (v1 requests can be forged through a server-side request forgery), so the
/// fallback needs `imds_v1_fallback: true`, `ec2_metadata_v1_disabled = false`
/// in the profile, or `AWS_EC2_METADATA_V1_DISABLED=false`.
///
/// Timeouts are short (1 s, `AWS_METADATA_SERVICE_TIMEOUT`) so that an agent
/// off EC2, the last source of the chain, fails fast.
struct AWSInstanceMetadataSource: AWSCredentialSource {
    static let defaultEndpoint = "http://169.254.169.254"
    static let tokenTTLSeconds = 21_600

    /// `imds_endpoint` / `AWS_EC2_METADATA_SERVICE_ENDPOINT` / the link-local default.
    var endpoint: String
    /// Set by `AWS_EC2_METADATA_DISABLED=true`.
    var disabled: Bool
    /// Whether a failed IMDSv2 token request may fall back to IMDSv1 requests.
    var v1Fallback: Bool
    /// `http` with the short timeout.
    var http: SecretHTTP

    var label: String { "IMDS" }

    struct Answer: Decodable {
        var Code: String?
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
    }

    /// - Parameters:
    ///   - endpoint: the `imds_endpoint` option, when set.
    ///   - v1Fallback: the `imds_v1_fallback` option (or the profile's setting), when set;
    ///     otherwise `AWS_EC2_METADATA_V1_DISABLED=false` allows it, and nothing else does.
    init(endpoint: String?, environment: [String: String], http: SecretHTTP, v1Fallback: Bool? = nil) {
        var chosen = endpoint ?? environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.defaultEndpoint
        while chosen.hasSuffix("/") { chosen.removeLast() }
        self.endpoint = chosen
        disabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        self.v1Fallback = v1Fallback ?? (environment["AWS_EC2_METADATA_V1_DISABLED"]?.lowercased() == "false")
        var timeout = Duration.seconds(1)
        if let text = environment["AWS_METADATA_SERVICE_TIMEOUT"], let seconds = Double(text), seconds > 0 {
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        self.http = SecretHTTP(client: http.client, timeout: min(timeout, http.timeout))
    }

    private var host: String { SecretHTTP.host(of: endpoint) }

    /// How requests to IMDS are authorized.
    enum Session {
        /// An IMDSv2 session token.
        case token(String)
        /// IMDSv1: no token (only with `v1Fallback`).
        case v1
        /// IMDS did not answer: not on EC2 (or IMDS is off).
        case unreachable(String)
    }

    /// An IMDSv2 token; IMDSv1 when the token request fails and v1 is allowed.
    /// - Throws: `.denied` when IMDS answered the token request with an error and v1 is not allowed.
    func session() async throws(SecretError) -> Session {
        let response: SecretHTTP.Response
        do {
            response = try await http.send(
                .PUT, endpoint + "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(Self.tokenTTLSeconds))],
                maxBodyBytes: 4096)
        } catch {
            if v1Fallback { return .v1 }
            return .unreachable("no answer from \(host): \(error.detail.replacingOccurrences(of: "\(host): ", with: ""))")
        }
        if response.status == 200, !response.body.isEmpty {
            return .token(response.text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if v1Fallback, response.status != 400 { return .v1 }
        throw SecretError(
            .denied,
            "\(host) answered HTTP \(response.status) to the IMDSv2 token request"
                + (v1Fallback
                    ? ""
                    : ", and IMDSv1 fallback is off (set imds_v1_fallback: true, or AWS_EC2_METADATA_V1_DISABLED=false, "
                        + "to allow it; better, make IMDSv2 reachable: a hop limit of 2 for containers)"))
    }

    /// `GET path` within `session`.
    private func get(_ path: String, _ session: Session, maxBodyBytes: Int = 64 << 10) async throws(SecretError)
        -> SecretHTTP.Response
    {
        var headers: [(String, String)] = []
        if case .token(let token) = session { headers.append(("X-aws-ec2-metadata-token", token)) }
        return try await http.send(.GET, endpoint + path, headers: headers, maxBodyBytes: maxBodyBytes)
    }

    /// The instance's region (`/latest/meta-data/placement/region`), or why there is none.
    func region() async -> Result<String, SecretError> {
        if disabled { return .failure(SecretError(.invalidConfiguration, "IMDS is disabled by AWS_EC2_METADATA_DISABLED")) }
        do throws(SecretError) {
            let session = try await session()
            if case .unreachable(let reason) = session { throw SecretError(.unreachable, reason) }
            let response = try await get("/latest/meta-data/placement/region", session, maxBodyBytes: 1024)
            let region = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard response.status == 200, !region.isEmpty else {
                throw SecretHTTP.error(status: response.status, detail: "")
                    .with(detail: "\(host) answered HTTP \(response.status) to the region request")
            }
            return .success(region)
        } catch {
            return .failure(error)
        }
    }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        if disabled { return .notAvailable("disabled by AWS_EC2_METADATA_DISABLED") }
        let session = try await session()
        if case .unreachable(let reason) = session { return .notAvailable(reason) }
        let base = "/latest/meta-data/iam/security-credentials/"
        let roles: SecretHTTP.Response
        do {
            roles = try await get(base, session)
        } catch {
            // IMDSv1 tried because the token request got no answer: not on EC2 either.
            if case .v1 = session { return .notAvailable("no answer from \(host) (IMDSv2 nor IMDSv1)") }
            throw error
        }
        guard roles.status == 200 else {
            if roles.status == 404 { return .notAvailable("no IAM role attached to the instance (\(host))") }
            throw SecretHTTP.error(status: roles.status, detail: "")
                .with(detail: "\(host) answered HTTP \(roles.status) to the role name request")
        }
        guard let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            return .notAvailable("no IAM role attached to the instance (\(host))")
        }
        let encodedRole = SigV4Signer.uriEncode(role, encodeSlash: true)
        let credentials = try await get(base + encodedRole, session)
        guard credentials.status == 200 else {
            throw SecretHTTP.error(status: credentials.status, detail: "")
                .with(detail: "\(host) answered HTTP \(credentials.status) for the credentials of role \(role)")
        }
        let answer = try credentials.json(Answer.self, what: "\(host) (credentials of role \(role))")
        guard answer.Code == nil || answer.Code == "Success", let keyID = answer.AccessKeyId,
            let secret = answer.SecretAccessKey
        else {
            throw SecretError(.denied, "\(host) has no credentials for role \(role) (Code \(answer.Code ?? "none"))")
        }
        return .found(
            AWSCredentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: answer.Token,
                expiration: answer.Expiration.flatMap(AWSCredentials.parseTimestamp)))
    }
}
