import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// Regions, endpoints and the AWS profile files, decided without a server.
@Suite("AWS regions, endpoints and profile files")
struct AWSProfileSettingsTests {
    static let base = ["name": "aws", "type": "aws-secrets-manager"]

    /// A provider's resolved settings for `options` and `environment` (HOME: `home`).
    static func resolved(
        _ options: [String: String] = [:], environment: [String: String] = [:], home: String
    ) throws(SecretError) -> AWSSecretsManagerProvider.Configuration.Resolved {
        let configuration = try AWSSecretsManagerProvider.Configuration(
            options: AWSTest.options(base.merging(options) { $1 }))
        return try configuration.resolved(environment: ["HOME": home].merging(environment) { $1 })
    }

    static func withHome<T>(_ body: (String) throws -> T) throws -> T {
        let home = try TemporaryDirectory(prefix: "outpost-aws-settings")
        defer { home.remove() }
        return try body(home.path)
    }

    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("the region comes from the option, then AWS_REGION, AWS_DEFAULT_REGION, then the profile's region")
    func regionOrder() throws {
        try Self.withHome { home in
            try Self.write(
                "[default]\nregion = eu-central-1\n[profile dev]\nregion = ap-south-1\n", to: home + "/.aws/config")
            let all = ["AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-north-1"]
            #expect(try Self.resolved(["region": "us-west-2"], environment: all, home: home).region == "us-west-2")
            #expect(try Self.resolved(environment: all, home: home).region == "eu-west-3")
            #expect(try Self.resolved(environment: ["AWS_DEFAULT_REGION": "eu-north-1"], home: home).region == "eu-north-1")
            #expect(try Self.resolved(home: home).region == "eu-central-1")
            #expect(try Self.resolved(environment: ["AWS_PROFILE": "dev"], home: home).region == "ap-south-1")
            #expect(try Self.resolved(["profile": "dev"], home: home).region == "ap-south-1")
            // AWS_CONFIG_FILE names another file; nothing there means IMDS is asked (nil).
            try Self.write("[profile other]\nregion = sa-east-1\n", to: home + "/elsewhere")
            let elsewhere = ["AWS_CONFIG_FILE": home + "/elsewhere"]
            #expect(try Self.resolved(environment: elsewhere, home: home).region == nil)
            #expect(
                try Self.resolved(environment: elsewhere.merging(["AWS_PROFILE": "other"]) { $1 }, home: home).region
                    == "sa-east-1")
            #expect(try Self.resolved(["config_file": home + "/elsewhere", "profile": "other"], home: home).region == "sa-east-1")
        }
    }

    @Test("a malformed region in the environment or the profile is a configuration error naming where")
    func badRegions() throws {
        try Self.withHome { home in
            let fromEnvironment = #expect(throws: SecretError.self) {
                try Self.resolved(environment: ["AWS_REGION": "Mars Base"], home: home)
            }
            #expect(fromEnvironment?.code == .invalidConfiguration)
            #expect(fromEnvironment?.detail.contains("AWS_REGION") == true)
            try Self.write("[default]\nregion = not a region\n", to: home + "/.aws/config")
            let fromProfile = #expect(throws: SecretError.self) { try Self.resolved(home: home) }
            #expect(fromProfile?.detail.contains("region of profile [default]") == true)
        }
    }

    @Test("with no region anywhere and IMDS disabled the provider does not start, and says where it looked")
    func noRegion() throws {
        try Self.withHome { home in
            let error = #expect(throws: SecretError.self) {
                try AWSTest.provider(Self.base, environment: AWSTest.isolatedEnvironment(home: home))
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("secrets.providers[aws]") == true)
            #expect(error?.detail.contains("no AWS region") == true)
            #expect(error?.detail.contains("AWS_DEFAULT_REGION") == true)
            #expect(error?.detail.contains("IMDS is disabled") == true)
        }
    }

    @Test(
        "endpoints follow the region's partition, and FIPS",
        arguments: [
            // region, fips, Secrets Manager, STS (as botocore 1.43 resolves them)
            ("us-east-1", false, "https://secretsmanager.us-east-1.amazonaws.com", "https://sts.us-east-1.amazonaws.com"),
            ("us-east-1", true, "https://secretsmanager-fips.us-east-1.amazonaws.com", "https://sts-fips.us-east-1.amazonaws.com"),
            ("cn-north-1", false, "https://secretsmanager.cn-north-1.amazonaws.com.cn", "https://sts.cn-north-1.amazonaws.com.cn"),
            ("cn-northwest-1", true, "https://secretsmanager-fips.cn-northwest-1.amazonaws.com.cn", "https://sts-fips.cn-northwest-1.amazonaws.com.cn"),
            ("us-gov-west-1", false, "https://secretsmanager.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com"),
            ("us-gov-west-1", true, "https://secretsmanager-fips.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com"),
            ("us-iso-east-1", false, "https://secretsmanager.us-iso-east-1.c2s.ic.gov", "https://sts.us-iso-east-1.c2s.ic.gov"),
            ("us-isob-east-1", false, "https://secretsmanager.us-isob-east-1.sc2s.sgov.gov", "https://sts.us-isob-east-1.sc2s.sgov.gov"),
            ("eusc-de-east-1", true, "https://secretsmanager-fips.eusc-de-east-1.amazonaws.eu", "https://sts-fips.eusc-de-east-1.amazonaws.eu"),
        ] as [(String, Bool, String, String)])
    func partitionEndpoints(region: String, fips: Bool, secretsManager: String, sts: String) throws {
        let configuration = AWSSecretsManagerProvider.Configuration(region: region)
        let endpoints = configuration.endpoints(region: region, fips: fips, environment: [:])
        #expect(endpoints.secretsManager == secretsManager)
        #expect(endpoints.sts == sts)
        #expect(AWSEndpoints.ssoPortal(region: region, fips: fips).hasPrefix("https://portal.sso\(fips ? "-fips" : "").\(region)."))
    }

    @Test("FIPS is asked for by the option, AWS_USE_FIPS_ENDPOINT or the profile; the option wins")
    func fipsSettings() throws {
        try Self.withHome { home in
            #expect(try Self.resolved(home: home).fips == false)
            #expect(try Self.resolved(["use_fips_endpoint": "true"], home: home).fips)
            #expect(try Self.resolved(environment: ["AWS_USE_FIPS_ENDPOINT": "true"], home: home).fips)
            #expect(
                try Self.resolved(["use_fips_endpoint": "false"], environment: ["AWS_USE_FIPS_ENDPOINT": "true"], home: home)
                    .fips == false)
            try Self.write("[default]\nuse_fips_endpoint = true\n", to: home + "/.aws/config")
            #expect(try Self.resolved(home: home).fips)
            let bad = #expect(throws: SecretError.self) {
                try Self.resolved(environment: ["AWS_USE_FIPS_ENDPOINT": "maybe"], home: home)
            }
            #expect(bad?.detail.contains("AWS_USE_FIPS_ENDPOINT") == true)
        }
    }

    @Test("an explicit endpoint wins over AWS_ENDPOINT_URL_* and FIPS; those win over the region's")
    func endpointPrecedence() {
        var configuration = AWSSecretsManagerProvider.Configuration(region: "eu-west-1")
        let environment = [
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4566/", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        ]
        var endpoints = configuration.endpoints(region: "eu-west-1", fips: true, environment: environment)
        #expect(endpoints.secretsManager == "http://127.0.0.1:4566")
        #expect(endpoints.sts == "http://127.0.0.1:9")
        #expect(
            configuration.endpoints(
                region: "eu-west-1", fips: true,
                environment: environment.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 }
            ).secretsManager == "https://secretsmanager-fips.eu-west-1.amazonaws.com")
        configuration.endpoint = "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com"
        configuration.stsEndpoint = "https://sts.eu-west-1.amazonaws.com"
        endpoints = configuration.endpoints(region: "eu-west-1", fips: true, environment: environment)
        #expect(endpoints.secretsManager == "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com")
        #expect(endpoints.sts == "https://sts.eu-west-1.amazonaws.com")
    }

    @Test("IMDSv1 fallback: off by default; the option, the profile or AWS_EC2_METADATA_V1_DISABLED=false turn it on")
    func imdsV1Settings() throws {
        try Self.withHome { home in
            let http = SecretHTTP(client: AWSTest.http, timeout: .seconds(5))
            func fallback(_ options: [String: String] = [:], _ environment: [String: String] = [:]) throws -> Bool {
                let configuration = try AWSSecretsManagerProvider.Configuration(
                    options: AWSTest.options(Self.base.merging(options) { $1 }))
                let resolved = try configuration.resolved(environment: ["HOME": home].merging(environment) { $1 })
                return configuration.instanceMetadata(
                    environment: environment, http: http, v1Fallback: resolved.imdsV1Fallback
                ).v1Fallback
            }
            #expect(try fallback() == false)
            #expect(try fallback([:], ["AWS_EC2_METADATA_V1_DISABLED": "true"]) == false)
            #expect(try fallback([:], ["AWS_EC2_METADATA_V1_DISABLED": "false"]))
            #expect(try fallback(["imds_v1_fallback": "true"]))
            #expect(try fallback(["imds_v1_fallback": "false"], ["AWS_EC2_METADATA_V1_DISABLED": "false"]) == false)
            try Self.write("[default]\nec2_metadata_v1_disabled = false\n", to: home + "/.aws/config")
            #expect(try fallback())
        }
    }

    @Test("the files: [profile x] and [default] in the config file, [x] in the credentials file, the latter winning")
    func profileFiles() throws {
        try Self.withHome { home in
            try Self.write(
                """
                ; comment
                [default]
                region = eu-west-1
                [profile dev]
                # comment
                role_arn = arn:aws:iam::1:role/r
                aws_access_key_id = FROM-CONFIG
                s3 =
                  region = should-not-shadow
                [sso-session corp]
                sso_start_url = https://corp.awsapps.com/start
                sso_region = eu-west-1
                [not-a-profile]
                region = ignored
                """, to: home + "/.aws/config")
            try Self.write(
                "[dev]\naws_access_key_id = FROM-CREDENTIALS\naws_secret_access_key : s\n", to: home + "/.aws/credentials")
            let files = AWSProfileFiles.load(
                AWSProfileFiles.Location(credentialsPath: nil, profile: nil, environment: ["HOME": home]))
            #expect(files.profile("default") == ["region": "eu-west-1"])
            #expect(
                files.profile("dev")
                    == [
                        "role_arn": "arn:aws:iam::1:role/r", "aws_access_key_id": "FROM-CREDENTIALS",
                        "aws_secret_access_key": "s", "s3": "", "s3.region": "should-not-shadow",
                    ])
            #expect(files.ssoSessions["corp"]?["sso_region"] == "eu-west-1")
            #expect(files.profile("not-a-profile") == nil)
        }
    }

    @Test(
        "credential_process command lines split as botocore's shlex does",
        arguments: [
            ("/bin/get-creds", ["/bin/get-creds"]),
            ("get-creds --profile 'my profile' --flag", ["get-creds", "--profile", "my profile", "--flag"]),
            (#"cmd "a \"quoted\" word" b\ c"#, ["cmd", #"a "quoted" word"#, "b c"]),
            (#"cmd "back\slash" 'single\'"#, ["cmd", #"back\slash"#, #"single\"#]),
            ("  spaced   out  ", ["spaced", "out"]),
            ("cmd ''", ["cmd", ""]),
        ] as [(String, [String])])
    func commandSplitting(command: String, words: [String]) {
        #expect(AWSProcessRunner.split(command) == words)
    }

    @Test("an unclosed quote is not a command line")
    func badCommandLines() {
        #expect(AWSProcessRunner.split("cmd 'open") == nil)
        #expect(AWSProcessRunner.split(#"cmd "open"#) == nil)
        #expect(AWSProcessRunner.split(#"cmd \"#) == nil)
    }

    @Test("the chain names sources that failed for one reason together")
    func triedGrouping() {
        let text = AWSCredentialChain.describe([
            ("static keys", "not set"), ("profile role", "no profile"), ("SSO", "no profile"), ("IMDS", "off"),
        ])
        #expect(text == "static keys (not set), profile role, SSO (no profile), IMDS (off)")
    }

    @Test("a credential_process past its time is killed, with what it started, and the error says so")
    func processTimeout() async throws {
        let home = try TemporaryDirectory(prefix: "outpost-aws-process")
        defer { home.remove() }
        let pidFile = home.path + "/child.pid"
        let script = home.path + "/slow"
        try "#!/bin/sh\nsleep 60 &\necho $! > '\(pidFile)'\nwait\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let process = AWSCredentialProcess(
            command: script, profile: "slow", environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(1))
        let clock = ContinuousClock()
        let started = clock.now
        let error = await AWSTest.failure { try await process.credentials() }
        // Well before the script's 60 s (the margin is for a loaded machine).
        #expect(clock.now - started < .seconds(30))
        #expect(error?.code == .unreachable)
        #expect(error?.detail.contains("did not finish within 1.0 seconds and was killed") == true, "\(error?.detail ?? "")")
        let child = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Gone, or a zombie waiting for whoever inherited it.
        let gone = await eventually(timeout: .seconds(20)) {
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8) else { return true }
            return stat.contains(") Z ")
        }
        #expect(gone, "the credential process's child still runs")
    }
}
