import Foundation

extension AWSSecretsManagerProvider {
    /// Where credentials come from (`credential_source`).
    enum CredentialSource: String, Sendable, Equatable, CaseIterable {
        /// Static keys (options, then environment), web identity, shared file, container, IMDS: first that has some.
        case chain
        /// Only `access_key_id` / `secret_access_key` / `session_token` of the options.
        case `static`
        /// Only `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
        case environment
        /// Only `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` through STS.
        case webIdentity = "web_identity"
        /// Only the shared credentials file.
        case sharedFile = "shared_file"
        /// Only the container credentials endpoint.
        case container
        /// Only EC2 instance metadata (IMDSv2).
        case imds
    }

    /// The validated options of one `aws-secrets-manager` provider.
    struct Configuration: Sendable, Equatable {
        /// AWS region (`region`, required).
        var region: String
        /// Secrets Manager endpoint (`endpoint`, default `https://secretsmanager.REGION.amazonaws.com`).
        var endpoint: String
        /// STS endpoint for AssumeRole and web identity (`sts_endpoint`, default `https://sts.REGION.amazonaws.com`).
        var stsEndpoint: String
        /// Staging label fetched when the path names none (`version_stage`, default `AWSCURRENT`).
        var versionStage: String = "AWSCURRENT"
        /// Which credential sources to use (`credential_source`, default `chain`).
        var credentialSource: CredentialSource = .chain
        /// Keys from `access_key_id`, `secret_access_key`, `session_token` (default none).
        var staticCredentials: AWSCredentials?
        /// Profile of the shared credentials file (`profile`, default `AWS_PROFILE` or `default`).
        var profile: String?
        /// Shared credentials file (`shared_credentials_file`, default `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`).
        var sharedCredentialsFile: String?
        /// Role assumed with the credentials found (`assume_role_arn`, `external_id`,
        /// `role_session_name` default `outpost-agent`, `assume_role_duration` default 1h).
        var assumeRole: AWSCredentialChain.AssumeRole?
        /// EC2 metadata endpoint (`imds_endpoint`, default `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`).
        var imdsEndpoint: String?

        init(region: String, endpoint: String? = nil, stsEndpoint: String? = nil) {
            self.region = region
            self.endpoint = endpoint ?? "https://secretsmanager.\(region).amazonaws.com"
            self.stsEndpoint = stsEndpoint ?? AWSSTS.defaultEndpoint(region: region)
        }

        static let optionKeys: Set<String> = [
            "region", "endpoint", "sts_endpoint", "version_stage", "credential_source", "access_key_id",
            "secret_access_key", "session_token", "profile", "shared_credentials_file", "assume_role_arn",
            "external_id", "role_session_name", "assume_role_duration", "imds_endpoint",
        ]

        /// Reads and checks the options.
        /// - Throws: `.invalidConfiguration` naming the key and where it was set.
        init(options: ProviderOptions) throws(SecretError) {
            try options.rejectUnknownKeys(allowed: Self.optionKeys)
            let region = try options.require("region")
            guard region.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
                throw options.invalid("region", "expected a region name such as us-east-1, got \"\(region)\"")
            }
            self.init(region: region, endpoint: try options.url("endpoint"), stsEndpoint: try options.url("sts_endpoint"))
            if let stage = try options.string("version_stage") {
                guard !stage.isEmpty else { throw options.invalid("version_stage", "must not be empty") }
                versionStage = stage
            }
            if let source = try options.string("credential_source") {
                guard let parsed = CredentialSource(rawValue: source) else {
                    let known = CredentialSource.allCases.map(\.rawValue).joined(separator: ", ")
                    throw options.invalid("credential_source", "expected one of \(known), got \"\(source)\"")
                }
                credentialSource = parsed
            }
            try readStaticKeys(options)
            profile = try nonEmpty(options, "profile")
            sharedCredentialsFile = try nonEmpty(options, "shared_credentials_file")
            imdsEndpoint = try options.url("imds_endpoint")
            try readAssumeRole(options)
        }

