import Foundation

/// Credentials from a profile of `~/.aws/config` and `~/.aws/credentials`, the
/// way botocore's profile providers find them. One profile can hold, and
/// botocore tries, in this order:
///
/// 1. `role_arn` with `source_profile` (another profile's credentials, itself
///    possibly a role: chains are followed, loops refused) or `credential_source`
///    (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`): STS `AssumeRole`;
/// 2. `web_identity_token_file` with `role_arn` (see `AWSWebIdentitySource`);
/// 3. IAM Identity Center: `sso_session` or `sso_start_url`, with
///    `sso_account_id` and `sso_role_name` (`AWSSSOCredentials`);
/// 4. `aws_access_key_id` / `aws_secret_access_key` of the credentials file;
/// 5. `credential_process` (`AWSCredentialProcess`);
/// 6. `aws_access_key_id` / `aws_secret_access_key` of the config file.
///
/// Each is its own source of the chain (`AWSProfileSource`), in botocore's
/// order; the files are read again at every resolution.
struct AWSProfileCredentials: Sendable {
    /// The steps of a profile, in the order botocore tries them.
    enum Step: String, Sendable, CaseIterable {
        case role = "profile role"
        case webIdentity = "profile web identity"
        case sso = "SSO"
        case sharedFile = "shared file"
        case process = "credential process"
        case configFile = "config file"
    }

    var location: AWSProfileFiles.Location
    var environment: [String: String]
    var http: SecretHTTP
    var sts: AWSSTS
    /// For `credential_source: Ec2InstanceMetadata` and `EcsContainer`.
    var imds: AWSInstanceMetadataSource
    var container: AWSContainerCredentialsSource
    /// `sso_endpoint` option or `AWS_ENDPOINT_URL_SSO` (for tests).
    var ssoEndpoint: String?
    var fips: Bool
    /// The bound of one `credential_process` run.
    var processTimeout: Duration

    /// The files, checked: a credentials file or profile that was named must exist.
    func files() throws(SecretError) -> AWSProfileFiles {
        if location.explicitCredentialsPath, let problem = AWSProfileFiles.credentialsFileProblem(location.credentialsPath) {
            throw SecretError(.denied, problem)
        }
        let files = AWSProfileFiles.load(location)
        if location.explicitProfile, files.profile(location.profile) == nil {
            throw SecretError(.denied, "no profile [\(location.profile)] in \(files.describedPaths)")
        }
        return files
    }

    /// Why the profile offers nothing at all (for "tried ..."), or `nil` when it exists.
    func absence(in files: AWSProfileFiles) -> String? {
        guard files.profile(location.profile) == nil else { return nil }
        if let problem = AWSProfileFiles.credentialsFileProblem(location.credentialsPath),
            !FileManager.default.isReadableFile(atPath: location.configPath)
        {
            return "\(problem), no file \(location.configPath)"
        }
        return "no profile [\(location.profile)] in \(files.describedPaths)"
    }

    /// One step for the chain's profile, or `nil` when the profile does not set it up.
    func resolve(_ step: Step, files: AWSProfileFiles) async throws(SecretError) -> AWSCredentials? {
        try await resolve(step, profile: location.profile, files: files, visited: [location.profile])
    }

    private func resolve(
        _ step: Step, profile name: String, files: AWSProfileFiles, visited: [String]
    ) async throws(SecretError) -> AWSCredentials? {
        guard let profile = files.profile(name) else { return nil }
        switch step {
        case .role:
            guard profile["role_arn"] != nil, profile["web_identity_token_file"] == nil else { return nil }
            return try await assumeRole(profile: name, settings: profile, files: files, visited: visited)
        case .webIdentity:
            guard let tokenFile = profile.nonEmpty("web_identity_token_file") else { return nil }
            guard let roleARN = profile.nonEmpty("role_arn") else {
                throw SecretError(.invalidConfiguration, "profile [\(name)] sets web_identity_token_file but no role_arn")
            }
            let source = AWSWebIdentitySource(
                tokenFile: tokenFile, roleARN: roleARN, sessionName: profile.nonEmpty("role_session_name"), sts: sts,
                origin: "web_identity_token_file of profile [\(name)]")
            guard case .found(let credentials) = try await source.resolve() else { return nil }
            return credentials
        case .sso:
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            guard
                let sso = try AWSSSOCredentials(
                    profile: name, settings: profile, files: files, home: home, portalOverride: ssoEndpoint, fips: fips,
                    http: http)
            else { return nil }
            return try await sso.credentials()
        case .sharedFile:
            return try Self.staticKeys(files.credentialsProfiles[name], profile: name, file: files.credentialsPath)
        case .process:
            guard let command = profile.nonEmpty("credential_process") else { return nil }
            return try await AWSCredentialProcess(
                command: command, profile: name, environment: environment, timeout: processTimeout
            ).credentials()
        case .configFile:
            return try Self.staticKeys(files.configProfiles[name], profile: name, file: files.configPath)
        }
    }

