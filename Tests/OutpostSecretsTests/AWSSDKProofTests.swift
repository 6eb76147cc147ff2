import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// The AWS fakes (IMDS, container endpoint, `FakeSSOPortal`) driven by boto3,
/// AWS's own SDK: the credentials boto3 gets from each fake must read a secret
/// from moto with signature checking. A fake that boto3 cannot use is wrong.
@Suite("AWS fakes proven with boto3", .motoAvailable, .moto, .enabled(if: OfficialSDK.available("boto3")))
struct AWSSDKProofTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    /// An environment in which boto3 finds no files but the test's (the test process
    /// has no AWS_* variables of its own; the method check below would say so).
    static func isolated(_ home: String, _ extra: [String: String]) -> [String: String] {
        [
            "HOME": home, "AWS_CONFIG_FILE": home + "/config", "AWS_SHARED_CREDENTIALS_FILE": home + "/credentials",
            "AWS_EC2_METADATA_DISABLED": "false",
        ].merging(extra) { $1 }
    }

    static func lines(_ outcome: OfficialSDK.Outcome) -> [String] {
        outcome.stdout.split(separator: "\n").map(String.init)
    }

    @Test("boto3 gets IMDSv2 credentials and the region from the fake IMDS")
    func imds() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("boto-imds", string: "boto3-via-imds")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials(), region: "us-east-1")
        try await fake.run { base in
            let home = try TemporaryDirectory(prefix: "outpost-boto-imds")
            defer { home.remove() }
            let outcome = try await OfficialSDK.run(
                "aws_proof.py", arguments: ["imds", "--moto", moto.url, "--secret", secret.name, "--region-from-imds"],
                environment: Self.isolated(home.path, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": base + "/"]))
            #expect(outcome.succeeded, "\(outcome)")
            #expect(Self.lines(outcome) == ["iam-role", "us-east-1", "boto3-via-imds"], "\(outcome)")
            // boto3 used IMDSv2 sessions only.
            #expect(await fake.tokenRequests >= 1)
            #expect(await fake.rejectedWithoutToken == 0)
        }
    }

    @Test("boto3 gets credentials from the fake container endpoint with its authorization token")
    func container() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("boto-container", string: "boto3-via-container")
        let fake = AWSFakeCredentialServer(credentials: try await moto.sessionCredentials(), containerToken: "boto-container-token")
        try await fake.run { base in
            let home = try TemporaryDirectory(prefix: "outpost-boto-container")
            defer { home.remove() }
            let outcome = try await OfficialSDK.run(
                "aws_proof.py", arguments: ["container", "--moto", moto.url, "--secret", secret.name],
                environment: Self.isolated(
                    home.path,
                    [
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/container/credentials",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "boto-container-token", "AWS_EC2_METADATA_DISABLED": "true",
                    ]))
            #expect(outcome.succeeded, "\(outcome)")
            #expect(Self.lines(outcome).last == "boto3-via-container", "\(outcome)")
            #expect(await fake.containerRequests == 1)
        }
    }

    @Test("boto3 reads an sso-session profile's cached token and gets role credentials from FakeSSOPortal")
    func sso() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("boto-sso", string: "boto3-via-sso")
        let role = try await moto.createRole(
            "boto-sso", trust: AWSProfileCredentialsTests.trustAnyone, policy: AWSProfileCredentialsTests.readSecrets)
        let keys = try await AWSSTS(client: moto.client, endpoint: moto.url).assumeRole(
            roleARN: role, sessionName: "boto", externalID: nil, durationSeconds: 3600, credentials: moto.admin)
        let portal = FakeSSOPortal()
        await portal.grant(
            token: "boto-sso-token",
            .init(accountID: "123456789012", roleName: "Reader", accessKeyID: keys.accessKeyID,
                secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken))
        let home = try TemporaryDirectory(prefix: "outpost-boto-sso")
        defer { home.remove() }
        try """
            [profile corp]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = Reader
            region = us-east-1
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            """.write(toFile: home.path + "/config", atomically: true, encoding: .utf8)
        try FakeSSOPortal.writeCachedToken(
            home: home.path, cacheKey: "corp", token: "boto-sso-token", startURL: "https://corp.awsapps.com/start",
            region: "us-east-1", expiresAt: Date().addingTimeInterval(3600))
        try await portal.run { url in
            let outcome = try await OfficialSDK.run(
                "aws_proof.py", arguments: ["sso", "--moto", moto.url, "--secret", secret.name, "--profile", "corp"],
                environment: Self.isolated(home.path, ["AWS_ENDPOINT_URL_SSO": url, "AWS_EC2_METADATA_DISABLED": "true"]))
            #expect(outcome.succeeded, "\(outcome)")
            #expect(Self.lines(outcome) == ["sso", "us-east-1", "boto3-via-sso"], "\(outcome)")
            #expect(await portal.requests == 1)
        }
    }
}
