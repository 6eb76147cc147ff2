import Logging
import Foundation
import OutpostCore
import Testing

@testable import OutpostSecrets

/// A provider held in memory that counts fetches and can fail or stall on demand.
final class ScriptedProvider: SecretProvider, @unchecked Sendable {
    enum Behaviour { case value(SecretPayload), error(SecretError), stall }
    private let lock = NSLock()
    private var behaviours: [String: [Behaviour]]
    private(set) var fetches: [String] = []

    init(_ behaviours: [String: [Behaviour]]) { self.behaviours = behaviours }

    var fetchCount: Int { lock.with { fetches.count } }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let next: Behaviour = lock.with {
            fetches.append(path)
            var queue = behaviours[path] ?? [.error(SecretError(.notFound, "no secret named \(path)"))]
            let first = queue.count > 1 ? queue.removeFirst() : queue[0]
            behaviours[path] = queue
            return first
        }
        switch next {
        case .value(let payload):
            try? await Task.sleep(for: .milliseconds(20))  // long enough for concurrent callers to pile up
            return payload
        case .error(let error): throw error
        case .stall:
            try? await Task.sleep(for: .seconds(60))
            throw SecretError(.unreachable, "stalled")
        }
    }

    func list(prefix: String) async throws(SecretError) -> [String] {
        lock.with { behaviours.keys.filter { $0.hasPrefix(prefix) }.sorted() }
    }
}

extension NSLock {
    func with<T>(_ body: () -> T) -> T {
        lock()
        defer { unlock() }
        return body()
    }
}

func managed(_ provider: ScriptedProvider, ttl: Duration = .seconds(60), timeout: Duration = .seconds(5), retries: Int = 3)
    -> ManagedProvider
{
    var settings = ManagedProvider.Settings()
    settings.cacheTTL = ttl
    settings.timeout = timeout
    settings.maxRetries = retries
    settings.backoff = Backoff(initial: .milliseconds(1), maximum: .milliseconds(5))
    return ManagedProvider(name: "mem", type: "memory", provider: provider, settings: settings, logger: .init(label: "test"))
}

@Suite("Resolving secret references")
struct SecretSetTests {
    static let canary = "canary-7f3a9b2e11d4"

    @Test("every key of a JSON secret becomes a variable; values of every type are kept as text")
    func jsonObject() async throws {
        let json = #"{"PGHOST": "db.internal", "PGPORT": 5432, "PGPASSWORD": "\#(Self.canary)", "TLS": true, "EXTRA": null}"#
        let set = SecretSet(providers: [managed(ScriptedProvider(["db": [.value(.text(json))]]))])
        let resolved = try await set.resolve([SecretReference(provider: "mem", path: "db")])
        #expect(resolved.environment == ["PGHOST": "db.internal", "PGPORT": "5432", "PGPASSWORD": Self.canary, "TLS": "true", "EXTRA": ""])
        #expect(resolved.valuesToMask.map(\.value).contains(Self.canary))
        #expect(!resolved.description.contains(Self.canary))
    }

    @Test("a mapping renames keys and picks only them; every value is still masked")
    func mapping() async throws {
        let json = #"{"MYSQL_HOSTNAME": "db1", "MYSQL_PASSWORD": "\#(Self.canary)"}"#
        let set = SecretSet(providers: [managed(ScriptedProvider(["db": [.value(.text(json))]]))])
        let resolved = try await set.resolve([
            SecretReference(provider: "mem", path: "db", mapping: ["MYSQL_HOST": "MYSQL_HOSTNAME"])
        ])
        #expect(resolved.environment == ["MYSQL_HOST": "db1"])
        #expect(resolved.valuesToMask.map(\.value).contains(Self.canary))
    }

