package import Foundation
package import Logging
package import OutpostCore

/// The agent's half of the `aws-sts` name policy: an `sts:GetCallerIdentity`
/// request signed with the agent's AWS credentials but not sent. The hub sends
/// it to its own configured STS endpoint, and STS's answer tells the hub who
/// the agent is (the pattern of Vault's AWS IAM auth).
///
/// `GetCallerIdentity` needs no IAM permission, and the signed request grants
/// nothing else: it names one action, and the signature (valid ~15 minutes)
/// covers body and `Host`, so it cannot be turned into another call or host.
package enum AWSCallerIdentityRequest {
    /// The global STS endpoint (signed for `us-east-1`); the hub's default too.
    package static let defaultEndpoint = AWSNamingRules.defaultSTSEndpoint
    /// The form body of the call.
    package static let body = "Action=GetCallerIdentity&Version=\(AWSSTS.version)"
    package static let contentType = "application/x-www-form-urlencoded; charset=utf-8"

    /// `POST endpoint/` with the `GetCallerIdentity` form body, signed (SigV4,
    /// service `sts`) with `credentials`; temporary credentials add `X-Amz-Security-Token`.
    /// - Throws: `.invalidConfiguration` when `endpoint` is not an http(s) URL.
    package static func signed(
        credentials: AWSCredentials, region: String, endpoint: String = defaultEndpoint, date: Date = Date()
    ) throws(SecretError) -> SignedHTTPRequest {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let request = try SigV4Request(
            method: "POST", url: base + "/", headers: [(name: "Content-Type", value: contentType)],
            body: Array(body.utf8))
        let signed = SigV4Signer(credentials: credentials, region: region, service: "sts").sign(request, date: date)
        return SignedHTTPRequest(
            method: signed.request.method, url: signed.request.url,
            headers: signed.request.headers.map { SignedHTTPRequest.Header(name: $0.name, value: $0.value) },
            body: body)
    }

    /// The signed request, with credentials from the standard AWS chain: static
    /// keys in the environment (`AWS_ACCESS_KEY_ID`, ...), web identity
    /// (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), the shared credentials
    /// file (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`), the container
    /// endpoint, EC2 instance metadata: the first that has some.
    ///
    /// - Parameters:
    ///   - endpoint: the agent's `aws_sts_endpoint` (default `https://sts.amazonaws.com`);
    ///     it must be the one the hub's agent type names, since the signature covers the host.
    ///   - region: the signing region (default: `us-east-1` for the global endpoint, the
    ///     region in a regional endpoint's host, `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`).
    /// - Throws: `SecretError` saying which sources were tried when none has credentials
    ///   (`.denied`), or why a configured one failed; never a key.
    package static func signedCallerIdentity(
        endpoint: String?, region: String?, environment: [String: String], http: SecretHTTP,
        logger: Logger = Logger(label: "outpost.aws-sts", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws(SecretError) -> SignedHTTPRequest {
        let endpoint = endpoint.flatMap { $0.isEmpty ? nil : $0 } ?? defaultEndpoint
        let region = signingRegion(endpoint: endpoint, region: region, environment: environment)
        // Checks the endpoint before any credential source runs.
        _ = try SigV4Request(method: "POST", url: endpoint)
        // The provider's `credential_source: chain` with no options: the same sources, in
        // the same order, as an `aws-secrets-manager` provider configured with a region only.
        let configuration = AWSSecretsManagerProvider.Configuration(region: region, stsEndpoint: endpoint)
        let sts = AWSSTS(client: AWSClient(http: http, region: region), endpoint: endpoint)
        let chain = AWSCredentialChain(
            sources: configuration.credentialSources(environment: environment, http: http, sts: sts), assumeRole: nil,
            sts: sts, logger: logger)
        let credentials: AWSCredentials
        do {
            credentials = try await chain.credentials()
        } catch {
            throw error.with(detail: "signing sts:GetCallerIdentity for the hub: \(error.detail)")
        }
        return try signed(credentials: credentials, region: region, endpoint: endpoint)
    }

    /// The region to sign for: the global endpoint only takes `us-east-1`;
    /// otherwise `region`, the region in `sts.REGION.amazonaws.com`, the
    /// environment's, or `us-east-1`.
    package static func signingRegion(endpoint: String, region: String?, environment: [String: String]) -> String {
        let host = URLComponents(string: endpoint)?.host?.lowercased() ?? ""
        if host == "sts.amazonaws.com" { return "us-east-1" }
        if let region, !region.isEmpty { return region }
        // sts.eu-west-1.amazonaws.com, sts-fips.us-east-2.amazonaws.com, sts.cn-north-1.amazonaws.com.cn
        let labels = host.split(separator: ".")
        if labels.count >= 4, labels[0] == "sts" || labels[0] == "sts-fips", labels[2] == "amazonaws" {
            return String(labels[1])
        }
        for key in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let value = environment[key], !value.isEmpty { return value }
        }
        return "us-east-1"
    }
}
