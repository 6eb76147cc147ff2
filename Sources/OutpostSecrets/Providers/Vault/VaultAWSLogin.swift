import Foundation
import Logging

/// Vault's AWS auth method, `iam` type (`auth: {method: aws}`): the agent signs an
/// `sts:GetCallerIdentity` request with its AWS credentials and hands it to Vault,
/// which sends it to STS and learns from STS's answer who the agent is. The usual
/// login of agents on EC2, EKS and ECS: nothing but the instance's, pod's or task's
/// AWS identity is needed.
///
/// The request is signed for `sts_endpoint` (the global `https://sts.amazonaws.com`,
/// region `us-east-1`, unless configured), with the AWS credential chain of the
/// `aws-secrets-manager` provider (environment keys, web identity, shared file,
/// container endpoint, EC2 instance metadata). `server_id` goes in the signed
/// `X-Vault-AWS-IAM-Server-ID` header, so a request signed for one Vault cannot be
/// replayed to another.
struct VaultAWSLogin: Sendable, Equatable, CustomStringConvertible {
    /// The Vault role (`role`); without it Vault picks the role named after the IAM principal.
    var role: String?
    /// The auth mount (`mount`, default `auth/aws`).
    var path: String
    /// Value of the `X-Vault-AWS-IAM-Server-ID` header (`server_id`; the mount's `iam_server_id_header_value`).
    var serverID: String?
    /// Where the request is signed for (`sts_endpoint`), without a trailing `/`.
    var stsEndpoint: String
    /// The SigV4 signing region (`sts_region`).
    var stsRegion: String

    static let globalEndpoint = "https://sts.amazonaws.com"
    static let serverIDHeader = "X-Vault-AWS-IAM-Server-ID"
    static let optionKeys: Set<String> = ["method", "role", "mount", "path", "server_id", "sts_region", "sts_endpoint"]

    /// Reads `role`, `server_id`, `sts_region` and `sts_endpoint`.
    /// - Throws: `.invalidConfiguration` naming the key.
    init(options: ProviderOptions, path: String, environment: [String: String]) throws(SecretError) {
        self.path = path
        role = try options.string("role").flatMap { $0.isEmpty ? nil : $0 }
        if let serverID = try options.string("server_id"), !serverID.isEmpty {
            guard serverID.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw options.invalid("server_id", "must be printable ASCII (it is sent as an HTTP header)")
            }
            self.serverID = serverID
        }
        let region = try options.string("sts_region").flatMap { $0.isEmpty ? nil : $0 }
        if let region {
            guard region.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
                throw options.invalid("sts_region", "expected a region name such as eu-west-1, got \"\(region)\"")
            }
        }
        // A region alone means that region's STS endpoint, as AWS's SDKs do.
        let endpoint = try options.url("sts_endpoint") ?? region.map { "https://sts.\($0).amazonaws.com" } ?? Self.globalEndpoint
        do { _ = try SigV4Request(method: "POST", url: endpoint + "/") } catch {
            throw options.invalid("sts_endpoint", error.detail)
        }
        let host = URLComponents(string: endpoint)?.host?.lowercased()
        if host == "sts.amazonaws.com", let region, region != "us-east-1" {
            throw options.invalid(
                "sts_region", "the global endpoint https://sts.amazonaws.com is signed for us-east-1; "
                    + "for \(region) leave sts_endpoint unset or set https://sts.\(region).amazonaws.com")
        }
        stsEndpoint = endpoint
        stsRegion = AWSCallerIdentityRequest.signingRegion(endpoint: endpoint, region: region, environment: environment)
    }

    var description: String {
        "aws at \(path) (role \(role ?? "named after the IAM principal"), sts \(stsEndpoint) \(stsRegion)"
            + (serverID.map { ", server_id \($0)" } ?? "") + ")"
    }

    /// The login body Vault's `aws` method takes for the `iam` type:
    /// `iam_http_request_method`, and the URL, body and headers (`{"Name": ["value"]}`
    /// JSON) of the signed request, each base64-encoded.
    /// - Throws: `.invalidConfiguration` when the endpoint is not a URL (checked at start-up).
    func loginBody(credentials: AWSCredentials, date: Date = Date()) throws(SecretError) -> [String: String] {
        var headers: [(name: String, value: String)] = [
            (name: "Content-Type", value: AWSCallerIdentityRequest.contentType)
        ]
        if let serverID { headers.append((name: Self.serverIDHeader, value: serverID)) }
        let body = AWSCallerIdentityRequest.body
        let request = try SigV4Request(method: "POST", url: stsEndpoint + "/", headers: headers, body: Array(body.utf8))
        let signed = SigV4Signer(credentials: credentials, region: stsRegion, service: "sts").sign(request, date: date)
        var byName: [String: [String]] = [:]
        for header in signed.request.headers { byName[header.name, default: []].append(header.value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let headersJSON = (try? encoder.encode(byName)) ?? Data("{}".utf8)
        var login = [
            "iam_http_request_method": signed.request.method,
            "iam_request_url": Data(signed.request.url.utf8).base64EncodedString(),
            "iam_request_body": Data(body.utf8).base64EncodedString(),
            "iam_request_headers": headersJSON.base64EncodedString(),
        ]
        if let role { login["role"] = role }
        return login
    }
}

/// The AWS credentials of an `aws` login: the standard chain, kept (and cached by
/// the chain) for the provider's lifetime.
struct VaultAWSCredentials: Sendable {
    private let chain: AWSCredentialChain

    /// The `aws-secrets-manager` provider's `credential_source: chain` without options:
    /// the same sources in the same order (see `AWSCallerIdentityRequest.signedCallerIdentity`).
    init(login: VaultAWSLogin, environment: [String: String], http: SecretHTTP, logger: Logger) {
        let configuration = AWSSecretsManagerProvider.Configuration(region: login.stsRegion, stsEndpoint: login.stsEndpoint)
        let sts = AWSSTS(client: AWSClient(http: http, region: login.stsRegion), endpoint: login.stsEndpoint)
        chain = AWSCredentialChain(
            sources: configuration.credentialSources(environment: environment, http: http, sts: sts), assumeRole: nil,
            sts: sts, logger: logger)
    }

    /// Credentials to sign with; a failure names the sources tried, never a key.
    func credentials() async throws(SecretError) -> AWSCredentials {
        do {
            return try await chain.credentials()
        } catch {
            throw SecretError(error.code, "AWS credentials for the Vault aws login: \(error.detail)")
        }
    }

    /// Forgets cached credentials (Vault or STS refused them).
    func invalidate() async {
        await chain.invalidate()
    }
}

/// Vault's TLS certificate auth method (`auth: {method: cert}`): the login request
/// goes over a TLS connection that presents the client certificate (`cert_file`,
/// `key_file`, re-read at each login); `name` picks the Vault certificate role.
struct VaultCertLogin: Sendable, Equatable, CustomStringConvertible {
    /// The certificate role to log in with (`name`); without it Vault tries every role.
    var name: String?
    var certFile: String
    var keyFile: String
    /// The auth mount (`mount`, default `auth/cert`).
    var path: String

    static let optionKeys: Set<String> = ["method", "name", "cert_file", "key_file", "mount", "path"]

    init(options: ProviderOptions, path: String) throws(SecretError) {
        self.path = path
        name = try options.string("name").flatMap { $0.isEmpty ? nil : $0 }
        certFile = try options.require("cert_file")
        keyFile = try options.require("key_file")
    }

    var description: String {
        "cert at \(path) (name \(name ?? "any matching role"), cert_file \(certFile), key_file \(keyFile))"
    }
}