    @Test("a single-value secret needs one mapping without a key")
    func singleValue() async throws {
        let set = SecretSet(providers: [managed(ScriptedProvider(["token": [.value(.text(Self.canary))]]))])
        let resolved = try await set.resolve([SecretReference(provider: "mem", path: "token", mapping: ["API_TOKEN": ""])])
        #expect(resolved.environment == ["API_TOKEN": Self.canary])
        await #expect(throws: SecretError.self) {
            try await set.resolve([SecretReference(provider: "mem", path: "token")])
        }
    }

    @Test(
        "failures name provider, path and key, and never the value",
        arguments: [
            (SecretReference(provider: "nope", path: "db"), "secret provider \"nope\", path \"db\": provider not configured"),
            (SecretReference(provider: "mem", path: "missing"), "secret provider \"mem\" (memory), path \"missing\": not found"),
            (SecretReference(provider: "mem", path: "db", mapping: ["X": "NOKEY"]), "path \"db\", key \"NOKEY\": not found"),
            (SecretReference(provider: "mem", path: "broken"), "path \"broken\": malformed secret"),
            (SecretReference(provider: "mem", path: "db", mapping: ["X": ""]), "path \"db\": malformed secret"),
            (SecretReference(provider: "mem", path: "badkeys"), "key \"not a name\": malformed secret"),
            (SecretReference(provider: "mem", path: "binary", mapping: ["B": ""]), "path \"binary\": malformed secret"),
        ])
    func failures(_ reference: SecretReference, _ expected: String) async throws {
        let provider = ScriptedProvider([
            "db": [.value(.text(#"{"A": "\#(Self.canary)"}"#))],
            "broken": [.value(.text(#"{"A": "\#(Self.canary)""#))],
            "badkeys": [.value(.text(#"{"not a name": "\#(Self.canary)"}"#))],
            "binary": [.value(.binary([0xff, 0xfe, 0x00, 0x41]))],
        ])
        let set = SecretSet(providers: [managed(provider)])
        do {
            _ = try await set.resolve([reference])
            Issue.record("no error")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains(Self.canary))
        }
    }

    @Test("the fingerprint lists names and types only, sorted")
    func fingerprint() {
        let set = SecretSet(providers: [
            ManagedProvider(name: "zeta", type: "vault", provider: ScriptedProvider([:]), settings: .init(), logger: .init(label: "t")),
            ManagedProvider(name: "alpha", type: "env", provider: ScriptedProvider([:]), settings: .init(), logger: .init(label: "t")),
        ])
        #expect(set.providerFingerprint == "alpha:env,zeta:vault")
    }

    @Test("listing names every provider's secrets, with a provider's failure as its entry")
    func listing() async throws {
        let set = SecretSet(providers: [managed(ScriptedProvider(["app/a": [], "app/b": [], "other": []]))])
        let entries = try await set.listNames(provider: nil, prefix: "app/")
        #expect(entries == [SecretListingEntry(provider: "mem", names: ["app/a", "app/b"])])
        await #expect(throws: SecretError.self) { try await set.listNames(provider: "ghost", prefix: "") }
    }
}

@Suite("Cache, coalescing, timeouts and retries")
struct ManagedProviderTests {
    @Test("concurrent fetches of one path share one request, and the cache serves the next")
    func coalescing() async throws {
        let provider = ScriptedProvider(["p": [.value(.text("v1234"))]])
        let wrapped = managed(provider)
        try await withThrowingTaskGroup(of: SecretPayload.self) { group in
            for _ in 0..<20 { group.addTask { try await wrapped.fetch(path: "p") } }
            for try await payload in group { #expect(payload == .text("v1234")) }
        }
        _ = try await wrapped.fetch(path: "p")
        #expect(provider.fetchCount == 1)
    }

    @Test("a zero TTL fetches every time")
    func noCache() async throws {
        let provider = ScriptedProvider(["p": [.value(.text("v1234"))]])
        let wrapped = managed(provider, ttl: .zero)
        for _ in 0..<3 { _ = try await wrapped.fetch(path: "p") }
        #expect(provider.fetchCount == 3)
    }

    @Test("retryable failures are retried up to max_retries; others are not")
    func retries() async throws {
        let flaky = ScriptedProvider([
            "p": [.error(SecretError(.unreachable, "HTTP 503")), .error(SecretError(.unreachable, "HTTP 503")), .value(.text("ok-value"))]
        ])
        #expect(try await managed(flaky).fetch(path: "p") == .text("ok-value"))
        #expect(flaky.fetchCount == 3)

        let down = ScriptedProvider(["p": [.error(SecretError(.unreachable, "HTTP 503"))]])
        await #expect(throws: SecretError.self) { try await managed(down, retries: 2).fetch(path: "p") }
        #expect(down.fetchCount == 3)

        let denied = ScriptedProvider(["p": [.error(SecretError(.denied, "HTTP 403"))]])
        await #expect(throws: SecretError.self) { try await managed(denied).fetch(path: "p") }
        #expect(denied.fetchCount == 1)
    }

    @Test("a stalled store fails with unreachable after the timeout instead of hanging")
    func timeout() async throws {
        let stalled = ScriptedProvider(["p": [.stall]])
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await managed(stalled, timeout: .milliseconds(200), retries: 1).fetch(path: "p")
            Issue.record("no error")
        } catch {
            #expect(error.code == .unreachable)
            #expect(error.message.contains("no answer within"))
        }
        // A hang would never end; the bound leaves room for a loaded CI machine.
        #expect(clock.now - start < .seconds(40))
    }
}
