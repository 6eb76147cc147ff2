import Foundation
import NIOHTTP1

/// The subject token of an AWS workload (`credential_source.environment_id: aws1`), in
/// the format Google documents ("Access resources from AWS", and google-auth's `aws.py`):
/// an `sts:GetCallerIdentity` request signed with the workload's AWS credentials but not
/// sent, serialized as URL-encoded JSON
/// `{"headers": [{"key": ..., "value": ...}, ...], "method": "POST", "url": ...}`.
/// Google's STS sends it to AWS, whose answer names the AWS role.
///
/// - Region: `AWS_REGION`, `AWS_DEFAULT_REGION`, else `region_url` (the instance's
///   availability zone, its last letter dropped).
/// - Credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`),
///   else the instance role's from `url` (`GET url` names the role, `GET url/ROLE` its keys).
/// - IMDSv2: with `imdsv2_session_token_url`, a session token is asked for first
///   (`PUT`, `X-aws-ec2-metadata-token-ttl-seconds: 300`) and sent with each metadata request.
struct GCPAWSSubjectToken: Sendable {
    var regionURL: String?
    var credentialsURL: String?
    /// `regional_cred_verification_url`, with `{region}` where the region goes.
    var verificationURL: String
    var sessionTokenURL: String?

    static let subjectTokenType = "urn:ietf:params:aws:token-type:aws4_request"
    static let defaultVerificationURL = "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"

    init(_ source: [String: Any], environmentID: String, in origin: String) throws(SecretError) {
        guard environmentID == "aws1" else {
            throw SecretError(
                .invalidConfiguration, "\(origin): environment_id \"\(environmentID)\" is not supported; use aws1")
        }
        regionURL = try GCPCredentialFile.url(source, "region_url", in: origin)
        credentialsURL = try GCPCredentialFile.url(source, "url", in: origin)
        sessionTokenURL = try GCPCredentialFile.url(source, "imdsv2_session_token_url", in: origin)
        let verification: String
        switch source["regional_cred_verification_url"] {
        case nil: verification = Self.defaultVerificationURL
        case let text as String: verification = text
        default: throw SecretError(.invalidConfiguration, "\(origin): regional_cred_verification_url is not a string")
        }
        let sample = verification.replacingOccurrences(of: "{region}", with: "us-east-1")
        guard sample.lowercased().hasPrefix("https://"), GCPCredentialFile.isHTTPURL(sample) else {
            throw SecretError(.invalidConfiguration, "\(origin): regional_cred_verification_url must be an https URL")
        }
        verificationURL = verification
    }

    /// The serialized signed request for `audience` (sent as `x-goog-cloud-target-resource`).
    func subjectToken(
        audience: String, http: SecretHTTP, environment: [String: String], now: Date = Date()
    ) async throws(SecretError) -> String {
        let metadata = Metadata(sessionTokenURL: sessionTokenURL, http: http)
        let region = try await region(environment: environment, metadata: metadata)
        let credentials = try await credentials(environment: environment, metadata: metadata)
        return try Self.serializedRequest(
            credentials: credentials, region: region, verificationURL: verificationURL, audience: audience, now: now)
    }

    /// The signed request, serialized as google-auth does: sorted keys, no spaces,
    /// percent-encoded (Python's `urllib.parse.quote`, which leaves `/` as it is).
    static func serializedRequest(
        credentials: AWSCredentials, region: String, verificationURL: String, audience: String, now: Date
    ) throws(SecretError) -> String {
        let url = verificationURL.replacingOccurrences(of: "{region}", with: region)
        var request = try SigV4Request(method: "POST", url: url)
        var headers: [(name: String, value: String)] = [
            (name: "host", value: request.host), (name: "x-amz-date", value: SigV4Signer.amzDate(now)),
        ]
        if let token = credentials.sessionToken { headers.append((name: "x-amz-security-token", value: token)) }
        // Signed too, as Google recommends: the request is then bound to this pool provider.
        headers.append((name: "x-goog-cloud-target-resource", value: audience))
        request.headers = headers
        let signed = SigV4Signer(credentials: credentials, region: region, service: "sts").sign(request, date: now)
        struct Header: Encodable {
            var key: String
            var value: String
        }
        struct Serialized: Encodable {
            var headers: [Header]
            var method: String
            var url: String
        }
        let serialized = Serialized(
            headers: [Header(key: "Authorization", value: signed.authorization)]
                + headers.map { Header(key: $0.name, value: $0.value) },
            method: "POST", url: url)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let json = try? encoder.encode(serialized) else {
            throw SecretError(.invalidConfiguration, "the signed AWS request could not be serialized")
        }
        return pythonQuote(String(decoding: json, as: UTF8.self))
    }

