import AsyncHTTPClient
import Foundation
import NIOHTTP1
import OutpostClient
import OutpostCore
import OutpostSecrets
import OutpostTestSupport
import Testing

/// AWS credentials from `~/.aws` profiles, through real `outpost` agents: one
/// agent per kind of profile (a role chain with `source_profile`, a
/// `credential_process` script, an IAM Identity Center session), each with
/// `HOME`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` and `AWS_PROFILE`
/// pointing at the test's files and no region in its config (the profile names
/// it). Each agent's task reads a canary from moto, with signature checking on,
/// and the log shows it as `[SECURE]`.
@Suite("AWS profile credentials (processes)", .serialized)
struct AWSAuthProcessTests {
    static let account = "123456789012"
    static let readSecrets =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#
    static let assumeAnything =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#
    /// moto checks a trust policy's principal by exact ARN (an assumed role's includes
    /// its session name) or `*`; the identity policies still decide who may do what.
    static let trustAnyone =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#

    @Test("role_arn + source_profile, credential_process and SSO profiles each read a moto secret that shows as [SECURE]")
    func profilesReadSecrets() async throws {
        let moto = try await MotoServer.startPrivate()
        do {
            try await Self.scenario(moto)
        } catch {
            await moto.stop()
            throw error
        }
        await moto.stop()
    }

