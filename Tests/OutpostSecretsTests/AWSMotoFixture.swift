import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// A moto server for one test suite, with an IAM administrator created through
/// moto's unchecked-action budget, and helpers that seed IAM users, roles and
/// secrets through the real AWS APIs, signed with our own `SigV4Signer`.
///
/// After the bootstrap every request must carry a valid SigV4 signature of an
/// IAM-created key: a wrong secret key gets moto's 403 `SignatureDoesNotMatch`.
final class AWSMoto: Sendable {
    static let region = "us-east-1"
    static let account = "123456789012"
    static let allowAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#

    /// The moto server of the suite running now (set by the `.moto` trait).
    @TaskLocal static var current: AWSMoto?

    let server: MotoServer
    /// Keys of an IAM user allowed everything.
    let admin: AWSCredentials
    let client: AWSClient
    /// Unique per fixture, so that suites sharing one server do not collide.
    let prefix: String

    var url: String { server.url }

    private init(server: MotoServer, admin: AWSCredentials, client: AWSClient, prefix: String) {
        self.server = server
        self.admin = admin
        self.client = client
        self.prefix = prefix
    }

    /// Starts (or, with `OUTPOST_MOTO_URL`, finds) a server and creates the administrator.
    /// - Parameter privateServer: a server of its own even when a shared one is named
    ///   (for tests that spend moto's unchecked-action budget themselves).
    static func start(privateServer: Bool = false) async throws -> AWSMoto {
        let server = privateServer ? try await MotoServer.startPrivate() : try await MotoServer.start()
        let client = AWSClient(http: SecretHTTP(client: AWSTest.http, timeout: .seconds(30)), region: region)
        let prefix = "t\(UInt32.random(in: 0...UInt32.max))"
        do {
            let admin = try await Administrators.shared.admin(of: server.url) {
                try await bootstrap(url: server.url, client: client, user: "\(prefix)-admin")
            }
            return AWSMoto(server: server, admin: admin, client: client, prefix: prefix)
        } catch {
            await server.stop()
            throw error
        }
    }

    /// One administrator per server and process: suites sharing a server
    /// (`OUTPOST_MOTO_URL`) must not race for its unchecked-action budget.
    private actor Administrators {
        static let shared = Administrators()
        private var byURL: [String: Task<AWSCredentials, any Error>] = [:]

        func admin(of url: String, _ create: @escaping @Sendable () async throws -> AWSCredentials) async throws
            -> AWSCredentials
        {
            if let existing = byURL[url] { return try await existing.value }
            let task = Task { try await create() }
            byURL[url] = task
            return try await task.value
        }
    }