    /// Every byte but `A-Z a-z 0-9 _ . - ~ /` percent-encoded.
    static func pythonQuote(_ text: String) -> String {
        let safe = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
        return text.addingPercentEncoding(withAllowedCharacters: safe) ?? text
    }

    private func region(environment: [String: String], metadata: Metadata) async throws(SecretError) -> String {
        for key in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let value = environment[key], !value.isEmpty { return value }
        }
        guard let regionURL else {
            throw SecretError(
                .invalidConfiguration,
                "no AWS region for the external account: set AWS_REGION in the agent's environment, or region_url in "
                    + "the credentials file's credential_source")
        }
        let zone = try await metadata.get(regionURL, what: "the AWS region (region_url)")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // us-east-2b -> us-east-2
        guard zone.count >= 2, CloudText.isPlain(zone, extra: "-") else {
            throw SecretError(.malformed, "region_url answered with something that is not an availability zone")
        }
        return String(zone.dropLast())
    }

    private func credentials(environment: [String: String], metadata: Metadata) async throws(SecretError) -> AWSCredentials {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"],
            !secret.isEmpty
        {
            let session = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: session)
        }
        guard let credentialsURL else {
            throw SecretError(
                .denied,
                "no AWS credentials for the external account: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
                    + "agent's environment, or url (the instance role) in the credentials file's credential_source")
        }
        let base = credentialsURL.hasSuffix("/") ? String(credentialsURL.dropLast()) : credentialsURL
        let role = try await metadata.get(base, what: "the instance's AWS role (url)")
            .split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard CloudText.isPlain(role, extra: "+=,.@-_") else {
            throw SecretError(.malformed, "url answered with something that is not an IAM role name")
        }
        let text = try await metadata.get("\(base)/\(role)", what: "the AWS role's credentials")
        struct Keys: Decodable {
            var AccessKeyId: String
            var SecretAccessKey: String
            var Token: String?
        }
        guard let keys = try? JSONDecoder().decode(Keys.self, from: Data(text.utf8)) else {
            throw SecretError(.malformed, "the instance metadata answered with credentials that are not the expected JSON")
        }
        return AWSCredentials(accessKeyID: keys.AccessKeyId, secretAccessKey: keys.SecretAccessKey, sessionToken: keys.Token)
    }

    /// Requests to the instance metadata service, with an IMDSv2 session token asked
    /// for once, on first use, when `sessionTokenURL` is set.
    private final class Metadata: @unchecked Sendable {
        let sessionTokenURL: String?
        let http: SecretHTTP
        private var sessionToken: String?

        init(sessionTokenURL: String?, http: SecretHTTP) {
            self.sessionTokenURL = sessionTokenURL
            self.http = http
        }

        func get(_ url: String, what: String) async throws(SecretError) -> String {
            var headers: [(String, String)] = []
            if let token = try await token() { headers.append(("X-aws-ec2-metadata-token", token)) }
            let response = try await http.send(.GET, url, headers: headers, maxBodyBytes: 64 << 10)
            guard (200..<300).contains(response.status) else {
                throw GCPTokenAnswer.failure(
                    status: response.status, "the AWS instance metadata (\(SecretHTTP.host(of: url))) refused \(what)",
                    reason: "", hiding: [])
            }
            return response.text
        }

        private func token() async throws(SecretError) -> String? {
            guard let sessionTokenURL else { return nil }
            if let sessionToken { return sessionToken }
            let response = try await http.send(
                .PUT, sessionTokenURL, headers: [("X-aws-ec2-metadata-token-ttl-seconds", "300")], maxBodyBytes: 64 << 10)
            guard (200..<300).contains(response.status) else {
                throw GCPTokenAnswer.failure(
                    status: response.status,
                    "the AWS instance metadata (\(SecretHTTP.host(of: sessionTokenURL))) refused an IMDSv2 session token",
                    reason: "", hiding: [])
            }
            sessionToken = response.text
            return response.text
        }
    }
}
