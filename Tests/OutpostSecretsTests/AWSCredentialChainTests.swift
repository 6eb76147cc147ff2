import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// Where the provider's credentials come from, each source checked end to end:
/// the keys it finds must pass moto's signature check for a real fetch.
@Suite("AWS credential chain against moto", .motoAvailable, .moto)
struct AWSCredentialChainTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    /// An empty HOME, for environments that must not find `~/.aws/credentials`.
    static func withHome<T>(_ body: (String) async throws -> T) async throws -> T {
        let home = try TemporaryDirectory(prefix: "outpost-aws-home")
        defer { home.remove() }
        return try await body(home.path)
    }

    @Test("the agent's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY sign the calls")
    func environmentKeys() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("env-keys", string: "from-env")
        try await Self.withHome { home in
            let environment = AWSTest.isolatedEnvironment(
                ["AWS_ACCESS_KEY_ID": moto.admin.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.admin.secretAccessKey],
                home: home)
            let provider = try moto.provider(environment: environment, admin: false)
            #expect(try await provider.fetch(path: secret.name) == .text("from-env"))
        }
    }

    @Test("keys in the options win over the environment")
    func optionKeysFirst() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("option-keys", string: "v")
        try await Self.withHome { home in
            let environment = AWSTest.isolatedEnvironment(
                ["AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG0", "AWS_SECRET_ACCESS_KEY": "wrong"], home: home)
            let provider = try moto.provider(environment: environment)
            #expect(try await provider.fetch(path: secret.name) == .text("v"))
        }
    }

    @Test("a profile of the shared credentials file is used, from the option or AWS_PROFILE")
    func sharedFileProfile() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("shared-file", string: "from-file")
        try await Self.withHome { home in
            let file = home + "/credentials"
            try """
            # the default profile holds keys moto never issued
            [default]
            aws_access_key_id = AKIAWRONGWRONGWRONG0
            aws_secret_access_key = wrong

            [outpost]
            aws_access_key_id = \(moto.admin.accessKeyID)
            aws_secret_access_key=\(moto.admin.secretAccessKey)
            """.write(toFile: file, atomically: true, encoding: .utf8)
            let environment = AWSTest.isolatedEnvironment(home: home)
            let byOption = try moto.provider(
                ["profile": "outpost", "shared_credentials_file": file], environment: environment, admin: false)
            #expect(try await byOption.fetch(path: secret.name) == .text("from-file"))

            let byEnvironment = try moto.provider(
                environment: environment.merging(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "outpost"]) { $1 },
                admin: false)
            #expect(try await byEnvironment.fetch(path: secret.name) == .text("from-file"))

            let defaultProfile = try moto.provider(
                environment: environment.merging(["AWS_SHARED_CREDENTIALS_FILE": file]) { $1 }, admin: false)
            let error = await AWSTest.failure { try await defaultProfile.fetch(path: secret.name) }
            #expect(error?.code == .denied)

            let missingProfile = try moto.provider(
                ["profile": "nope", "shared_credentials_file": file], environment: environment, admin: false)
            let missing = await AWSTest.failure { try await missingProfile.fetch(path: secret.name) }
            #expect(missing?.code == .denied)
            #expect(missing?.detail.contains("no profile [nope]") == true)
        }
    }

    @Test("~/.aws/credentials is read from the agent's HOME")
    func defaultSharedFile() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("home-file", string: "home")
        try await Self.withHome { home in
            try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
            try "[default]\naws_access_key_id=\(moto.admin.accessKeyID)\naws_secret_access_key=\(moto.admin.secretAccessKey)\n"
                .write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
            let provider = try moto.provider(environment: AWSTest.isolatedEnvironment(home: home), admin: false)
            #expect(try await provider.fetch(path: secret.name) == .text("home"))
        }
    }

    @Test("the container credentials endpoint is asked with its token, and its keys are cached until near expiry")
    func containerEndpoint() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("container", string: "from-container")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials(), containerToken: "container-token-123")
        try await fake.run { base in
            try await Self.withHome { home in
                let environment = AWSTest.isolatedEnvironment(
                    [
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/container/credentials",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token-123",
                    ], home: home)
                let provider = try moto.provider(environment: environment, admin: false)
                #expect(try await provider.fetch(path: secret.name) == .text("from-container"))
                #expect(try await provider.fetch(path: secret.name) == .text("from-container"))
                #expect(await fake.containerRequests == 1)

                // Credentials within the refresh margin of their expiry are fetched again.
                await fake.setLifetime(60)
                let shortLived = try moto.provider(environment: environment, admin: false)
                _ = try await shortLived.fetch(path: secret.name)
                _ = try await shortLived.fetch(path: secret.name)
                #expect(await fake.containerRequests == 3)

                var wrongToken = environment
                wrongToken["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not-the-token"
                let refused = try moto.provider(environment: wrongToken, admin: false)
                let error = try #require(await AWSTest.failure { try await refused.fetch(path: secret.name) })
                #expect(error.code == .denied)
                #expect(error.detail.contains("container"))
                #expect(error.detail.contains("401"))
                #expect(!error.message.contains("not-the-token"))
            }
        }
    }

    @Test("a container URI over plain http to a foreign host is refused")
    func containerURIMustBeLocal() async throws {
        let moto = try moto
        try await Self.withHome { home in
            let environment = AWSTest.isolatedEnvironment(
                ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"], home: home)
            let provider = try moto.provider(environment: environment, admin: false)
            let error = await AWSTest.failure { try await provider.fetch(path: "x") }
            #expect(error?.code == .denied)
            #expect(error?.detail.contains("plain http only to loopback") == true)
        }
    }

    @Test("EC2 instance metadata is read with an IMDSv2 session token")
    func instanceMetadata() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("imds", string: "from-imds")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials())
        try await fake.run { base in
            try await Self.withHome { home in
                let provider = try moto.provider(
                    ["imds_endpoint": base], environment: ["HOME": home], admin: false)
                #expect(try await provider.fetch(path: secret.name) == .text("from-imds"))
                #expect(await fake.tokenRequests == 1)
                #expect(await fake.credentialRequests == 1)
                #expect(await fake.rejectedWithoutToken == 0)

                // The fake, like IMDS with v1 off, refuses metadata reads without the session token.
                let direct = try await AWSClient(
                    http: SecretHTTP(client: AWSTest.http, timeout: .seconds(5)), region: "us-east-1"
                ).send(
                    SigV4Request(method: "GET", url: base + "/latest/meta-data/iam/security-credentials/"),
                    service: "ec2", credentials: nil)
                #expect(direct.status == 401)
                #expect(await fake.rejectedWithoutToken == 1)

                // AWS_EC2_METADATA_SERVICE_ENDPOINT names the endpoint too.
                let byEnvironment = try moto.provider(
                    environment: ["HOME": home, "AWS_EC2_METADATA_SERVICE_ENDPOINT": base + "/"], admin: false)
                #expect(try await byEnvironment.fetch(path: secret.name) == .text("from-imds"))
            }
        }
    }

    @Test("with no credentials anywhere the error lists every source tried, fast")
    func noCredentials() async throws {
        let moto = try moto
        try await Self.withHome { home in
            // IMDS on a closed port: refused at once, as off EC2.
            let provider = try moto.provider(
                ["imds_endpoint": "http://127.0.0.1:1"], environment: ["HOME": home], admin: false)
            let clock = ContinuousClock()
            let started = clock.now
            let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
            #expect(clock.now - started < .seconds(8))
            #expect(error.code == .denied)
            #expect(error.detail.hasPrefix("no AWS credentials: tried static keys (not set), profile role ("))
            let noFiles = "no file \(home)/.aws/credentials, no file \(home)/.aws/config"
            for part in [
                "profile role (\(noFiles)), web identity (",
                "profile web identity, SSO, shared file, credential process, config file (\(noFiles))", "container (",
                "IMDS (no answer from 127.0.0.1:1",
            ] {
                #expect(error.detail.contains(part), "\(error.detail)")
            }
        }
    }

    @Test("an explicit credential_source uses that source only")
    func explicitSource() async throws {
        let moto = try moto
        try await Self.withHome { home in
            // Keys in the environment are ignored when the source is the shared file.
            let environment = AWSTest.isolatedEnvironment(
                ["AWS_ACCESS_KEY_ID": moto.admin.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.admin.secretAccessKey],
                home: home)
            let provider = try moto.provider(["credential_source": "shared_file"], environment: environment, admin: false)
            let error = await AWSTest.failure { try await provider.fetch(path: "x") }
            #expect(
                error?.detail
                    == "no AWS credentials: tried profile role, profile web identity, SSO, shared file, credential process, "
                    + "config file (no file \(home)/.aws/credentials, no file \(home)/.aws/config)")
        }
    }

    @Test("assume_role_arn: STS AssumeRole signed with the base keys, with the external id checked")
    func assumeRole() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("cross-account", string: "via-role")
        let base = try await moto.createUser(
            "base",
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        let trust = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\(moto.userARN("base"))"},\
            "Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-42"}}}]}
            """
        let roleARN = try await moto.createRole(
            "reader", trust: trust,
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#)
        let baseKeys = ["access_key_id": base.accessKeyID, "secret_access_key": base.secretAccessKey]

        // The base user alone may not read the secret.
        let direct = try moto.provider(baseKeys)
        #expect(await AWSTest.failure { try await direct.fetch(path: secret.name) }?.code == .denied)

        let viaRole = try moto.provider(
            baseKeys.merging(["assume_role_arn": roleARN, "external_id": "ext-42", "role_session_name": "outpost-test"]) {
                $1
            })
        #expect(try await viaRole.fetch(path: secret.name) == .text("via-role"))

        let wrongExternalID = try moto.provider(
            baseKeys.merging(["assume_role_arn": roleARN, "external_id": "ext-0"]) { $1 })
        let error = try #require(await AWSTest.failure { try await wrongExternalID.fetch(path: secret.name) })
        #expect(error.code == .denied)
        #expect(error.detail.contains("AssumeRole"))
        #expect(!error.message.contains(base.secretAccessKey))
    }
}