    /// Creates an IAM user allowed everything, within three unchecked actions.
    private static func bootstrap(url: String, client: AWSClient, user: String) async throws -> AWSCredentials {
        try await allowUncheckedActions(3, url: url, client: client)
        // Within the budget moto checks nothing; signing with made-up keys still
        // tells it which service (iam) and region the call is for.
        let bootstrap = AWSCredentials(accessKeyID: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap")
        try await iam(client, url, "CreateUser", ["UserName": user], bootstrap)
        try await iam(
            client, url, "PutUserPolicy", ["UserName": user, "PolicyName": "all", "PolicyDocument": allowAll],
            bootstrap)
        return try accessKey(in: try await iam(client, url, "CreateAccessKey", ["UserName": user], bootstrap))
    }

    func stop() async { await server.stop() }

    /// Lets the next `count` actions through without any signature check
    /// (moto's `/moto-api/reset-auth`); later ones are checked again.
    func allowUncheckedActions(_ count: Int) async throws {
        try await Self.allowUncheckedActions(count, url: url, client: client)
    }

    private static func allowUncheckedActions(_ count: Int, url: String, client: AWSClient) async throws {
        let response = try await client.http.send(.POST, url + "/moto-api/reset-auth", body: Array("\(count)".utf8))
        guard response.status == 200 else { throw HarnessError("moto reset-auth answered \(response.status)") }
    }

    // MARK: IAM

    /// A new IAM user with an inline policy; its access keys.
    func createUser(_ name: String, policy: String) async throws -> AWSCredentials {
        let user = "\(prefix)-\(name)"
        try await iam("CreateUser", ["UserName": user])
        try await iam("PutUserPolicy", ["UserName": user, "PolicyName": "p", "PolicyDocument": policy])
        return try Self.accessKey(in: try await iam("CreateAccessKey", ["UserName": user]))
    }

    /// A new IAM role with a trust policy and an inline policy; its ARN.
    func createRole(_ name: String, trust: String, policy: String) async throws -> String {
        let role = "\(prefix)-\(name)"
        let xml = try await iam("CreateRole", ["RoleName": role, "AssumeRolePolicyDocument": trust])
        try await iam("PutRolePolicy", ["RoleName": role, "PolicyName": "p", "PolicyDocument": policy])
        return try #require(AWSXML.firstValue(of: "Arn", in: xml))
    }

    /// Temporary credentials (`ASIA...` with a session token) of a role allowed
    /// everything: what IMDS, the container endpoint and the SSO portal hand out.
    /// (moto refuses a session token it did not issue.)
    /// - Parameter policy: what the role may do (default: everything).
    func sessionCredentials(policy: String = allowAll) async throws -> AWSCredentials {
        let role = try await createRole(
            "session-\(UInt32.random(in: 0...UInt32.max))",
            trust: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
            policy: policy)
        return try await AWSSTS(client: client, endpoint: url).assumeRole(
            roleARN: role, sessionName: "fake-endpoint", externalID: nil, durationSeconds: 3600, credentials: admin)
    }

    /// The ARN of this fixture's IAM user `name` (`admin` for the administrator).
    func userARN(_ name: String) -> String { "arn:aws:iam::\(Self.account):user/\(prefix)-\(name)" }

    @discardableResult
    func iam(_ action: String, _ parameters: [String: String]) async throws -> String {
        try await Self.iam(client, url, action, parameters, admin)
    }

    @discardableResult
    private static func iam(
        _ client: AWSClient, _ url: String, _ action: String, _ parameters: [String: String],
        _ credentials: AWSCredentials
    ) async throws -> String {
        try await settingUp {
            try await client.query(
                service: "iam", endpoint: url, action: action, version: "2010-05-08",
                parameters: parameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
                credentials: credentials, what: "IAM \(action)")
        }
    }

    private static func accessKey(in xml: String) throws -> AWSCredentials {
        AWSCredentials(
            accessKeyID: try #require(AWSXML.firstValue(of: "AccessKeyId", in: xml)),
            secretAccessKey: try #require(AWSXML.firstValue(of: "SecretAccessKey", in: xml)))
    }

    // MARK: Secrets Manager

    /// Creates secret `name` (prefixed with the fixture's prefix); its full name and first version id.
    @discardableResult
    func createSecret(_ name: String, string: String? = nil, binary: [UInt8]? = nil) async throws -> (
        name: String, versionID: String
    ) {
        let fullName = "\(prefix)/\(name)"
        var body: [String: Any] = ["Name": fullName, "ClientRequestToken": UUID().uuidString]
        if let string { body["SecretString"] = string }
        if let binary { body["SecretBinary"] = Data(binary).base64EncodedString() }
        let answer = try await secretsManager("CreateSecret", body)
        return (fullName, try #require(answer["VersionId"] as? String))
    }

    /// A new version of secret `fullName` with the given staging labels; its version id.
    @discardableResult
    func putSecretValue(_ fullName: String, string: String, stages: [String]? = nil) async throws -> String {
        var body: [String: Any] = ["SecretId": fullName, "SecretString": string, "ClientRequestToken": UUID().uuidString]
        if let stages { body["VersionStages"] = stages }
        return try #require(try await secretsManager("PutSecretValue", body)["VersionId"] as? String)
    }

    func secretsManager(_ action: String, _ body: [String: Any]) async throws -> [String: Any] {
        let payload = Array(try JSONSerialization.data(withJSONObject: body))
        let bytes = try await Self.settingUp { [client, url, admin] in
            try await client.json(
                service: "secretsmanager", endpoint: url, target: "secretsmanager.\(action)",
                body: payload, credentials: admin, what: "Secrets Manager \(action)")
        }
        return try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
    }

    /// A set-up call to moto, tried up to three times while it fails retryably: moto's
    /// threaded server answers an occasional 500 under the suite's parallel load, which
    /// is not what any test here is about. (Requests carrying a `ClientRequestToken`
    /// are idempotent; IAM set-up creates uniquely named things.)
    private static func settingUp<T>(_ call: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch let error as SecretError where error.isRetryable && attempt < 3 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    // MARK: Providers

    /// An `aws-secrets-manager` provider aimed at this server (Secrets Manager and STS),
    /// without cache or retries, so that each fetch reaches moto.
    func provider(
        _ options: [String: String] = [:], environment: [String: String] = [:], admin useAdmin: Bool = true
    ) throws(SecretError) -> ManagedProvider {
        var values: [String: String] = [
            "name": "aws", "type": "aws-secrets-manager", "region": Self.region, "endpoint": url, "sts_endpoint": url,
            "cache_ttl": "0", "max_retries": "0", "timeout": "5s",
        ]
        if useAdmin {
            values["access_key_id"] = admin.accessKeyID
            values["secret_access_key"] = admin.secretAccessKey
        }
        values.merge(options) { _, new in new }
        return try AWSTest.provider(values, environment: environment)
    }
}

/// Runs a suite with its own moto server (`AWSMoto.current`), stopped afterwards.
struct AWSMotoTrait: SuiteTrait, TestScoping {
    var privateServer = false
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let moto = try await AWSMoto.start(privateServer: privateServer)
        do {
            try await AWSMoto.$current.withValue(moto) { try await function() }
        } catch {
            await moto.stop()
            throw error
        }
        await moto.stop()
    }
}

extension Trait where Self == AWSMotoTrait {
    /// A moto server for the suite (the shared one when `OUTPOST_MOTO_URL` names one).
    static var moto: Self { AWSMotoTrait() }
    /// A moto server of the suite's own.
    static var privateMoto: Self { AWSMotoTrait(privateServer: true) }
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite, saying why, only when moto cannot run here; with
    /// `OUTPOST_REQUIRE_MOTO=1` (CI) the suite runs, and fails, instead.
    static var motoAvailable: Self {
        .enabled("moto_server is missing and scripts/services/moto could not install it") {
            if ProcessInfo.processInfo.environment["OUTPOST_REQUIRE_MOTO"] == "1" { return true }
            return await MotoServer.isAvailable()
        }
    }
}

/// Helpers shared by the AWS tests.
enum AWSTest {
    /// The agent's kind of client (`SecretHTTP.makeClient()`): unlike
    /// `HTTPClient.shared` a refused connection fails at once, not at the deadline.
    static let http: HTTPClient = SecretHTTP.makeClient()

    static func context(environment: [String: String] = [:]) -> ProviderContext {
        ProviderContext(
            http: http, logger: Logger(label: "aws-test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: environment)
    }

    static func options(_ values: [String: String]) -> ProviderOptions {
        ProviderOptions(
            values: values.mapValues { .string($0) }, context: "secrets.providers[\(values["name"] ?? "aws")]",
            environmentPrefix: "OUTPOST_AGENT_SECRETS_AWS_")
    }

    static func provider(_ values: [String: String], environment: [String: String] = [:]) throws(SecretError)
        -> ManagedProvider
    {
        try ProviderCatalog.make(options: options(values), context: context(environment: environment))
    }

    /// The error `body` throws, or `nil` when it succeeds.
    static func failure<T>(_ body: () async throws -> T) async -> SecretError? {
        do {
            _ = try await body()
            return nil
        } catch let error as SecretError {
            return error
        } catch {
            Issue.record("expected a SecretError, got \(error)")
            return nil
        }
    }

    /// An agent environment that offers no credentials by accident: HOME is an
    /// empty directory and EC2 metadata is switched off.
    static func isolatedEnvironment(_ extra: [String: String] = [:], home: String) -> [String: String] {
        ["HOME": home, "AWS_EC2_METADATA_DISABLED": "true"].merging(extra) { _, new in new }
    }

    /// A fresh canary value that must never show in an error.
    static func canary() -> String { "canary-\(UInt64.random(in: 0...UInt64.max))" }
}
