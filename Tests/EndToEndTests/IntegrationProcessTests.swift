import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Integrations through real `outpost` processes: the agent's config file adds
/// one, `outpost integrations` lists it, and a task runs with it.
@Suite("Integrations (processes)", .serialized)
struct IntegrationProcessTests {
    @Test("a configured integration is listed by outpost integrations and runs tasks; a missing program is a rejection")
    func configuredIntegration() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let config = cluster.directory.file("agent.yaml")
        try """
            integrations:
              - name: shout
                program: tr
                arguments: ["a-z", "A-Z"]
                script: stdin
                summary: the script, upper-cased
              - name: cobol
                program: cobc-not-installed
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let listed = try await cluster.cli(["integrations", "--config-file", config])
        #expect(listed.code == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("shout"))
        #expect(listed.stdout.contains("missing cobc-not-installed"))
        #expect(listed.stdout.contains("postgres"))

        try await cluster.startAgent(name: "integrations-1", arguments: ["--config-file", config])
        _ = try await cluster.client.createTarget(Target(name: "loud", integration: "shout"))
        _ = try await cluster.client.createTarget(Target(name: "old", integration: "cobol"))

        let run = try await cluster.cli(["task", "run", "loud", "--script", "hello outpost"])
        #expect(run.code == 0, "\(run.stderr)")
        #expect(run.stdout == "HELLO OUTPOST")

        let rejected = try await cluster.cli(["task", "run", "old", "--script", "DISPLAY 'HI'."])
        #expect(rejected.code == 125)
        #expect(rejected.stderr.contains("integration cobol needs `cobc-not-installed` on the agent's PATH"))
    }
}
