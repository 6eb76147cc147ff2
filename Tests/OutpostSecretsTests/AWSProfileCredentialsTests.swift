import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// Profiles of `~/.aws/config` against moto with signature checking: role
/// chains (`role_arn` + `source_profile` / `credential_source`), a real
/// `credential_process` script, IAM Identity Center through `FakeSSOPortal`.
/// Every path ends in a secret read with the credentials it produced.
@Suite("AWS profiles against moto", .motoAvailable, .moto)
struct AWSProfileCredentialsTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    static let assumeAnything =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#
    static let readSecrets =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#
    /// moto checks a trust policy's principal by exact ARN (an assumed role's includes
    /// its session name) or `*`; the identity policies still decide who may do what.
    static let trustAnyone =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#

    /// A test's own HOME with `.aws/config` and `.aws/credentials`, named in the environment.
    struct Home {
        let directory: TemporaryDirectory
        var path: String { directory.path }
        var config: String { path + "/.aws/config" }
        var credentials: String { path + "/.aws/credentials" }

        init() throws {
            directory = try TemporaryDirectory(prefix: "outpost-aws-profile")
            try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
        }

        func write(config text: String, credentials keys: String = "") throws {
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            try keys.write(toFile: credentials, atomically: true, encoding: .utf8)
        }

        /// An executable script in HOME; its path.
        func script(_ name: String, _ body: String) throws -> String {
            let file = path + "/" + name
            try ("#!/bin/sh\n" + body).write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file)
            return file
        }

        var environment: [String: String] {
            AWSTest.isolatedEnvironment(
                ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials, "PATH": "/usr/bin:/bin"],
                home: path)
        }
    }

    /// A user that may only assume roles, a role it may assume that may only assume
    /// roles, and a role that reads secrets: only the end of the chain can read.
    func roleChain(_ moto: AWSMoto, _ tag: String) async throws -> (
        user: AWSCredentials, hop: String, reader: String
    ) {
        let user = try await moto.createUser("\(tag)-base", policy: Self.assumeAnything)
        let trustUser = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\(moto.userARN("\(tag)-base"))"},\
            "Action":"sts:AssumeRole"}]}
            """
        let hop = try await moto.createRole("\(tag)-hop", trust: trustUser, policy: Self.assumeAnything)
        let reader = try await moto.createRole("\(tag)-reader", trust: Self.trustAnyone, policy: Self.readSecrets)
        return (user, hop, reader)
    }

    // MARK: Roles

    @Test("role_arn + source_profile: keys -> role -> role, each hop an AssumeRole, and only the last role reads")
    func sourceProfileChain() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("chain", string: "via-two-roles")
        let chain = try await roleChain(moto, "chain")
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(
            config: """
                [profile reader]
                role_arn = \(chain.reader)
                source_profile = hop
                role_session_name = outpost-chain
                duration_seconds = 900
                [profile hop]
                role_arn = \(chain.hop)
                source_profile = base
                external_id = not-checked-by-this-trust
                """,
            credentials: "[base]\naws_access_key_id = \(chain.user.accessKeyID)\naws_secret_access_key = \(chain.user.secretAccessKey)\n")
        let reader = try moto.provider(["profile": "reader"], environment: home.environment, admin: false)
        #expect(try await reader.fetch(path: secret.name) == .text("via-two-roles"))
        // AWS_PROFILE picks the profile too.
        let byVariable = try moto.provider(
            environment: home.environment.merging(["AWS_PROFILE": "reader"]) { $1 }, admin: false)
        #expect(try await byVariable.fetch(path: secret.name) == .text("via-two-roles"))
        // One hop short, the role may not read: the chain above did go to the end.
        let hop = try moto.provider(["profile": "hop"], environment: home.environment, admin: false)
        #expect(await AWSTest.failure { try await hop.fetch(path: secret.name) }?.code == .denied)
    }

    @Test("credential_source Environment: the agent's keys assume the profile's role")
    func credentialSourceEnvironment() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("credential-source", string: "from-env-role")
        let chain = try await roleChain(moto, "envsrc")
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(config: "[default]\nrole_arn = \(chain.reader)\ncredential_source = Environment\n")
        var environment = home.environment
        environment["AWS_ACCESS_KEY_ID"] = chain.user.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = chain.user.secretAccessKey
        // With AWS_PROFILE the environment's keys are not used directly (they cannot read)...
        environment["AWS_PROFILE"] = "default"
        let provider = try moto.provider(["credential_source": "profile"], environment: environment, admin: false)
        #expect(try await provider.fetch(path: secret.name) == .text("from-env-role"))
    }

    @Test(
        "credential_source Ec2InstanceMetadata and EcsContainer: those endpoints' keys assume the profile's role",
        arguments: ["Ec2InstanceMetadata", "EcsContainer"])
    func credentialSourceEndpoints(source: String) async throws {
        let moto = try moto
        let secret = try await moto.createSecret("credential-source-\(source)", string: "from-\(source)")
        let reader = try await moto.createRole("\(source)-reader", trust: Self.trustAnyone, policy: Self.readSecrets)
        // The endpoint's own role may only assume roles: only the profile's role can read.
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials(policy: Self.assumeAnything))
        try await fake.run { base in
            let home = try Home()
            defer { home.directory.remove() }
            try home.write(config: "[default]\nrole_arn = \(reader)\ncredential_source = \(source)\n")
            var environment = home.environment
            environment["AWS_EC2_METADATA_DISABLED"] = nil
            environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = base + "/container/credentials"
            let provider = try moto.provider(["imds_endpoint": base], environment: environment, admin: false)
            #expect(try await provider.fetch(path: secret.name) == .text("from-\(source)"))
            if source == "EcsContainer" {
                #expect(await fake.containerRequests == 1)
                #expect(await fake.credentialRequests == 0)
            } else {
                #expect(await fake.credentialRequests == 1)
                #expect(await fake.containerRequests == 0)
            }
        }
    }

    @Test(
        "role profiles that cannot work are refused clearly, before any call",
        arguments: [
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/y\nsource_profile = a\n",
             "source_profile loops: a -> b -> a"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = a\n", "source_profile loops: a -> a"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = missing\n",
             "names source_profile missing, which is not in"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nmfa_serial = arn:aws:iam::123456789012:mfa/me\ncredential_source = Environment\n",
             "sets mfa_serial: an agent cannot type an MFA code"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = b\ncredential_source = Environment\n[profile b]\n",
             "sets both source_profile and credential_source"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\n", "neither source_profile nor credential_source"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Magic\n",
             "credential_source Magic is not one of Environment, Ec2InstanceMetadata, EcsContainer"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Environment\nduration_seconds = 60\n",
             "duration_seconds must be from 900 to 43200"),
            ("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = b\n[profile b]\nregion = us-east-1\n",
             "source_profile b of profile [a] has no credentials"),
        ])
    func badRoleProfiles(config: String, message: String) async throws {
        let moto = try moto
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(config: config)
        let provider = try moto.provider(["profile": "a"], environment: home.environment, admin: false)
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.detail.contains(message), "\(error.detail)")
        #expect(error.detail.contains("profile role"), "names the source: \(error.detail)")
        #expect(!error.isRetryable)
    }

    @Test("a profile's web_identity_token_file is read (after AWS_WEB_IDENTITY_TOKEN_FILE), and named when it fails")
    func profileWebIdentity() async throws {
        let moto = try moto
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(
            config: "[profile w]\nrole_arn = arn:aws:iam::123456789012:role/x\nweb_identity_token_file = \(home.path)/missing\n")
        let provider = try moto.provider(["profile": "w"], environment: home.environment, admin: false)
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.code == .denied)
        #expect(
            error.detail
                == "AWS credentials from profile web identity: cannot read the token file \(home.path)/missing "
                + "(web_identity_token_file of profile [w])")
    }

    @Test("a profile named in the options outranks the environment's keys; a missing one is an error")
    func explicitProfile() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("explicit-profile", string: "profile-keys")
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(
            config: "[profile dev]\nregion = us-east-1\n",
            credentials: "[dev]\naws_access_key_id = \(moto.admin.accessKeyID)\naws_secret_access_key = \(moto.admin.secretAccessKey)\n")
        var environment = home.environment
        environment["AWS_ACCESS_KEY_ID"] = "AKIAWRONGWRONGWRONG0"
        environment["AWS_SECRET_ACCESS_KEY"] = "wrong"
        let provider = try moto.provider(["profile": "dev"], environment: environment, admin: false)
        #expect(try await provider.fetch(path: secret.name) == .text("profile-keys"))
        // Without the option the environment's keys come first (and moto refuses them).
        let byVariable = try moto.provider(
            environment: environment.merging(["AWS_PROFILE": "dev"]) { $1 }, admin: false)
        #expect(await AWSTest.failure { try await byVariable.fetch(path: secret.name) }?.code == .denied)
        let missing = try moto.provider(["profile": "nope"], environment: home.environment, admin: false)
        let error = await AWSTest.failure { try await missing.fetch(path: secret.name) }
        #expect(error?.detail.contains("no profile [nope] in \(home.credentials) or \(home.config)") == true)
    }

    // MARK: credential_process

    /// A script that counts its runs in `counter` and prints `keys`, expiring `expiresIn` seconds from now.
    func processScript(_ home: Home, keys: AWSCredentials, expiresIn: Int, counter: String) throws -> String {
        try home.script(
            "get-credentials",
            """
            echo run >> '\(counter)'
            echo 'a line on stderr, never shown' >&2
            expires=$(date -u -d "+\(expiresIn) seconds" +%Y-%m-%dT%H:%M:%SZ)
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\\n' \\
              '\(keys.accessKeyID)' '\(keys.secretAccessKey)' '\(keys.sessionToken ?? "")' "$expires"
            """)
    }

    @Test("credential_process: the script's keys read the secret, and it runs again only near their expiry")
    func credentialProcess() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("process", string: "from-a-process")
        let home = try Home()
        defer { home.directory.remove() }
        let counter = home.path + "/runs"
        let script = try processScript(home, keys: moto.admin, expiresIn: 3600, counter: counter)
        try home.write(config: "[profile proc]\ncredential_process = \(script) --profile 'with space'\n")
        func runs() -> Int {
            ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let provider = try moto.provider(["profile": "proc"], environment: home.environment, admin: false)
        #expect(try await provider.fetch(path: secret.name) == .text("from-a-process"))
        #expect(try await provider.fetch(path: secret.name) == .text("from-a-process"))
        #expect(runs() == 1)

        // Credentials within the refresh margin (five minutes) of their expiry: run again.
        _ = try processScript(home, keys: moto.admin, expiresIn: 120, counter: counter)
        let shortLived = try moto.provider(["profile": "proc"], environment: home.environment, admin: false)
        _ = try await shortLived.fetch(path: secret.name)
        _ = try await shortLived.fetch(path: secret.name)
        #expect(runs() == 3)
    }

    @Test("role_arn whose source_profile is a credential_process: the process's keys assume the role")
    func processThenRole() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("process-role", string: "process-then-role")
        let chain = try await roleChain(moto, "procrole")
        let home = try Home()
        defer { home.directory.remove() }
        let script = try processScript(home, keys: chain.user, expiresIn: 3600, counter: home.path + "/runs")
        try home.write(
            config: """
                [profile reader]
                role_arn = \(chain.reader)
                source_profile = proc
                [profile proc]
                credential_process = \(script)
                """)
        let provider = try moto.provider(["profile": "reader"], environment: home.environment, admin: false)
        #expect(try await provider.fetch(path: secret.name) == .text("process-then-role"))
    }

    @Test(
        "credential_process failures say what failed and never show its stderr",
        arguments: [
            ("echo 'CANARY-STDERR secret' >&2; exit 3", SecretError.Code.denied, "exited with code 3 (its stderr, 21 bytes, is not shown"),
            ("echo 'not json'", .malformed, "printed something that is not the credentials JSON"),
            (#"echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "CANARY"}'"#, .malformed, "printed Version 2"),
            (#"echo '{"Version": 1, "AccessKeyId": "A"}'"#, .malformed, "printed no AccessKeyId and SecretAccessKey"),
            (#"echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "CANARY", "Expiration": "2001-01-01T00:00:00Z"}'"#,
             .denied, "printed credentials that expired at 2001-01-01T00:00:00Z"),
            ("head -c 100000 /dev/zero | tr '\\0' x", .malformed, "printed more than 64 KiB"),
            ("kill -9 $$", .denied, "was killed by signal 9"),
        ] as [(String, SecretError.Code, String)])
    func processFailures(body: String, code: SecretError.Code, message: String) async throws {
        let moto = try moto
        let home = try Home()
        defer { home.directory.remove() }
        let script = try home.script("bad-process", body + "\n")
        try home.write(config: "[default]\ncredential_process = \(script)\n")
        let provider = try moto.provider(environment: home.environment, admin: false)
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.code == code)
        #expect(error.detail.contains("credential_process \(script) of profile [default]"), "\(error.detail)")
        #expect(error.detail.contains(message), "\(error.detail)")
        #expect(!error.message.contains("CANARY"))
    }

    @Test("credential_process naming no program on PATH says so")
    func processMissing() async throws {
        let moto = try moto
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(config: "[default]\ncredential_process = no-such-credential-helper --x\n")
        let provider = try moto.provider(environment: home.environment, admin: false)
        let error = await AWSTest.failure { try await provider.fetch(path: "x") }
        #expect(error?.detail.contains("no executable no-such-credential-helper on PATH") == true)
    }

    // MARK: IAM Identity Center

    /// Temporary credentials of a role that reads secrets (what the portal hands out).
    func roleCredentials(_ moto: AWSMoto, _ tag: String) async throws -> AWSCredentials {
        let role = try await moto.createRole(tag, trust: Self.trustAnyone, policy: Self.readSecrets)
        let sts = AWSSTS(client: moto.client, endpoint: moto.url)
        return try await sts.assumeRole(
            roleARN: role, sessionName: "sso", externalID: nil, durationSeconds: 3600, credentials: moto.admin)
    }

    @Test("SSO: sso-session and legacy profiles exchange the cached token at the portal for keys that read the secret")
    func ssoProfiles() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("sso", string: "via-identity-center")
        let keys = try await roleCredentials(moto, "sso-reader")
        let portal = FakeSSOPortal()
        await portal.grant(
            token: "session-token-1",
            .init(accountID: "123456789012", roleName: "Reader", accessKeyID: keys.accessKeyID,
                secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken))
        await portal.grant(
            token: "legacy-token-1",
            .init(accountID: "123456789012", roleName: "Reader", accessKeyID: keys.accessKeyID,
                secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken))
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(
            config: """
                [profile corp]
                sso_session = corp
                sso_account_id = 123456789012
                sso_role_name = Reader
                [sso-session corp]
                sso_start_url = https://corp.awsapps.com/start
                sso_region = eu-west-1
                sso_registration_scopes = sso:account:access
                [profile legacy]
                sso_start_url = https://legacy.awsapps.com/start
                sso_region = eu-west-1
                sso_account_id = 123456789012
                sso_role_name = Reader
                [profile other-role]
                sso_session = corp
                sso_account_id = 123456789012
                sso_role_name = Admin
                [profile incomplete]
                sso_account_id = 123456789012
                sso_role_name = Reader
                """)
        let hour = Date().addingTimeInterval(3600)
        try FakeSSOPortal.writeCachedToken(
            home: home.path, cacheKey: "corp", token: "session-token-1", startURL: "https://corp.awsapps.com/start",
            region: "eu-west-1", expiresAt: hour)
        try FakeSSOPortal.writeCachedToken(
            home: home.path, cacheKey: "https://legacy.awsapps.com/start", token: "legacy-token-1",
            startURL: "https://legacy.awsapps.com/start", region: "eu-west-1", expiresAt: hour)
        try await portal.run { url in
            let corp = try moto.provider(["profile": "corp", "sso_endpoint": url], environment: home.environment, admin: false)
            #expect(try await corp.fetch(path: secret.name) == .text("via-identity-center"))
            // AWS_ENDPOINT_URL_SSO names the portal too; the legacy profile's cache key is its start URL.
            let legacy = try moto.provider(
                ["profile": "legacy"], environment: home.environment.merging(["AWS_ENDPOINT_URL_SSO": url]) { $1 },
                admin: false)
            #expect(try await legacy.fetch(path: secret.name) == .text("via-identity-center"))
            #expect(await portal.requests == 2)

            let forbidden = try moto.provider(
                ["profile": "other-role", "sso_endpoint": url], environment: home.environment, admin: false)
            let denied = try #require(await AWSTest.failure { try await forbidden.fetch(path: secret.name) })
            #expect(denied.code == .denied)
            #expect(denied.detail.contains("ForbiddenException"), "\(denied.detail)")
            #expect(!denied.message.contains("session-token-1"))

            let incomplete = try moto.provider(
                ["profile": "incomplete", "sso_endpoint": url], environment: home.environment, admin: false)
            let missing = await AWSTest.failure { try await incomplete.fetch(path: secret.name) }
            #expect(missing?.code == .invalidConfiguration)
            #expect(missing?.detail.contains("lacks sso_start_url, sso_region") == true)
        }
    }

    @Test("SSO: a missing, expired or refused token says to run aws sso login, and never shows the token")
    func ssoTokenProblems() async throws {
        let moto = try moto
        let portal = FakeSSOPortal()
        let home = try Home()
        defer { home.directory.remove() }
        try home.write(
            config: """
                [default]
                sso_session = corp
                sso_account_id = 123456789012
                sso_role_name = Reader
                [sso-session corp]
                sso_start_url = https://corp.awsapps.com/start
                sso_region = us-east-1
                """)
        try await portal.run { url in
            let provider = { () throws(SecretError) -> ManagedProvider in
                try moto.provider(["sso_endpoint": url], environment: home.environment, admin: false)
            }
            let noToken = try #require(await AWSTest.failure { try await provider().fetch(path: "x") })
            #expect(noToken.code == .denied)
            #expect(noToken.detail.contains("no cached IAM Identity Center token for sso-session corp"))
            #expect(noToken.detail.contains("run `aws sso login --profile default`"))

            try FakeSSOPortal.writeCachedToken(
                home: home.path, cacheKey: "corp", token: "CANARY-expired-token", startURL: "https://corp.awsapps.com/start",
                region: "us-east-1", expiresAt: Date().addingTimeInterval(-60))
            let expired = try #require(await AWSTest.failure { try await provider().fetch(path: "x") })
            #expect(expired.detail.contains("expired at"))
            #expect(expired.detail.contains("aws sso login"))
            #expect(await portal.requests == 0)

            try FakeSSOPortal.writeCachedToken(
                home: home.path, cacheKey: "corp", token: "CANARY-revoked-token", startURL: "https://corp.awsapps.com/start",
                region: "us-east-1", expiresAt: Date().addingTimeInterval(3600))
            let refused = try #require(await AWSTest.failure { try await provider().fetch(path: "x") })
            #expect(refused.code == .denied)
            #expect(refused.detail.contains("refused the cached token"))
            #expect(refused.detail.contains("aws sso login"))
            #expect(await portal.unauthorized == 1)
            for error in [noToken, expired, refused] { #expect(!error.message.contains("CANARY")) }
        }
    }

    // MARK: IMDS

    @Test("without a region anywhere the region comes from IMDS (IMDSv2), asked once")
    func regionFromIMDS() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("imds-region", string: "region-from-imds")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials(), region: AWSMoto.region)
        try await fake.run { base in
            let home = try Home()
            defer { home.directory.remove() }
            let provider = try AWSTest.provider(
                [
                    "name": "aws", "type": "aws-secrets-manager", "endpoint": moto.url, "imds_endpoint": base,
                    "cache_ttl": "0", "max_retries": "0", "timeout": "5s",
                ], environment: ["HOME": home.path, "AWS_CONFIG_FILE": home.config])
            #expect(try await provider.fetch(path: secret.name) == .text("region-from-imds"))
            #expect(try await provider.fetch(path: secret.name) == .text("region-from-imds"))
            #expect(await fake.regionRequests == 1)
            #expect(await fake.v1Reads == 0)
        }
    }

    @Test("IMDSv1: off by default, so a refused token request is a clear error; imds_v1_fallback allows it")
    func imdsV1Fallback() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("imds-v1", string: "read-over-v1")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials())
        await fake.setIMDSv1(tokenStatus: 403)
        try await fake.run { base in
            let home = try Home()
            defer { home.directory.remove() }
            let environment = ["HOME": home.path, "AWS_CONFIG_FILE": home.config]
            let strict = try moto.provider(["imds_endpoint": base], environment: environment, admin: false)
            let error = try #require(await AWSTest.failure { try await strict.fetch(path: secret.name) })
            #expect(error.code == .denied)
            #expect(error.detail.contains("IMDS: 127.0.0.1"), "\(error.detail)")
            #expect(error.detail.contains("answered HTTP 403 to the IMDSv2 token request, and IMDSv1 fallback is off"))
            #expect(await fake.v1Reads == 0)

            let lenient = try moto.provider(
                ["imds_endpoint": base, "imds_v1_fallback": "true"], environment: environment, admin: false)
            #expect(try await lenient.fetch(path: secret.name) == .text("read-over-v1"))
            #expect(await fake.v1Reads == 2)

            let byVariable = try moto.provider(
                ["imds_endpoint": base], environment: environment.merging(["AWS_EC2_METADATA_V1_DISABLED": "false"]) { $1 },
                admin: false)
            #expect(try await byVariable.fetch(path: secret.name) == .text("read-over-v1"))
        }
    }
}
