import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

/// A Secret Manager fake with one service account whose key pair is made here.
struct GCPFixture {
    let account: FakeGCPServiceAccount
    let fake: FakeGCPSecretManager

    init(pageSize: Int = 25) throws {
        account = try FakeGCPServiceAccount()
        fake = FakeGCPSecretManager(serviceAccounts: [account], pageSize: pageSize)
    }

    /// Writes `account`'s key file (token_uri at `base`) and returns provider options using it.
    func options(
        _ base: String, account: FakeGCPServiceAccount? = nil, projectID: String? = "outpost-test",
        _ extra: [String: Any] = [:]
    ) throws -> (options: [String: Any], directory: TemporaryDirectory) {
        let key = (account ?? self.account).keyFileJSON(tokenURI: FakeGCPSecretManager.tokenURI(base), projectID: projectID)
        let (path, directory) = try CloudTest.file(key, name: "key.json")
        var values: [String: Any] = [
            "name": "gcp", "type": "gcp-secret-manager", "endpoint": base, "max_retries": "0", "cache_ttl": "0",
            "auth": ["method": "service_account", "key_file": path],
        ]
        values.merge(extra) { $1 }
        return (values, directory)
    }
}

@Suite("GCP Secret Manager provider")
struct GCPSecretManagerProviderTests {
    @Test("accesses the latest version with a service-account key (signed JWT), through the catalog")
    func latestVersion() async throws {
        let fixture = try GCPFixture()
        let value = CloudTest.canary()
        fixture.fake.setSecret("db-password", "old")
        fixture.fake.setSecret("db-password", value)
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(provider.type == "gcp-secret-manager")
            #expect(try await provider.fetch(path: "db-password") == .text(value))
        }
        #expect(fixture.fake.counts == .init(tokenRequests: 1, apiRequests: 1))
    }

    @Test("a given version: NAME@N, projects/P/secrets/S/versions/N, and the project number")
    func givenVersion() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("api", "{\"KEY\":\"one\"}")
        fixture.fake.setSecret("api", "{\"KEY\":\"two\"}")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "api@1") == .text("{\"KEY\":\"one\"}"))
            #expect(try await provider.fetch(path: "api@latest") == .text("{\"KEY\":\"two\"}"))
            #expect(try await provider.fetch(path: "projects/outpost-test/secrets/api/versions/1") == .text("{\"KEY\":\"one\"}"))
            #expect(try await provider.fetch(path: "projects/123456789012/secrets/api") == .text("{\"KEY\":\"two\"}"))
        }
    }

    @Test("a payload that is not UTF-8 is binary; an empty payload is empty text")
    func binaryPayload() async throws {
        let fixture = try GCPFixture()
        let bytes: [UInt8] = [0xFF, 0x00, 0xFE, 0x80, 0x7F]
        fixture.fake.setSecret("blob", bytes: bytes)
        fixture.fake.setSecret("empty", bytes: [])
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "blob") == .binary(bytes))
            #expect(try await provider.fetch(path: "empty") == .text(""))
        }
    }

    @Test("a payload whose CRC32C does not match is malformed")
    func checksumMismatch() async throws {
        let fixture = try GCPFixture()
        let value = CloudTest.canary()
        fixture.fake.setSecret("db", value)
        fixture.fake.setCorruptChecksums(true)
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .malformed)
            #expect(error?.message.contains("payload checksum mismatch") == true)
            #expect(error?.message.contains(value) == false)
        }
    }

    @Test(
        "CRC32C matches the published Castagnoli vectors",
        arguments: [
            (Array("123456789".utf8), 0xE306_9283),
            ([], 0),
            (Array(repeating: 0, count: 32), 0x8A91_36AA),
            (Array(repeating: 0xFF, count: 32), 0x62A8_AB43),
            (Array(0...31), 0x46DD_794E),
            (Array((0...31).reversed()), 0x113F_DB5C),
        ] as [([UInt8], UInt32)])
    func crc32cVectors(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
    }

    @Test("lists secret ids across nextPageToken pages, filtered by prefix")
    func listWithPaging() async throws {
        let fixture = try GCPFixture(pageSize: 2)
        for name in ["prod-db", "prod-api", "dev-db", "prod-cache", "dev-api"] { fixture.fake.setSecret(name, "v") }
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(try await provider.list(prefix: "") == ["dev-api", "dev-db", "prod-api", "prod-cache", "prod-db"])
            #expect(try await provider.list(prefix: "dev") == ["dev-api", "dev-db"])
        }
        #expect(fixture.fake.counts == .init(tokenRequests: 1, apiRequests: 6))
    }

    @Test("a missing secret or version, or a disabled version, is notFound")
    func notFound() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "v1")
        fixture.fake.setSecret("db", "v2")
        fixture.fake.disable("db", version: 1)
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            for path in ["absent", "db@7", "db@1"] {
                let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: path) }
                #expect(error?.code == .notFound, "\(path)")
                #expect(error?.message.contains("path \"\(path)\"") == true)
            }
        }
    }

    @Test("a JWT signed by another key is denied, and neither key nor assertion shows in the error")
    func forgedKey() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "v")
        let forged = try fixture.account.withAnotherKey()
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, account: forged)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("Invalid JWT Signature") == true)
            #expect(error?.message.contains("eyJ") == false)
            #expect(error?.message.contains("PRIVATE KEY") == false)
        }
    }

    @Test("IAM denial is denied (PERMISSION_DENIED), for access and for list")
    func permissionDenied() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "v")
        fixture.fake.deny(secret: "db")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            let access = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(access?.code == .denied)
            #expect(access?.message.contains("PERMISSION_DENIED") == true)
            fixture.fake.deny(principal: fixture.account.email)
            let list = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(list?.code == .denied)
        }
    }

    @Test("a 503 is retried by the managed provider; a proxy's HTML page is malformed")
    func faults() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, ["max_retries": "1"])
            defer { directory.remove() }
            fixture.fake.inject(status: 503, on: .api)
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "db") == .text("value"))
            fixture.fake.inject(status: 200, on: .api)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .malformed)
        }
    }

    @Test("a closed port is unreachable within seconds; so is a slow service past the timeout")
    func unreachable() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "value")
        let closed = try await fixture.fake.run { base in base }
        let clock = ContinuousClock()
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, ["endpoint": closed])
            defer { directory.remove() }
            let start = clock.now
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .unreachable)
            #expect(clock.now - start < .seconds(8))

            fixture.fake.setDelay(.seconds(2))
            let slow = try CloudTest.provider(try fixture.options(base, ["timeout": "300ms"]).options)
            let slowStart = clock.now
            let timeout = await CloudTest.failure { () async throws(SecretError) in try await slow.fetch(path: "db") }
            #expect(timeout?.code == .unreachable)
            #expect(clock.now - slowStart < .seconds(8))
        }
    }

    @Test(
        "paths: NAME, NAME@VERSION, projects/P/secrets/S[/versions/V]; anything else is refused",
        arguments: [
            ("db", nil, "db", "latest"), ("db@3", nil, "db", "3"), ("db_1@prod-alias", nil, "db_1", "prod-alias"),
            ("projects/p-1/secrets/db", "p-1", "db", "latest"), ("projects/42/secrets/db/versions/7", "42", "db", "7"),
            ("db@", nil, nil, nil), ("@3", nil, nil, nil), ("db@1@2", nil, nil, nil), ("a/b", nil, nil, nil),
            ("projects/p/secrets", nil, nil, nil), ("projects/p/topics/db", nil, nil, nil), ("db?x", nil, nil, nil),
            ("projects/p/secrets/db/versions/1/extra", nil, nil, nil), ("../db", nil, nil, nil),
        ] as [(String, String?, String?, String?)])
    func paths(path: String, project: String?, secret: String?, version: String?) {
        let parsed = try? GCPSecretManagerProvider.parse(path)
        #expect(parsed?.project == project)
        #expect(parsed?.secret == secret)
        #expect(parsed?.version == version)
    }
}
