import Foundation

/// The `aws-secrets-manager` provider: `GetSecretValue` and `ListSecrets` of
/// AWS Secrets Manager (JSON 1.1 protocol), signed with SigV4 using credentials
/// from the standard AWS chain (see `AWSSecretsManagerProvider+Configuration`).
///
/// Path: `NAME_OR_ARN[?version_stage=STAGE|?version_id=ID]` (`AWSSecretPath`).
/// `SecretString` becomes `.text`, `SecretBinary` `.binary`.
struct AWSSecretsManagerProvider: SecretProvider {
    let name: String
    let configuration: Configuration
    /// Client, credential chain and endpoint, once the region is known.
    let runtime: AWSRuntime

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try self.init(
            name: name, configuration: Configuration(options: options), context: context, section: options.context)
    }

    /// - Parameter section: `secrets.providers[aws]`, to name in errors that come from
    ///   the environment or the profile rather than the options.
    /// - Throws: `.invalidConfiguration` when a region setting is malformed, or when
    ///   no region is set anywhere and IMDS, the last place to ask, is disabled.
    init(name: String, configuration: Configuration, context: ProviderContext, section: String? = nil) throws(SecretError) {
        self.name = name
        self.configuration = configuration
        let http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
        func inSection(_ error: SecretError) -> SecretError {
            guard let section else { return error }
            return SecretError(error.code, "\(section): \(error.detail)")
        }
        let resolved: Configuration.Resolved
        do {
            resolved = try configuration.resolved(environment: context.environment)
        } catch {
            throw inSection(error)
        }
        let build: @Sendable (String) -> AWSRuntime.Parts = { region in
            let endpoints = configuration.endpoints(
                region: region, fips: resolved.fips, environment: context.environment)
            let client = AWSClient(http: http, region: region)
            let sts = AWSSTS(client: client, endpoint: endpoints.sts)
            let chain = AWSCredentialChain(
                sources: configuration.credentialSources(environment: context.environment, http: http, sts: sts),
                assumeRole: configuration.assumeRole, sts: sts, logger: context.logger)
            return AWSRuntime.Parts(client: client, chain: chain, endpoint: endpoints.secretsManager)
        }
        if let region = resolved.region {
            runtime = AWSRuntime(ready: build(region))
        } else {
            let imds = configuration.instanceMetadata(
                environment: context.environment, http: http, v1Fallback: resolved.imdsV1Fallback)
            guard !imds.disabled else {
                throw inSection(SecretError(
                    .invalidConfiguration,
                    "no AWS region: set region, or AWS_REGION; looked in "
                        + resolved.regionTried.joined(separator: ", ") + ", and IMDS is disabled (AWS_EC2_METADATA_DISABLED)"))
            }
            runtime = AWSRuntime(tried: resolved.regionTried, imds: imds, build: build)
        }
    }

    // MARK: SecretProvider

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let reference = try AWSSecretPath(path)
        // A version id alone names one version; otherwise a stage does: the path's, else `version_stage`.
        let stage = reference.versionStage ?? (reference.versionID == nil ? configuration.versionStage : nil)
        let request = GetSecretValueRequest(
            SecretId: reference.secretID, VersionId: reference.versionID, VersionStage: stage)
        let body = try await call("GetSecretValue", request)
        let answer: GetSecretValueAnswer
        do {
            answer = try JSONDecoder().decode(GetSecretValueAnswer.self, from: Data(body))
        } catch {
            throw SecretError(.malformed, "Secrets Manager GetSecretValue answered with a body that is not the expected JSON")
        }
        if let text = answer.SecretString { return .text(text) }
        if let base64 = answer.SecretBinary {
            guard let bytes = Data(base64Encoded: base64) else {
                throw SecretError(.malformed, "Secrets Manager answered a SecretBinary that is not base64")
            }
            return .binary(Array(bytes))
        }
        throw SecretError(.malformed, "Secrets Manager answered neither SecretString nor SecretBinary")
    }

    func list(prefix: String) async throws(SecretError) -> [String] {
        var names: [String] = []
        var nextToken: String?
        // AWS's name filter matches prefixes case-insensitively, negates with a
        // leading "!" and takes only the characters of secret names: filter on
        // the server when that is safe, and always here, case-sensitively.
        let serverFilter = !prefix.isEmpty && !prefix.hasPrefix("!") && prefix.count <= 512
            && prefix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/_+=.@-".contains($0)) }
        let filters = serverFilter ? [ListSecretsRequest.Filter(Key: "name", Values: [prefix])] : nil
        for _ in 0..<1000 {
            let body = try await call(
                "ListSecrets", ListSecretsRequest(MaxResults: 100, NextToken: nextToken, Filters: filters))
            let answer: ListSecretsAnswer
            do {
                answer = try JSONDecoder().decode(ListSecretsAnswer.self, from: Data(body))
            } catch {
                throw SecretError(.malformed, "Secrets Manager ListSecrets answered with a body that is not the expected JSON")
            }
            names += (answer.SecretList ?? []).compactMap(\.Name).filter { $0.hasPrefix(prefix) }
            guard let token = answer.NextToken, !token.isEmpty else { return names.sorted() }
            nextToken = token
        }
        throw SecretError(.malformed, "Secrets Manager ListSecrets kept answering NextToken after 1000 pages")
    }

    // MARK: Calls

    /// One Secrets Manager call; once more with fresh credentials when AWS says
    /// temporary ones expired (refreshing credentials is this provider's job,
    /// retrying unreachable stores is `ManagedProvider`'s).
    private func call<Request: Encodable>(_ action: String, _ request: Request) async throws(SecretError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let body: [UInt8]
        do {
            body = Array(try encoder.encode(request))
        } catch {
            throw SecretError(.malformed, "cannot encode the \(action) request")
        }
        var attempt = 0
        while true {
            attempt += 1
            let parts = try await runtime.parts()
            let credentials = try await parts.chain.credentials()
            let response = try await parts.client.jsonResponse(
                service: "secretsmanager", endpoint: parts.endpoint, target: "secretsmanager.\(action)",
                body: body, credentials: credentials)
            if (200..<300).contains(response.status) { return response.body }
            let error = AWSServiceError(response: response)
            if attempt == 1, error.isExpiredCredentials, await parts.chain.invalidate() { continue }
            throw error.secretError(what: "Secrets Manager \(action)", secrets: credentials.secrets)
        }
    }

    // MARK: Wire shapes (AWS's member names)

    struct GetSecretValueRequest: Encodable {
        var SecretId: String
        var VersionId: String?
        var VersionStage: String?
    }

    struct GetSecretValueAnswer: Decodable {
        var SecretString: String?
        var SecretBinary: String?
    }

    struct ListSecretsRequest: Encodable {
        struct Filter: Encodable {
            var Key: String
            var Values: [String]
        }
        var MaxResults: Int
        var NextToken: String?
        var Filters: [Filter]?
    }

    struct ListSecretsAnswer: Decodable {
        struct Entry: Decodable { var Name: String? }
        var SecretList: [Entry]?
        var NextToken: String?
    }
}
