import Foundation

extension AWSSecretsManagerProvider {
    /// Where credentials come from (`credential_source`).
    enum CredentialSource: String, Sendable, Equatable, CaseIterable {
        /// Static keys (options, then environment), the profile's role, web identity, the profile's SSO,
        /// keys or `credential_process`, container, IMDS: the first that has some (botocore's order).
        case chain
        /// Only `access_key_id` / `secret_access_key` / `session_token` of the options.
        case `static`
        /// Only `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
        case environment
        /// Only `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` through STS.
        case webIdentity = "web_identity"
        /// Only the profile of `~/.aws/config` and `~/.aws/credentials` (role, web identity, SSO, keys, process).
        case profile
        /// The older name of `profile`.
        case sharedFile = "shared_file"
        /// Only the container credentials endpoint.
        case container
        /// Only EC2 instance metadata (IMDSv2).
        case imds
    }

    /// The validated options of one `aws-secrets-manager` provider.
    struct Configuration: Sendable, Equatable {
        /// AWS region (`region`; default `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, IMDS).
        var region: String?
        /// Secrets Manager endpoint (`endpoint`; default `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
        /// `AWS_ENDPOINT_URL`, else the region's: `https://secretsmanager[-fips].REGION.SUFFIX`).
        var endpoint: String?
        /// STS endpoint for roles and web identity (`sts_endpoint`; default `AWS_ENDPOINT_URL_STS`,
        /// `AWS_ENDPOINT_URL`, else `https://sts[-fips].REGION.SUFFIX`).
        var stsEndpoint: String?
        /// FIPS endpoints (`use_fips_endpoint`; default `AWS_USE_FIPS_ENDPOINT`, the profile's, false).
        var useFIPSEndpoint: Bool?
        /// Staging label fetched when the path names none (`version_stage`, default `AWSCURRENT`).
        var versionStage: String = "AWSCURRENT"
        /// Which credential sources to use (`credential_source`, default `chain`).
        var credentialSource: CredentialSource = .chain
        /// Keys from `access_key_id`, `secret_access_key`, `session_token` (default none).
        var staticCredentials: AWSCredentials?
        /// Profile of the AWS files (`profile`, default `AWS_PROFILE` or `default`).
        var profile: String?
        /// Shared credentials file (`shared_credentials_file`, default `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`).
        var sharedCredentialsFile: String?
        /// AWS config file (`config_file`, default `AWS_CONFIG_FILE` or `~/.aws/config`).
        var configFile: String?
        /// Role assumed with the credentials found (`assume_role_arn`, `external_id`,
        /// `role_session_name` default `outpost-agent`, `assume_role_duration` default 1h).
        var assumeRole: AWSCredentialChain.AssumeRole?
        /// EC2 metadata endpoint (`imds_endpoint`, default `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`).
        var imdsEndpoint: String?
        /// Whether IMDS may be read without an IMDSv2 token when the token request fails
        /// (`imds_v1_fallback`; default the profile's `ec2_metadata_v1_disabled = false` or
        /// `AWS_EC2_METADATA_V1_DISABLED=false`, else no).
        var imdsV1Fallback: Bool?
        /// IAM Identity Center portal (`sso_endpoint`, for tests; default `AWS_ENDPOINT_URL_SSO`,
        /// else `https://portal.sso.SSO_REGION.SUFFIX`).
        var ssoEndpoint: String?

        init(region: String?, endpoint: String? = nil, stsEndpoint: String? = nil) {
            self.region = region
            self.endpoint = endpoint
            self.stsEndpoint = stsEndpoint
        }

        static let optionKeys: Set<String> = [
            "region", "endpoint", "sts_endpoint", "use_fips_endpoint", "version_stage", "credential_source",
            "access_key_id", "secret_access_key", "session_token", "profile", "shared_credentials_file", "config_file",
            "assume_role_arn", "external_id", "role_session_name", "assume_role_duration", "imds_endpoint",
            "imds_v1_fallback", "sso_endpoint",
        ]

        /// Reads and checks the options.
        /// - Throws: `.invalidConfiguration` naming the key and where it was set.
        init(options: ProviderOptions) throws(SecretError) {
            try options.rejectUnknownKeys(allowed: Self.optionKeys)
            var region: String?
            if let value = try options.string("region") {
                guard Self.isRegionName(value) else {
                    throw options.invalid("region", "expected a region name such as us-east-1, got \"\(value)\"")
                }
                region = value
            }
            self.init(region: region, endpoint: try options.url("endpoint"), stsEndpoint: try options.url("sts_endpoint"))
            useFIPSEndpoint = try options.bool("use_fips_endpoint")
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
            configFile = try nonEmpty(options, "config_file")
            imdsEndpoint = try options.url("imds_endpoint")
            imdsV1Fallback = try options.bool("imds_v1_fallback")
            ssoEndpoint = try options.url("sso_endpoint")
            try readAssumeRole(options)
        }

