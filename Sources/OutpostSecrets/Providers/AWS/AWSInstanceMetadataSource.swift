import Foundation
import NIOHTTP1

/// The role credentials of an EC2 instance, from the instance metadata service
/// with IMDSv2 sessions: `PUT /latest/api/token`, then the role name and its
/// credentials under `/latest/meta-data/iam/security-credentials/`, each with
/// the `X-aws-ec2-metadata-token` header.
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

    /// - Parameter endpoint: the `imds_endpoint` option, when set.
    init(endpoint: String?, environment: [String: String], http: SecretHTTP) {
        var chosen = endpoint ?? environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.defaultEndpoint
        while chosen.hasSuffix("/") { chosen.removeLast() }
        self.endpoint = chosen
        disabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        var timeout = Duration.seconds(1)
        if let text = environment["AWS_METADATA_SERVICE_TIMEOUT"], let seconds = Double(text), seconds > 0 {
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        self.http = SecretHTTP(client: http.client, timeout: min(timeout, http.timeout))
    }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        if disabled { return .notAvailable("disabled by AWS_EC2_METADATA_DISABLED") }
        let host = SecretHTTP.host(of: endpoint)
        // No answer to the token request: not on EC2 (or IMDS is off). Not an error of this source.
        let tokenResponse: SecretHTTP.Response
        do {
            tokenResponse = try await http.send(
                .PUT, endpoint + "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(Self.tokenTTLSeconds))],
                maxBodyBytes: 4096)
        } catch {
            return .notAvailable("no answer from \(host): \(error.detail.replacingOccurrences(of: "\(host): ", with: ""))")
        }
        guard tokenResponse.status == 200, !tokenResponse.body.isEmpty else {
            return .notAvailable("\(host) answered HTTP \(tokenResponse.status) to the IMDSv2 token request")
        }
        let token = tokenResponse.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let headers = [("X-aws-ec2-metadata-token", token)]
        let base = endpoint + "/latest/meta-data/iam/security-credentials/"
        let roles = try await http.send(.GET, base, headers: headers, maxBodyBytes: 64 << 10)
        guard roles.status == 200 else {
            if roles.status == 404 { return .notAvailable("no IAM role attached to the instance (\(host))") }
            throw SecretHTTP.error(status: roles.status, detail: "")
                .with(detail: "\(host) answered HTTP \(roles.status) to the role name request")
        }
        guard let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            return .notAvailable("no IAM role attached to the instance (\(host))")
        }
        let encodedRole = SigV4Signer.uriEncode(role, encodeSlash: true)
        let credentials = try await http.send(.GET, base + encodedRole, headers: headers, maxBodyBytes: 64 << 10)
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
