import Foundation
import NIOHTTP1

/// The container credentials endpoint of ECS tasks and EKS Pod Identity:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with the `Authorization` header from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
struct AWSContainerCredentialsSource: AWSCredentialSource {
    static let ecsHost = "http://169.254.170.2"
    /// Plain-http hosts a full URI may name (the ECS and EKS agents, loopback).
    static let allowedHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"]

    var environment: [String: String]
    var http: SecretHTTP

    var label: String { "container" }

    /// The JSON the endpoint answers.
    struct Answer: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].flatMap { $0.isEmpty ? nil : $0 }
        let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"].flatMap { $0.isEmpty ? nil : $0 }
        let url: String
        if let relative {
            url = Self.ecsHost + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full {
            try Self.checkFullURI(full)
            url = full
        } else {
            return .notAvailable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set")
        }
        var headers: [(String, String)] = [("Accept", "application/json")]
        let token = try authorizationToken()
        if let token { headers.append(("Authorization", token)) }
        let response = try await http.send(.GET, url, headers: headers, maxBodyBytes: 64 << 10)
        let endpoint = SecretHTTP.host(of: url)
        guard response.status == 200 else {
            let error = AWSServiceError(response: response)
            var detail = "the container credentials endpoint \(endpoint) answered HTTP \(response.status)"
            if !error.message.isEmpty {
                detail += ": " + AWSServiceError.sanitize(error.message, secrets: token.map { [$0] } ?? [])
            }
            throw SecretHTTP.error(status: response.status, detail: "").with(detail: detail)
        }
        let answer = try response.json(Answer.self, what: "the container credentials endpoint \(endpoint)")
        return .found(
            AWSCredentials(
                accessKeyID: answer.AccessKeyId, secretAccessKey: answer.SecretAccessKey, sessionToken: answer.Token,
                expiration: answer.Expiration.flatMap(AWSCredentials.parseTimestamp)))
    }

    /// The `Authorization` value; the file wins over the variable (it may rotate).
    func authorizationToken() throws(SecretError) -> String? {
        var token: String?
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw SecretError(.denied, "cannot read \(file) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let value = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !value.isEmpty {
            token = value
        }
        if let token, token.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw SecretError(.denied, "the container authorization token contains a line break")
        }
        return token
    }

    /// Plain http only to loopback or the agents' link-local addresses: the
    /// credentials must not cross a network unencrypted.
    static func checkFullURI(_ uri: String) throws(SecretError) {
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased()
        else {
            throw SecretError(.denied, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
        }
        if scheme == "https" { return }
        let bareHost = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard scheme == "http",
            allowedHTTPHosts.contains(bareHost) || bareHost.hasPrefix("127.") || bareHost == "::1"
        else {
            throw SecretError(
                .denied,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI \(scheme)://\(host) is not allowed: plain http only to "
                    + "loopback, 169.254.170.2 or 169.254.170.23")
        }
    }
}
