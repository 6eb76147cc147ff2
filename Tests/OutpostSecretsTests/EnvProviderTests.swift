import OutpostSecrets
import Testing

/// The `env` provider: secrets from the agent's own environment.
@Suite("env provider")
struct EnvProviderTests {
    static func options(prefix: String? = nil) -> [String: Any] {
        var values: [String: Any] = ["name": "env", "type": "env"]
        values["prefix"] = prefix
        return values
    }

    @Test("a variable holding a JSON object gives its key/values; a plain one a single value")
    func reads() async throws {
        let password = VaultTesting.canary()
        let environment = [
            "OUTPOST_SECRET_DB": #"{"username": "app", "password": "\#(password)"}"#,
            "OUTPOST_SECRET_TOKEN": password,
        ]
        let provider = try VaultTesting.make(Self.options(), environment: environment)
        #expect(VaultTesting.keys(try await provider.fetch(path: "OUTPOST_SECRET_DB")) == ["username": "app", "password": password])
        #expect(try await provider.fetch(path: "OUTPOST_SECRET_TOKEN") == .text(password))
    }

    @Test("a missing variable is not found, naming it")
    func missing() async throws {
        let provider = try VaultTesting.make(Self.options(), environment: [:])
        let error = await VaultTesting.error { try await provider.fetch(path: "DB_PASSWORD") }
        #expect(error?.code == .notFound)
        #expect(error?.detail.contains("DB_PASSWORD") == true)
    }

    @Test("with prefix, a variable outside it cannot be read, and its value never shows")
    func prefixGuardsReads() async throws {
        let agentToken = VaultTesting.canary("agent-token")
        let provider = try VaultTesting.make(
            Self.options(prefix: "OUTPOST_SECRET_"),
            environment: ["OUTPOST_TOKEN": agentToken, "OUTPOST_SECRET_DB": "x"])
        let error = await VaultTesting.error { try await provider.fetch(path: "OUTPOST_TOKEN") }
        #expect(error?.code == .denied)
        VaultTesting.expectClean(error, of: [agentToken])
        #expect(try await provider.fetch(path: "OUTPOST_SECRET_DB") == .text("x"))
    }

    @Test("listing gives variable names under the prefix, never values")
    func lists() async throws {
        let value = VaultTesting.canary()
        let provider = try VaultTesting.make(
            Self.options(prefix: "OUTPOST_SECRET_"),
            environment: ["OUTPOST_SECRET_DB": value, "OUTPOST_SECRET_API": value, "HOME": "/root", "OUTPOST_TOKEN": value])
        #expect(try await provider.list(prefix: "") == ["OUTPOST_SECRET_API", "OUTPOST_SECRET_DB"])
        #expect(try await provider.list(prefix: "OUTPOST_SECRET_D") == ["OUTPOST_SECRET_DB"])
    }

    @Test("listing without a configured prefix is not supported")
    func listNeedsPrefix() async throws {
        let provider = try VaultTesting.make(Self.options(), environment: ["HOME": "/root"])
        let error = await VaultTesting.error { try await provider.list(prefix: "") }
        #expect(error?.code == .unsupported)
    }

    @Test("a prefix that cannot start a variable name, or an unknown option, is refused at start-up")
    func badOptions() async throws {
        let badPrefix = await VaultTesting.error { try VaultTesting.make(Self.options(prefix: "SECRET-")) }
        #expect(badPrefix?.code == .invalidConfiguration)
        #expect(badPrefix?.message.contains("prefix") == true)
        var values = Self.options()
        values["region"] = "x"
        let unknown = await VaultTesting.error { try VaultTesting.make(values) }
        #expect(unknown?.code == .invalidConfiguration)
    }
}
