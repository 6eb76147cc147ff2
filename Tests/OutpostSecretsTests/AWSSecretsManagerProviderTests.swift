import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// The provider against a real moto_server with signature checking on:
/// string, JSON and binary secrets, version stages, listing, and every error
/// a user can meet (not found, wrong keys, no permission, nothing listening).
/// Serialized: moto's ListSecrets fails with a 500 when another request adds
/// a secret while it walks the list.
@Suite("AWS Secrets Manager provider against moto", .motoAvailable, .moto, .serialized)
struct AWSSecretsManagerProviderTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    @Test("a JSON secret comes back as the text AWS stores")
    func jsonSecret() async throws {
        let moto = try moto
        let value = #"{"username":"app","password":"\#(AWSTest.canary())"}"#
        let secret = try await moto.createSecret("db", string: value)
        let payload = try await moto.provider().fetch(path: secret.name)
        #expect(payload == .text(value))
    }

    @Test("a plain string secret comes back as text")
    func plainSecret() async throws {
        let moto = try moto
        let value = AWSTest.canary()
        let secret = try await moto.createSecret("token", string: value)
        #expect(try await moto.provider().fetch(path: secret.name) == .text(value))
    }

    @Test("a SecretBinary comes back as its bytes")
    func binarySecret() async throws {
        let moto = try moto
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0x80, 10, 13] + Array(AWSTest.canary().utf8)
        let secret = try await moto.createSecret("blob", binary: bytes)
        #expect(try await moto.provider().fetch(path: secret.name) == .binary(bytes))
    }

    @Test("a secret is found by its ARN too")
    func byARN() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("by-arn", string: "v")
        let described = try await moto.secretsManager("DescribeSecret", ["SecretId": secret.name])
        let arn = try #require(described["ARN"] as? String)
        #expect(try await moto.provider().fetch(path: arn) == .text("v"))
    }

    @Test("version stages and ids pick the version; the default is AWSCURRENT")
    func versionStages() async throws {
        let moto = try moto
        let first = try await moto.createSecret("staged", string: "one")
        try await moto.putSecretValue(first.name, string: "two")
        try await moto.putSecretValue(first.name, string: "blue", stages: ["BLUE"])
        let provider = try moto.provider()
        #expect(try await provider.fetch(path: first.name) == .text("two"))
        #expect(try await provider.fetch(path: first.name + "?version_stage=AWSCURRENT") == .text("two"))
        #expect(try await provider.fetch(path: first.name + "?version_stage=AWSPREVIOUS") == .text("one"))
        #expect(try await provider.fetch(path: first.name + "?version_stage=BLUE") == .text("blue"))
        #expect(try await provider.fetch(path: first.name + "?version_id=\(first.versionID)") == .text("one"))
        let blueByDefault = try moto.provider(["version_stage": "BLUE"])
        #expect(try await blueByDefault.fetch(path: first.name) == .text("blue"))
        let missing = await AWSTest.failure { try await provider.fetch(path: first.name + "?version_stage=GREEN") }
        #expect(missing?.code == .notFound)
    }

    @Test("a missing secret is notFound, naming AWS's error")
    func notFound() async throws {
        let moto = try moto
        let error = try #require(await AWSTest.failure { try await moto.provider().fetch(path: "\(moto.prefix)/nope") })
        #expect(error.code == .notFound)
        #expect(error.detail.contains("ResourceNotFoundException"))
        #expect(error.message.contains("secret provider \"aws\""))
        #expect(error.path == "\(moto.prefix)/nope")
    }

    @Test("a wrong secret key is denied by moto's signature check, and the key never shows")
    func wrongSecretKey() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("guarded", string: AWSTest.canary())
        let wrongSecret = "wrong-" + AWSTest.canary()
        let provider = try moto.provider(["secret_access_key": wrongSecret])
        let clock = ContinuousClock()
        let started = clock.now
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: secret.name) })
        #expect(error.code == .denied)
        #expect(error.detail.contains("403"))
        #expect(error.detail.contains("SignatureDoesNotMatch"))
        #expect(!error.message.contains(wrongSecret))
        #expect(clock.now - started < .seconds(8))
    }

    @Test("an access key moto never issued is denied")
    func unknownAccessKey() async throws {
        let moto = try moto
        let provider = try moto.provider(["access_key_id": "AKIAUNKNOWN000000000", "secret_access_key": "x"])
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "\(moto.prefix)/any") })
        #expect(error.code == .denied)
        #expect(error.detail.contains("InvalidClientTokenId"))
    }

    @Test("a user whose policy lacks GetSecretValue is denied")
    func missingPermission() async throws {
        let moto = try moto
        let secret = try await moto.createSecret("forbidden", string: "v")
        let lister = try await moto.createUser(
            "lister",
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]}"#)
        let provider = try moto.provider(
            ["access_key_id": lister.accessKeyID, "secret_access_key": lister.secretAccessKey])
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: secret.name) })
        #expect(error.code == .denied)
        #expect(error.detail.contains("AccessDenied"))
        // Listing is allowed to that user.
        #expect(try await provider.list(prefix: secret.name) == [secret.name])
    }

    @Test("nothing listening on the endpoint is unreachable, quickly")
    func closedPort() async throws {
        let moto = try moto
        let refusing = try RefusingPort()
        let provider = try moto.provider(["endpoint": refusing.url])
        let clock = ContinuousClock()
        let started = clock.now
        let error = try #require(await AWSTest.failure { try await provider.fetch(path: "x") })
        #expect(error.code == .unreachable)
        #expect(error.isRetryable)
        #expect(clock.now - started < .seconds(8))
        withExtendedLifetime(refusing) {}
    }

    @Test("listing returns the names under a prefix, across pages, never values")
    func listWithPrefix() async throws {
        let moto = try moto
        let canary = AWSTest.canary()
        var expected: [String] = []
        for index in 0..<105 {
            expected.append(try await moto.createSecret("listed/a/\(index)", string: canary).name)
        }
        try await moto.createSecret("listed/b/other", string: canary)
        try await moto.createSecret("listed-a-lookalike", string: canary)
        let provider = try moto.provider()
        let names = try await provider.list(prefix: "\(moto.prefix)/listed/a/")
        #expect(names == expected.sorted())
        #expect(!names.contains { $0.contains(canary) })
        let all = try await provider.list(prefix: "\(moto.prefix)/listed")
        #expect(all.count == 107)
    }

    @Test("a path with an unknown parameter is refused before any call")
    func badPathParameter() async throws {
        let moto = try moto
        let error = await AWSTest.failure { try await moto.provider().fetch(path: "x?version=1") }
        #expect(error?.code == .unsupported)
        #expect(error?.detail.contains("version_stage") == true)
    }
}