    private static func scenario(_ server: MotoServer) async throws {
        let moto = try await SignedMoto(url: server.url)
        let canary = "aws-e2e-canary-\(UInt64.random(in: 0...UInt64.max))"
        let secretName = "e2e/profiles"
        try await moto.createSecret(secretName, string: #"{"AWS_CANARY": "\#(canary)"}"#)

        // A user that may only assume roles -> a role that may only assume roles -> a role that reads.
        let base = try await moto.createUser("base", policy: assumeAnything)
        let hop = try await moto.createRole("hop", policy: assumeAnything)
        let reader = try await moto.createRole("reader", policy: readSecrets)
        // The credential process hands out the keys of a user that reads.
        let processUser = try await moto.createUser("process-reader", policy: readSecrets)
        // The SSO portal hands out the reader role's temporary keys.
        let ssoKeys = try await moto.assumeRole(reader)

        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let home = cluster.directory.file("aws-home")
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        let script = home + "/credential-helper"
        try """
            #!/bin/sh
            echo "helper diagnostics that must not reach a log" >&2
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\\n' '\(processUser.accessKeyID)' '\(processUser.secretAccessKey)'
            """.write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let configFile = home + "/aws-config"
        let credentialsFile = home + "/aws-credentials"
        try """
            [profile chain]
            region = us-east-1
            role_arn = \(reader)
            source_profile = hop
            role_session_name = outpost-e2e
            [profile hop]
            role_arn = \(hop)
            source_profile = base
            [profile process]
            region = us-east-1
            credential_process = \(script) --audience outpost
            [profile sso]
            region = us-east-1
            sso_session = corp
            sso_account_id = \(account)
            sso_role_name = Reader
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            """.write(toFile: configFile, atomically: true, encoding: .utf8)
        try "[base]\naws_access_key_id = \(base.accessKeyID)\naws_secret_access_key = \(base.secretAccessKey)\n"
            .write(toFile: credentialsFile, atomically: true, encoding: .utf8)
        try FakeSSOPortal.writeCachedToken(
            home: home, cacheKey: "corp", token: "e2e-sso-access-token", startURL: "https://corp.awsapps.com/start",
            region: "us-east-1", expiresAt: Date().addingTimeInterval(3600))

        let portal = FakeSSOPortal()
        await portal.grant(
            token: "e2e-sso-access-token",
            .init(accountID: account, roleName: "Reader", accessKeyID: ssoKeys.accessKeyID,
                secretAccessKey: ssoKeys.secretAccessKey, sessionToken: ssoKeys.sessionToken))
        try await portal.run { portalURL in
            // No region and no keys in the agent's config: the profile says both.
            let agentConfig = cluster.directory.file("aws-agent.yaml")
            try """
                secrets:
                  providers:
                    - {name: aws, type: aws-secrets-manager, endpoint: \(server.url), sts_endpoint: \(server.url), sso_endpoint: \(portalURL), max_retries: 0}
                """.write(toFile: agentConfig, atomically: true, encoding: .utf8)
            for profile in ["chain", "process", "sso"] {
                let agent = try await cluster.startAgent(
                    name: "aws-\(profile)-agent", tags: "aws-\(profile)",
                    arguments: ["--kill-grace", "2s", "--config-file", agentConfig],
                    environment: ChildProcess.baseEnvironment([
                        "HOME": home, "AWS_CONFIG_FILE": configFile, "AWS_SHARED_CREDENTIALS_FILE": credentialsFile,
                        "AWS_PROFILE": profile, "AWS_EC2_METADATA_DISABLED": "true",
                    ]))
                _ = try await cluster.client.createTarget(
                    Target(
                        name: "aws-\(profile)", integration: "bash", tags: TagSet(["aws-\(profile)"]),
                        secrets: [SecretReference(provider: "aws", path: secretName)]))
                let task = try await cluster.client.createTask(
                    CreateTaskRequest(target: "aws-\(profile)", script: #"printf 'aws %s\n' "$AWS_CANARY""#))
                let done = try await cluster.waitForTask(task.id)
                #expect(done.status == .succeeded, "\(profile): task ended \(done.status): \(done.error ?? "")")
                let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
                #expect(log.contains("aws [SECURE]"), "\(profile): \(log.count) bytes of log")
                for (name, text) in [("log", log), ("agent stdout", agent.process.stdout), ("agent stderr", agent.process.stderr)] {
                    #expect(!text.contains(canary), "\(profile): the canary appears in the \(name)")
                    #expect(!text.contains("helper diagnostics"), "\(profile): the helper's stderr appears in the \(name)")
                }
            }
            #expect(await portal.requests == 1)
        }
    }
}

/// A moto server with signature checking on: an administrator created within
/// three unchecked actions, then every call signed with IAM-issued keys.
private struct SignedMoto {
    let url: String
    let client: AWSClient
    let admin: AWSCredentials

    init(url: String) async throws {
        self.url = url
        client = AWSClient(http: SecretHTTP(client: HTTPClient.shared, timeout: .seconds(30)), region: "us-east-1")
        let reset = try await client.http.send(.POST, url + "/moto-api/reset-auth", body: Array("3".utf8))
        guard reset.status == 200 else { throw HarnessError("moto reset-auth answered \(reset.status)") }
        let bootstrap = AWSCredentials(accessKeyID: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap")
        _ = try await Self.iam(client, url, "CreateUser", ["UserName": "e2e-admin"], bootstrap)
        _ = try await Self.iam(
            client, url, "PutUserPolicy",
            [
                "UserName": "e2e-admin", "PolicyName": "all",
                "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ], bootstrap)
        admin = try Self.keys(try await Self.iam(client, url, "CreateAccessKey", ["UserName": "e2e-admin"], bootstrap))
    }

    private static func iam(
        _ client: AWSClient, _ url: String, _ action: String, _ parameters: [String: String], _ credentials: AWSCredentials
    ) async throws -> String {
        try await client.query(
            service: "iam", endpoint: url, action: action, version: "2010-05-08",
            parameters: parameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
            credentials: credentials, what: "IAM \(action)")
    }

    private static func keys(_ xml: String) throws -> AWSCredentials {
        guard let id = AWSXML.firstValue(of: "AccessKeyId", in: xml),
            let secret = AWSXML.firstValue(of: "SecretAccessKey", in: xml)
        else { throw HarnessError("moto answered no access key") }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
    }

    func createUser(_ name: String, policy: String) async throws -> AWSCredentials {
        _ = try await Self.iam(client, url, "CreateUser", ["UserName": name], admin)
        _ = try await Self.iam(
            client, url, "PutUserPolicy", ["UserName": name, "PolicyName": "p", "PolicyDocument": policy], admin)
        return try Self.keys(try await Self.iam(client, url, "CreateAccessKey", ["UserName": name], admin))
    }

    /// A role any principal of the account may assume; its ARN.
    func createRole(_ name: String, policy: String) async throws -> String {
        let xml = try await Self.iam(
            client, url, "CreateRole", ["RoleName": name, "AssumeRolePolicyDocument": AWSAuthProcessTests.trustAnyone],
            admin)
        _ = try await Self.iam(
            client, url, "PutRolePolicy", ["RoleName": name, "PolicyName": "p", "PolicyDocument": policy], admin)
        guard let arn = AWSXML.firstValue(of: "Arn", in: xml) else { throw HarnessError("moto answered no role ARN") }
        return arn
    }

    func assumeRole(_ arn: String) async throws -> AWSCredentials {
        let xml = try await client.query(
            service: "sts", endpoint: url, action: "AssumeRole", version: "2011-06-15",
            parameters: [(name: "RoleArn", value: arn), (name: "RoleSessionName", value: "e2e-sso")], credentials: admin,
            what: "STS AssumeRole")
        guard let id = AWSXML.firstValue(of: "AccessKeyId", in: xml),
            let secret = AWSXML.firstValue(of: "SecretAccessKey", in: xml),
            let token = AWSXML.firstValue(of: "SessionToken", in: xml)
        else { throw HarnessError("moto answered no role credentials") }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    func createSecret(_ name: String, string: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["Name": name, "SecretString": string])
        _ = try await client.json(
            service: "secretsmanager", endpoint: url, target: "secretsmanager.CreateSecret", body: Array(body),
            credentials: admin, what: "Secrets Manager CreateSecret")
    }
}
