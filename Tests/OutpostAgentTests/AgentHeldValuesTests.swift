import AsyncHTTPClient
import Foundation
import Logging
@testable import OutpostAgent
import OutpostCore
import OutpostSecrets
import OutpostTestSupport
import Testing

/// Every value the agent holds is masked in every task's log, also in a task whose
/// target references no secret: a task can read the agent's files, or its /proc
/// entries when both run as root, so masking is the last line of defence.
@Suite("Values the agent holds")
struct AgentHeldValuesTests {
    static func canary(_ label: String) -> String { "cnry-\(label)-" + UUID().uuidString.lowercased().prefix(13) }

    static func envProvider(_ environment: [String: String], prefix: String?) throws -> ManagedProvider {
        var values: [String: ProviderOptions.Value] = ["name": .string("env"), "type": .string("env")]
        if let prefix { values["prefix"] = .string(prefix) }
        return try ProviderCatalog.make(
            options: ProviderOptions(values: values, context: "secrets.providers[env]"),
            context: ProviderContext(http: HTTPClient.shared, logger: testLogger, environment: environment))
    }

    @Test("a task without secret references cannot print the registration token, the session token, any variable the env provider could serve, or an extra held value")
    func heldValuesAreMasked() async throws {
        var env = try TestEnvironment()
        defer { env.remove() }
        let registration = Self.canary("registration")
        let other = Self.canary("other-target")
        let keyed = Self.canary("keyed")
        let extra = Self.canary("admin")
        env.configuration.registrationToken = registration
        env.configuration.secrets = SecretSet(providers: [
            try Self.envProvider(
                ["OUTPOST_SECRET_OTHER": other, "OUTPOST_SECRET_DB": #"{"PASSWORD": "\#(keyed)"}"#, "PATH": "/usr/bin:/bin"],
                prefix: "OUTPOST_SECRET_")
        ])
        env.configuration.maskedValues = [NamedSecretValue(name: "admin token", value: extra)]
        env.configuration.name = "test-agent-01"
        let hub = FakeHub()
        let agent = AgentDaemon(configuration: env.configuration, hub: hub, environment: env.inheritedEnvironment, logger: testLogger)
        // The values reach the task through its target's variables, standing in for
        // /proc/$PPID/environ, the agent's command line or a file the agent can read.
        let assignment = env.assignment(
            """
            echo "registration $A"
            echo "session $B"
            echo "other $C"
            echo "json $D"
            echo "admin $E"
            echo "path $PATH_COPY"
            """,
            env: ["A": registration, "B": FakeHub.token(1), "C": other, "D": keyed, "E": extra,
                "PATH_COPY": "/usr/bin:/bin"])
        hub.enqueue(assignment)

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run

        let log = String(decoding: hub.state.value.logs[assignment.taskID] ?? [], as: UTF8.self)
        for secret in [registration, FakeHub.token(1), other, keyed, extra] {
            expectAbsent(secret, in: log, "the task's log")
        }
        for line in ["registration [SECURE]", "session [SECURE]", "other [SECURE]", "json [SECURE]", "admin [SECURE]"] {
            expectIn(log, line + "\n")
        }
        // The env provider's non-secret neighbours stay readable.
        expectIn(log, "path /usr/bin:/bin\n")
    }

    @Test("the env provider holds every variable under its prefix, or without one every variable but the well-known harmless ones")
    func envProviderHeldValues() throws {
        let environment = [
            "OUTPOST_SECRET_A": "value-a", "OUTPOST_SECRET_B": "value-b", "DATABASE_URL": "postgres://u:p@h/db",
            "PATH": "/usr/bin", "HOME": "/root", "LC_ALL": "C.UTF-8",
        ]
        let withPrefix = try Self.envProvider(environment, prefix: "OUTPOST_SECRET_").heldValues
        #expect(withPrefix.map(\.name) == ["env:OUTPOST_SECRET_A", "env:OUTPOST_SECRET_B"])
        let withoutPrefix = try Self.envProvider(environment, prefix: nil).heldValues
        #expect(withoutPrefix.map(\.name) == ["env:DATABASE_URL", "env:OUTPOST_SECRET_A", "env:OUTPOST_SECRET_B"])
    }

    @Test("the command line's address range is read from /proc/self/stat, whatever the command name holds")
    func argumentRangeParsing() throws {
        // 52 fields; the command name holds spaces and a parenthesis.
        var fields = (3...52).map(String.init)
        fields[45] = "140737488347000"
        fields[46] = "140737488347100"
        let stat = "4242 (out (x) post) " + fields.joined(separator: " ")
        let range = try #require(ProcessHardening.argumentRange(stat: stat))
        #expect(range.0 == 140_737_488_347_000)
        #expect(range.1 == 140_737_488_347_100)
        #expect(ProcessHardening.argumentRange(stat: "1 (short) S 0") == nil)
        // This process's own range is readable and not empty.
        let own = try #require(ProcessHardening.argumentRange())
        #expect(own.1 > own.0)
    }
}

/// `text` holds `needle`; a failure names the needle only, never the text (it may hold secrets).
private func expectIn(
    _ text: String, _ needle: String, _ place: String = "the log", present: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if text.contains(needle) != present {
        Issue.record("\(place) \(present ? "lacks" : "holds") \"\(needle)\"", sourceLocation: sourceLocation)
    }
}