        private mutating func readStaticKeys(_ options: ProviderOptions) throws(SecretError) {
            let keyID = try nonEmpty(options, "access_key_id")
            let secret = try nonEmpty(options, "secret_access_key")
            let token = try nonEmpty(options, "session_token")
            switch (keyID, secret) {
            case (let keyID?, let secret?):
                staticCredentials = AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token)
            case (nil, nil):
                if token != nil { throw options.invalid("session_token", "needs access_key_id and secret_access_key") }
            case (nil, _): throw options.invalid("access_key_id", "required when secret_access_key is set")
            case (_, nil): throw options.invalid("secret_access_key", "required when access_key_id is set")
            }
            if staticCredentials == nil, credentialSource == .static {
                throw options.invalid("credential_source", "\"static\" needs access_key_id and secret_access_key")
            }
            if staticCredentials != nil, credentialSource != .static, credentialSource != .chain {
                throw options.invalid(
                    "access_key_id", "is only used with credential_source chain or static, not \(credentialSource.rawValue)")
            }
        }

        private mutating func readAssumeRole(_ options: ProviderOptions) throws(SecretError) {
            let externalID = try nonEmpty(options, "external_id")
            let sessionName = try nonEmpty(options, "role_session_name")
            let duration = try options.duration("assume_role_duration")
            guard let roleARN = try nonEmpty(options, "assume_role_arn") else {
                for (key, value) in [("external_id", externalID), ("role_session_name", sessionName)] where value != nil {
                    throw options.invalid(key, "needs assume_role_arn")
                }
                if duration != nil { throw options.invalid("assume_role_duration", "needs assume_role_arn") }
                return
            }
            guard roleARN.hasPrefix("arn:"), roleARN.contains(":role/") else {
                throw options.invalid("assume_role_arn", "expected a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
            }
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_+=,.@-"))
            if let sessionName,
                !(2...64).contains(sessionName.count) || !sessionName.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) })
            {
                throw options.invalid("role_session_name", "expected 2 to 64 characters of letters, digits and _+=,.@-")
            }
            var seconds = 3600
            if let duration {
                seconds = Int(duration.components.seconds)
                guard (900...43_200).contains(seconds) else {
                    throw options.invalid("assume_role_duration", "must be from 15m to 12h")
                }
            }
            assumeRole = AWSCredentialChain.AssumeRole(
                roleARN: roleARN, sessionName: sessionName ?? "outpost-agent", externalID: externalID,
                durationSeconds: seconds)
        }

        private func nonEmpty(_ options: ProviderOptions, _ key: String) throws(SecretError) -> String? {
            guard let value = try options.string(key) else { return nil }
            return value.isEmpty ? nil : value
        }

        /// The sources `credentialSource` selects, in chain order.
        func credentialSources(environment: [String: String], http: SecretHTTP, sts: AWSSTS) -> [any AWSCredentialSource] {
            let staticKeys = AWSStaticCredentialSource(configured: staticCredentials, environment: environment)
            let webIdentity = AWSWebIdentitySource(environment: environment, sts: sts)
            let sharedFile = AWSSharedCredentialsFileSource(
                path: sharedCredentialsFile, profile: profile, environment: environment)
            let container = AWSContainerCredentialsSource(environment: environment, http: http)
            let imds = AWSInstanceMetadataSource(endpoint: imdsEndpoint, environment: environment, http: http)
            switch credentialSource {
            case .chain: return [staticKeys, webIdentity, sharedFile, container, imds]
            case .static: return [AWSStaticCredentialSource(configured: staticCredentials, environment: nil)]
            case .environment: return [AWSStaticCredentialSource(configured: nil, environment: environment)]
            case .webIdentity: return [webIdentity]
            case .sharedFile: return [sharedFile]
            case .container: return [container]
            case .imds: return [imds]
            }
        }
    }
}
