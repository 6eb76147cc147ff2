import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// Web identity against moto: `AssumeRoleWithWebIdentity` is unsigned, which
/// moto with signature checking on only lets through within its
/// unchecked-action budget; so this suite has a server of its own and grants
/// exactly one such action, and the role's temporary keys (with their session
/// token) then face the signature check on `GetSecretValue`.
@Suite("AWS web identity against moto", .motoAvailable, .privateMoto, .serialized)
struct AWSWebIdentityTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    @Test("the token file is exchanged at STS once, and the temporary keys pass moto's signature check")
    func webIdentity() async throws {
        let moto = try moto
        let value = AWSTest.canary()
        let secret = try await moto.createSecret("web-identity", string: value)
        let trust = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow",\
            "Principal":{"Federated":"arn:aws:iam::\(AWSMoto.account):oidc-provider/token.example.com"},\
            "Action":"sts:AssumeRoleWithWebIdentity"}]}
            """
        let roleARN = try await moto.createRole(
            "web", trust: trust,
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#)
        let home = try TemporaryDirectory(prefix: "outpost-aws-webid")
        defer { home.remove() }
        let tokenFile = home.file("token")
        let webToken = "eyJ.web-identity-" + AWSTest.canary()
        try webToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let environment = AWSTest.isolatedEnvironment(
            [
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": roleARN,
                "AWS_ROLE_SESSION_NAME": "outpost-webid-test",
            ], home: home.path)
        let provider = try moto.provider(environment: environment, admin: false)

        try await moto.allowUncheckedActions(1)
        #expect(try await provider.fetch(path: secret.name) == .text(value))
        // The budget is spent: a second unsigned STS call would fail, so this
        // fetch proves the temporary credentials were cached.
        #expect(try await provider.fetch(path: secret.name) == .text(value))
    }

    @Test("a missing token file is a clear error naming the variable")
    func missingTokenFile() async throws {
        let moto = try moto
        let home = try TemporaryDirectory(prefix: "outpost-aws-webid")
        defer { home.remove() }
        let environment = AWSTest.isolatedEnvironment(
            ["AWS_WEB_IDENTITY_TOKEN_FILE": home.file("absent"), "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x"],
            home: home.path)
        let provider = try moto.provider(environment: environment, admin: false)
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.code == .denied)
        #expect(error.detail.contains("web identity"))
        #expect(error.detail.contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
    }

    @Test("STS refusing the exchange is denied, and the token never shows")
    func refusedExchange() async throws {
        let moto = try moto
        let home = try TemporaryDirectory(prefix: "outpost-aws-webid")
        defer { home.remove() }
        let webToken = "eyJ.refused-" + AWSTest.canary()
        try webToken.write(toFile: home.file("token"), atomically: true, encoding: .utf8)
        let environment = AWSTest.isolatedEnvironment(
            ["AWS_WEB_IDENTITY_TOKEN_FILE": home.file("token"), "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x"],
            home: home.path)
        let provider = try moto.provider(environment: environment, admin: false)
        // With the budget spent moto cannot take an unsigned call at all (it
        // answers 500); the provider must still fail clearly and not leak the token.
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.detail.contains("AssumeRoleWithWebIdentity"))
        #expect(!error.message.contains(webToken))
    }
}