        /// `us-east-1`, `cn-north-1`, `us-gov-west-1`: lower-case letters, digits and `-`.
        static func isRegionName(_ text: String) -> Bool {
            !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
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

        /// Where the AWS files are and which profile is meant.
        func profileLocation(environment: [String: String]) -> AWSProfileFiles.Location {
            var environment = environment
            if let configFile { environment["AWS_CONFIG_FILE"] = configFile }
            return AWSProfileFiles.Location(
                credentialsPath: sharedCredentialsFile, profile: profile, environment: environment)
        }

        /// The settings that options, the environment and the profile decide together.
        struct Resolved: Sendable, Equatable {
            var location: AWSProfileFiles.Location
            /// `nil`: ask IMDS.
            var region: String?
            /// Where the region was looked for (for "no region" errors).
            var regionTried: [String]
            var fips: Bool
            var imdsV1Fallback: Bool?
        }

        /// Region, FIPS and IMDSv1 fallback from the options, then the environment,
        /// then the profile (read now, as botocore reads them once per session).
        /// - Throws: `.invalidConfiguration` for a bad value in the environment or the profile.
        func resolved(environment: [String: String]) throws(SecretError) -> Resolved {
            let location = profileLocation(environment: environment)
            let settings = AWSProfileFiles.load(location).profile(location.profile) ?? [:]
            func env(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
            func flag(_ text: String?, _ what: String) throws(SecretError) -> Bool? {
                guard let text else { return nil }
                switch text.lowercased() {
                case "true": return true
                case "false": return false
                default: throw SecretError(.invalidConfiguration, "\(what) must be true or false, got \"\(text)\"")
                }
            }
            var region = self.region
            var tried = ["the region option", "AWS_REGION", "AWS_DEFAULT_REGION"]
            if region == nil {
                for key in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
                    guard region == nil, let value = env(key) else { continue }
                    guard Self.isRegionName(value) else {
                        throw SecretError(.invalidConfiguration, "\(key) is not a region name: \"\(value)\"")
                    }
                    region = value
                }
            }
            tried.append("region of profile [\(location.profile)] in \(location.configPath)")
            if region == nil, let value = settings.nonEmpty("region") {
                guard Self.isRegionName(value) else {
                    throw SecretError(
                        .invalidConfiguration,
                        "region of profile [\(location.profile)] in \(location.configPath) is not a region name: \"\(value)\"")
                }
                region = value
            }
            var fips = useFIPSEndpoint
            if fips == nil { fips = try flag(env("AWS_USE_FIPS_ENDPOINT"), "AWS_USE_FIPS_ENDPOINT") }
            if fips == nil {
                fips = try flag(settings.nonEmpty("use_fips_endpoint"), "use_fips_endpoint of profile [\(location.profile)]")
            }
            var v1Fallback = imdsV1Fallback
            if v1Fallback == nil, let disabled = try flag(
                settings.nonEmpty("ec2_metadata_v1_disabled"), "ec2_metadata_v1_disabled of profile [\(location.profile)]")
            {
                v1Fallback = !disabled
            }
            return Resolved(
                location: location, region: region, regionTried: tried, fips: fips ?? false, imdsV1Fallback: v1Fallback)
        }

        /// The Secrets Manager and STS endpoints for `region`: the options, the
        /// `AWS_ENDPOINT_URL_*` variables, else the region's partition (FIPS when asked).
        func endpoints(region: String, fips: Bool, environment: [String: String]) -> (secretsManager: String, sts: String) {
            (
                endpoint ?? AWSEndpoints.configuredURL(service: "SECRETS_MANAGER", environment: environment)
                    ?? AWSEndpoints.secretsManager(region: region, fips: fips),
                stsEndpoint ?? AWSEndpoints.configuredURL(service: "STS", environment: environment)
                    ?? AWSEndpoints.sts(region: region, fips: fips)
            )
        }

        /// The IMDS source these options describe.
        func instanceMetadata(environment: [String: String], http: SecretHTTP, v1Fallback: Bool?) -> AWSInstanceMetadataSource {
            AWSInstanceMetadataSource(endpoint: imdsEndpoint, environment: environment, http: http, v1Fallback: v1Fallback)
        }

        /// The sources `credentialSource` selects, in chain order (botocore's).
        func credentialSources(environment: [String: String], http: SecretHTTP, sts: AWSSTS) -> [any AWSCredentialSource] {
            let resolved = (try? resolved(environment: environment))
                ?? Resolved(
                    location: profileLocation(environment: environment), region: region, regionTried: [],
                    fips: useFIPSEndpoint ?? false, imdsV1Fallback: imdsV1Fallback)
            let staticKeys = AWSStaticCredentialSource(
                configured: staticCredentials,
                // A profile named in the options outranks the environment's keys (botocore's explicit profile).
                environment: profile == nil ? environment : nil)
            let webIdentity = AWSWebIdentitySource(environment: environment, sts: sts)
            let container = AWSContainerCredentialsSource(environment: environment, http: http)
            let imds = instanceMetadata(environment: environment, http: http, v1Fallback: resolved.imdsV1Fallback)
            let profileCredentials = AWSProfileCredentials(
                location: resolved.location, environment: environment, http: http, sts: sts, imds: imds,
                container: container,
                ssoEndpoint: ssoEndpoint ?? AWSEndpoints.configuredURL(service: "SSO", environment: environment),
                fips: resolved.fips, processTimeout: http.timeout)
            func step(_ step: AWSProfileCredentials.Step) -> AWSProfileSource {
                AWSProfileSource(step: step, profile: profileCredentials)
            }
            let profileSteps = AWSProfileCredentials.Step.allCases.map(step)
            switch credentialSource {
            case .chain:
                return [staticKeys, step(.role), webIdentity, step(.webIdentity), step(.sso), step(.sharedFile),
                    step(.process), step(.configFile), container, imds]
            case .static: return [AWSStaticCredentialSource(configured: staticCredentials, environment: nil)]
            case .environment: return [AWSStaticCredentialSource(configured: nil, environment: environment)]
            case .webIdentity: return [webIdentity]
            case .profile, .sharedFile: return profileSteps
            case .container: return [container]
            case .imds: return [imds]
            }
        }
    }
}
