import Foundation
import OutpostSecrets
import OutpostTestSupport
import Testing

/// The `http` provider against `FakeHTTPStore` over a real socket.
@Suite("http provider (custom store)")
struct HTTPStoreProviderTests {
    static func options(_ values: [String: Any]) -> [String: Any] {
        ["name": "store", "type": "http", "max_retries": "0"].merging(values) { $1 }
    }

    @Test("the name is appended as escaped path segments and the bearer token is sent")
    func appendedNameAndBearer() async throws {
        let token = VaultTesting.canary("token")
        let value = VaultTesting.canary("value")
        let store = FakeHTTPStore(auth: .bearer(token))
        await store.put("team a/db", json: ["username": "app", "password": value])
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/secrets/", "token": token]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "team a/db")) == ["username": "app", "password": value])
            #expect(await store.count("team a/db") == 1)
        }
    }

    @Test("{name} in store_url takes the escaped name, / included")
    func placeholder() async throws {
        let store = FakeHTTPStore()
        await store.put("ci/deploy key", value: "k")
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/lookup?name={name}"]))
            #expect(try await provider.fetch(path: "ci/deploy key") == .text("k"))
        }
    }

    @Test("reply shapes: {\"value\": ...} is one value, other objects are key/values, value_field picks a field")
    func replyShapes() async throws {
        let store = FakeHTTPStore()
        await store.put("single", value: "v")
        await store.put("keyed", json: ["value": "v", "other": "o"])
        await store.putRaw("nested", body: #"{"data": {"secret": {"user": "u"}, "meta": 1}}"#)
        await store.putRaw("string", body: #""plain""#)
        await store.putRaw("number", body: #"{"data": {"port": 5432}}"#)
        try await store.run { base in
            let plain = try VaultTesting.make(Self.options(["store_url": base + "/secrets"]))
            #expect(try await plain.fetch(path: "single") == .text("v"))
            #expect(VaultTesting.keys(try await plain.fetch(path: "keyed")) == ["value": "v", "other": "o"])
            #expect(try await plain.fetch(path: "string") == .text("plain"))
            let field = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "value_field": "data.secret"]))
            #expect(VaultTesting.keys(try await field.fetch(path: "nested")) == ["user": "u"])
            let missing = await VaultTesting.error { try await field.fetch(path: "single") }
            #expect(missing?.code == .malformed)
            #expect(missing?.detail.contains("data") == true)
            let port = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "value_field": "data.port"]))
            #expect(try await port.fetch(path: "number") == .text("5432"))
        }
    }

    @Test("an API-key header, with its value from value_file, is sent; a wrong one is denied")
    func headerAuth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = VaultTesting.canary("api-key")
        let wrong = VaultTesting.canary("wrong-key")
        let store = FakeHTTPStore(auth: .header(name: "X-Api-Key", value: key))
        await store.put("db", value: "v")
        let file = try VaultTesting.file(key + "\n", in: directory)
        try await store.run { base in
            let good = try VaultTesting.make(
                Self.options(["store_url": base + "/secrets", "header": ["name": "X-Api-Key", "value_file": file]]))
            #expect(try await good.fetch(path: "db") == .text("v"))
            let bad = try VaultTesting.make(
                Self.options(["store_url": base + "/secrets", "header": ["name": "X-Api-Key", "value": wrong]]))
            let error = await VaultTesting.error { try await bad.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.detail.contains("HTTP 403") == true)
            VaultTesting.expectClean(error, of: [key, wrong])
        }
    }

    @Test("statuses: 404 not found, 401 denied, 5xx unreachable")
    func statuses() async throws {
        let token = VaultTesting.canary("token")
        let store = FakeHTTPStore(auth: .bearer(token))
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "token": token]))
            let missing = await VaultTesting.error { try await provider.fetch(path: "nope") }
            #expect(missing?.code == .notFound)
            #expect(missing?.detail.contains("no such secret") == true)
            let anonymous = try VaultTesting.make(Self.options(["store_url": base + "/secrets"]))
            #expect(await VaultTesting.error { try await anonymous.fetch(path: "nope") }?.code == .denied)
            await store.failNext(1, status: 502)
            let broken = await VaultTesting.error { try await provider.fetch(path: "nope") }
            #expect(broken?.code == .unreachable)
            VaultTesting.expectClean(broken, of: [token])
        }
    }

    @Test("a reply that is not JSON is a malformed secret and quotes nothing of it")
    func malformed() async throws {
        let value = VaultTesting.canary()
        let store = FakeHTTPStore()
        await store.putRaw("db", body: "password=\(value)")
        await store.putRaw("list", body: #"["a", "b"]"#)
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/secrets"]))
            let error = await VaultTesting.error { try await provider.fetch(path: "db") }
            #expect(error?.code == .malformed)
            VaultTesting.expectClean(error, of: [value])
            #expect(await VaultTesting.error { try await provider.fetch(path: "list") }?.code == .malformed)
        }
    }

    @Test("5xx answers are retried up to max_retries; a 404 is not")
    func retries() async throws {
        let store = FakeHTTPStore()
        await store.put("db", value: "v")
        try await store.run { base in
            let provider = try VaultTesting.make(
                Self.options(["store_url": base + "/secrets", "max_retries": "2", "cache_ttl": "0"]))
            await store.failNext(2, status: 500)
            #expect(try await provider.fetch(path: "db") == .text("v"))
            #expect(await store.count("db") == 3)
            _ = await VaultTesting.error { try await provider.fetch(path: "nope") }
            #expect(await store.count("nope") == 1)
        }
    }

    @Test("cache: a second fetch within cache_ttl is not sent; concurrent fetches share one request")
    func cacheAndCoalescing() async throws {
        let store = FakeHTTPStore()
        await store.put("db", value: "v")
        await store.put("api", value: "a")
        await store.setDelay(.milliseconds(400))
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/secrets"]))
            _ = try await provider.fetch(path: "db")
            _ = try await provider.fetch(path: "db")
            #expect(await store.count("db") == 1)
            let uncached = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "cache_ttl": "0"]))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try await uncached.fetch(path: "api") } }
                try await group.waitForAll()
            }
            #expect(await store.count("api") == 1)
        }
    }

    @Test("a closed port is unreachable at once; a slow store times out")
    func unreachableAndSlow() async throws {
        let refusing = try RefusingPort()
        let clock = ContinuousClock()
        let start = clock.now
        let dead = try VaultTesting.make(Self.options(["store_url": refusing.url + "/secrets"]))
        let refused = await VaultTesting.error { try await dead.fetch(path: "db") }
        #expect(refused?.code == .unreachable)
        #expect(clock.now - start < .seconds(8))
        withExtendedLifetime(refusing) {}
        let store = FakeHTTPStore()
        await store.put("db", value: "v")
        await store.setDelay(.seconds(5))
        try await store.run { base in
            let start = clock.now
            let slow = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "timeout": "250ms"]))
            let error = await VaultTesting.error { try await slow.fetch(path: "db") }
            #expect(error?.code == .unreachable)
            #expect(clock.now - start < .seconds(8))
        }
    }

    @Test("list_url gives names filtered by prefix; without it listing is not supported")
    func listing() async throws {
        let store = FakeHTTPStore()
        for name in ["ci/a", "ci/b", "prod/db"] { await store.put(name, value: VaultTesting.canary()) }
        try await store.run { base in
            let provider = try VaultTesting.make(Self.options(["store_url": base + "/secrets", "list_url": base + "/names"]))
            #expect(try await provider.list(prefix: "ci/") == ["ci/a", "ci/b"])
            #expect(try await provider.list(prefix: "") == ["ci/a", "ci/b", "prod/db"])
            let unlisted = try VaultTesting.make(Self.options(["store_url": base + "/secrets"]))
            #expect(await VaultTesting.error { try await unlisted.list(prefix: "") }?.code == .unsupported)
        }
    }

    @Test("bad options are refused at start-up, naming the key")
    func badOptions() async throws {
        let cases: [([String: Any], String)] = [
            ([:], "store_url"),
            (["store_url": "store.internal/get"], "store_url"),
            (["store_url": "http://store.internal/get?format=json"], "store_url"),
            (["store_url": "http://store.internal", "token": "a", "token_file": "/b"], "token"),
            (["store_url": "http://store.internal", "header": ["name": "X Bad", "value": "v"]], "name"),
            (["store_url": "http://store.internal", "header": ["name": "X-Key"]], "value"),
            (["store_url": "http://store.internal", "value_field": "data..x"], "value_field"),
        ]
        for (values, key) in cases {
            let error = await VaultTesting.error { try VaultTesting.make(Self.options(values)) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains(key) == true, "\(error?.message ?? "no error")")
        }
    }
}