    /// `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`) of one file's section.
    static func staticKeys(_ section: [String: String]?, profile: String, file: String) throws(SecretError)
        -> AWSCredentials?
    {
        guard let section else { return nil }
        switch (section.nonEmpty("aws_access_key_id"), section.nonEmpty("aws_secret_access_key")) {
        case (let keyID?, let secret?):
            return AWSCredentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: section.nonEmpty("aws_session_token"))
        case (nil, nil): return nil
        case (nil, _): throw SecretError(.denied, "profile [\(profile)] in \(file) has aws_secret_access_key but no aws_access_key_id")
        case (_, nil): throw SecretError(.denied, "profile [\(profile)] in \(file) has aws_access_key_id but no aws_secret_access_key")
        }
    }

    // MARK: Roles

    /// `role_arn` of profile `name`: the source's credentials, then STS `AssumeRole`.
    private func assumeRole(
        profile name: String, settings profile: [String: String], files: AWSProfileFiles, visited: [String]
    ) async throws(SecretError) -> AWSCredentials {
        let role = try Self.roleSettings(profile: name, settings: profile)
        let base: AWSCredentials
        switch (profile.nonEmpty("source_profile"), profile.nonEmpty("credential_source")) {
        case (_?, _?):
            throw SecretError(
                .invalidConfiguration, "profile [\(name)] sets both source_profile and credential_source; keep one")
        case (nil, nil):
            throw SecretError(
                .invalidConfiguration, "profile [\(name)] sets role_arn but neither source_profile nor credential_source")
        case (nil, let source?):
            base = try await credentialSource(source, profile: name)
        case (let source?, nil):
            base = try await sourceProfile(source, parent: name, files: files, visited: visited)
        }
        return try await sts.assumeRole(
            roleARN: role.roleARN, sessionName: role.sessionName, externalID: role.externalID,
            durationSeconds: role.durationSeconds, credentials: base)
    }

    /// `role_arn`, `role_session_name`, `external_id`, `duration_seconds`; `mfa_serial` refused.
    static func roleSettings(profile name: String, settings profile: [String: String]) throws(SecretError)
        -> AWSCredentialChain.AssumeRole
    {
        guard let roleARN = profile.nonEmpty("role_arn"), roleARN.hasPrefix("arn:") else {
            throw SecretError(.invalidConfiguration, "profile [\(name)]: role_arn is not an ARN")
        }
        if profile.nonEmpty("mfa_serial") != nil {
            throw SecretError(
                .invalidConfiguration,
                "profile [\(name)] sets mfa_serial: an agent cannot type an MFA code; use a role whose trust policy "
                    + "does not require MFA, or another credential source")
        }
        var seconds = 3600
        if let text = profile.nonEmpty("duration_seconds") {
            guard let value = Int(text), (900...43_200).contains(value) else {
                throw SecretError(
                    .invalidConfiguration, "profile [\(name)]: duration_seconds must be from 900 to 43200, got \(text)")
            }
            seconds = value
        }
        return AWSCredentialChain.AssumeRole(
            roleARN: roleARN, sessionName: profile.nonEmpty("role_session_name") ?? "outpost-agent",
            externalID: profile.nonEmpty("external_id"), durationSeconds: seconds)
    }

    /// `credential_source` of a role profile.
    private func credentialSource(_ source: String, profile name: String) async throws(SecretError) -> AWSCredentials {
        let chosen: any AWSCredentialSource
        switch source {
        case "Environment": chosen = AWSStaticCredentialSource(configured: nil, environment: environment)
        case "Ec2InstanceMetadata": chosen = imds
        case "EcsContainer": chosen = container
        default:
            throw SecretError(
                .invalidConfiguration,
                "profile [\(name)]: credential_source \(source) is not one of Environment, Ec2InstanceMetadata, EcsContainer")
        }
        let resolution: AWSCredentialResolution
        do {
            resolution = try await chosen.resolve()
        } catch {
            throw error.with(detail: "credential_source \(source) of profile [\(name)]: \(error.detail)")
        }
        switch resolution {
        case .found(let credentials): return credentials
        case .notAvailable(let reason):
            throw SecretError(.denied, "credential_source \(source) of profile [\(name)] has no credentials: \(reason)")
        }
    }

    /// The credentials of `source_profile` `name` (botocore's rules): its own keys,
    /// web identity, SSO or process when it has static keys or no role; its role otherwise.
    private func sourceProfile(
        _ name: String, parent: String, files: AWSProfileFiles, visited: [String]
    ) async throws(SecretError) -> AWSCredentials {
        guard let profile = files.profile(name) else {
            throw SecretError(
                .invalidConfiguration,
                "profile [\(parent)] names source_profile \(name), which is not in \(files.describedPaths)")
        }
        let hasStaticKeys = profile["aws_access_key_id"] != nil || profile["aws_secret_access_key"] != nil
        if visited.contains(name) {
            // A role profile may name itself to use its own keys; any other return is a loop.
            guard name == parent, hasStaticKeys else {
                throw SecretError(
                    .invalidConfiguration,
                    "source_profile loops: \((visited + [name]).joined(separator: " -> ")); break the cycle in "
                        + files.describedPaths)
            }
        }
        let isRole = profile["role_arn"] != nil && profile["web_identity_token_file"] == nil
        if isRole, !hasStaticKeys {
            return try await assumeRole(profile: name, settings: profile, files: files, visited: visited + [name])
        }
        for step in [Step.webIdentity, .sso, .sharedFile, .process, .configFile] {
            if let credentials = try await resolve(step, profile: name, files: files, visited: visited + [name]) {
                return credentials
            }
        }
        throw SecretError(
            .denied, "source_profile \(name) of profile [\(parent)] has no credentials (keys, SSO, credential_process "
                + "or a role)")
    }
}

/// One step of the chain's profile (`AWSProfileCredentials.Step`) as a source of the chain.
struct AWSProfileSource: AWSCredentialSource {
    var step: AWSProfileCredentials.Step
    var profile: AWSProfileCredentials

    var label: String { step.rawValue }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        let files = try profile.files()
        if let absent = profile.absence(in: files) { return .notAvailable(absent) }
        if let credentials = try await profile.resolve(step, files: files) { return .found(credentials) }
        return .notAvailable("not in profile [\(profile.location.profile)]")
    }
}
