import Foundation
import OutpostSecrets
import OutpostTestSupport
import Testing

/// Reading and listing KV v1 and v2 secrets from `FakeVault` over a real socket.
@Suite("vault provider: KV reads and lists")
struct VaultProviderTests {
    static let token = "hvs.test-root-token"

    /// Options of a token-authenticated provider against `address`.
    static func options(_ address: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any] = [
            "name": "vault", "type": "vault", "address": address, "max_retries": "0",
            "auth": ["method": "token", "token": token],
        ]
        values.merge(extra) { $1 }
        return values
    }

    static func fakeWithToken(namespace: String? = nil) async -> FakeVault {
        let fake = FakeVault(namespace: namespace)
        await fake.addToken(token)
        return fake
    }

    @Test("a KV v2 secret's data.data becomes the payload's key/values")
    func readsKV2() async throws {
        let fake = await Self.fakeWithToken()
        let password = VaultTesting.canary("password")
        await fake.put("app/db", ["username": "app", "password": password])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            let payload = try await provider.fetch(path: "app/db")
            #expect(VaultTesting.keys(payload) == ["username": "app", "password": password])
            #expect(!String(describing: payload).contains(password))
        }
    }

    @Test("a KV v2 version is chosen with @N or ?version=N; no version is the latest")
    func readsVersions() async throws {
        let fake = await Self.fakeWithToken()
        await fake.put("app/api", ["key": "one"])
        await fake.put("app/api", ["key": "two"])
        await fake.put("app/api", ["key": "three"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["cache_ttl": "0"]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/api")) == ["key": "three"])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/api@1")) == ["key": "one"])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/api?version=2")) == ["key": "two"])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/api?version=0")) == ["key": "three"])
            let missing = await VaultTesting.error { try await provider.fetch(path: "app/api@9") }
            #expect(missing?.code == .notFound)
        }
    }

    @Test("a path ending in @digits is read literally with ?version=")
    func literalAtSign() async throws {
        let fake = await Self.fakeWithToken()
        await fake.put("users/build@5", ["token": "t"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            #expect(VaultTesting.keys(try await provider.fetch(path: "users/build@5?version=0")) == ["token": "t"])
        }
    }

    @Test("a deleted or destroyed KV v2 version is not found, and the error says so")
    func deletedVersion() async throws {
        let fake = await Self.fakeWithToken()
        let old = VaultTesting.canary("old")
        await fake.put("app/db", ["password": old])
        await fake.put("app/db", ["password": "new"])
        await fake.deleteVersion("app/db", version: 1)
        await fake.put("app/cert", ["pem": old])
        await fake.destroyVersion("app/cert", version: 1)
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            let deleted = await VaultTesting.error { try await provider.fetch(path: "app/db@1") }
            #expect(deleted?.code == .notFound)
            #expect(deleted?.detail.contains("version 1 was deleted") == true)
            let destroyed = await VaultTesting.error { try await provider.fetch(path: "app/cert") }
            #expect(destroyed?.code == .notFound)
            #expect(destroyed?.detail.contains("destroyed") == true)
            VaultTesting.expectClean(deleted, of: [old, Self.token])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "new"])
        }
    }

    @Test("a KV v1 mount is read at /v1/<mount>/<path>, and a version there is refused")
    func readsKV1() async throws {
        let fake = await Self.fakeWithToken()
        await fake.mount("legacy", kvVersion: 1)
        let value = VaultTesting.canary()
        await fake.put(mount: "legacy", "team/ci", ["deploy_key": value])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["kv_version": "1", "mount": "legacy"]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "team/ci")) == ["deploy_key": value])
            let versioned = await VaultTesting.error { try await provider.fetch(path: "team/ci@2") }
            #expect(versioned?.code == .unsupported)
        }
    }

    @Test("prefix is put in front of every path and list prefix")
    func prefixOption() async throws {
        let fake = await Self.fakeWithToken()
        await fake.put("outpost/prod/db", ["password": "p"])
        await fake.put("outpost/prod/api", ["key": "k"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["prefix": "/outpost/"]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "prod/db")) == ["password": "p"])
            #expect(try await provider.list(prefix: "prod/") == ["prod/api", "prod/db"])
            #expect(try await provider.list(prefix: "") == ["prod/"])
        }
    }

    @Test("listing gives one level of names under a prefix, folders ending in /, never values", arguments: [1, 2])
    func lists(kvVersion: Int) async throws {
        let fake = await Self.fakeWithToken()
        let mount = kvVersion == 1 ? "kv" : "secret"
        if kvVersion == 1 { await fake.mount(mount, kvVersion: 1) }
        let value = VaultTesting.canary()
        for path in ["app/db", "app/dns", "app/api", "app/legacy/old", "infra/vpn"] {
            await fake.put(mount: mount, path, ["v": value])
        }
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["kv_version": "\(kvVersion)", "mount": mount]))
            #expect(try await provider.list(prefix: "") == ["app/", "infra/"])
            #expect(try await provider.list(prefix: "app/") == ["app/api", "app/db", "app/dns", "app/legacy/"])
            #expect(try await provider.list(prefix: "app/d") == ["app/db", "app/dns"])
            #expect(try await provider.list(prefix: "nothing/here/") == [])
            #expect(await fake.count(.list) == 4)
        }
    }

    @Test("a missing secret is not found, naming the Vault path")
    func notFound() async throws {
        let fake = await Self.fakeWithToken()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/nope") }
            #expect(error?.code == .notFound)
            #expect(error?.detail.contains("secret/data/app/nope") == true)
            #expect(error?.message.contains("secret provider \"vault\" (vault), path \"app/nope\"") == true)
            VaultTesting.expectClean(error, of: [Self.token])
        }
    }

    @Test("a path that would leave the mount is refused before any request")
    func pathTraversal() async throws {
        let fake = await Self.fakeWithToken()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            for path in ["../../sys/seal", "app//db", "app/./db", "", "/"] {
                let error = await VaultTesting.error { try await provider.fetch(path: path) }
                #expect(error?.code == .notFound, "path \(path)")
            }
            #expect(await fake.count(.read) == 0)
        }
    }

    @Test("a policy denial is access denied with Vault's words")
    func deniedByPolicy() async throws {
        let fake = FakeVault()
        await fake.addToken(Self.token, policies: ["secret/data/app/"])
        await fake.put("ops/root", ["password": "x"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            let error = await VaultTesting.error { try await provider.fetch(path: "ops/root") }
            #expect(error?.code == .denied)
            #expect(error?.detail.contains("permission denied") == true)
            VaultTesting.expectClean(error, of: [Self.token])
        }
    }

    @Test("a reply that is not JSON, or a KV v1 body read as v2, is a malformed secret")
    func malformed() async throws {
        let fake = await Self.fakeWithToken()
        await fake.put("app/db", ["password": "p"])
        await fake.mount("old", kvVersion: 1)
        await fake.put(mount: "old", "data/app", ["password": "p"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["cache_ttl": "0"]))
            await fake.answerMalformed(1)
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .malformed)
            // A KV v1 mount configured as v2: data.data is missing.
            let wrong = try VaultTesting.make(Self.options(address, ["mount": "old"]))
            let shape = await VaultTesting.error { try await wrong.fetch(path: "app") }
            #expect(shape?.code == .malformed)
            #expect(shape?.detail.contains("kv_version: 1") == true)
        }
    }

    @Test("bad options are refused at start-up, naming the key", arguments: [
        (#"{"kv_version": "3"}"#, "kv_version"),
        (#"{"address": "vault.internal:8200"}"#, "address"),
        (#"{"mount": "../sys"}"#, "mount"),
        (#"{"colour": "blue"}"#, "colour"),
        (#"{"auth": {"method": "ldap"}}"#, "method"),
        (#"{"auth": {"method": "approle", "role_id": "r"}}"#, "secret_id"),
        (#"{"auth": {"method": "token", "token": "a", "token_file": "/b"}}"#, "token"),
        (#"{"auth": {"method": "kubernetes"}}"#, "role"),
        (#"{"auth": {"method": "token", "token": "t", "extra": "x"}}"#, "extra"),
        (#"{"tls_ca_file": "/etc/ca.pem"}"#, "tls_ca_file"),
    ])
    func badOptions(extraJSON: String, key: String) async throws {
        let extra = try #require(try JSONSerialization.jsonObject(with: Data(extraJSON.utf8)) as? [String: Any])
        let error = await VaultTesting.error { try VaultTesting.make(Self.options("http://127.0.0.1:1", extra)) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(key) == true, "\(error?.message ?? "no error")")
    }
}
