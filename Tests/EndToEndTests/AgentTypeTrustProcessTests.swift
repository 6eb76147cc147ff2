import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Issue 11, finding 4, with real processes: a low-trust pool's token does not buy
/// production work, and a pinned target runs only on its agent type.
@Suite("Agent type trust (processes)", .serialized)
struct AgentTypeTrustProcessTests {
    @Test("a rogue agent of a low-trust type exits non-zero; the pinned target's tasks all run on its own type")
    func rogueAndPinned() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        func createType(_ arguments: [String]) async throws -> String {
            let created = try await cluster.cli(["agent-type", "create"] + arguments)
            #expect(created.code == 0, "\(created.stderr)")
            return try #require(created.stdout.split(separator: "\n").last.map(String.init))
        }
        let prodToken = try await createType(["prod-eu", "--allowed-tags", "sec,team-*"])
        let devToken = try await createType(["dev", "--allowed-tags", "dev-*"])
        let stagingToken = try await createType(["staging", "--allowed-tags", "sec"])
        let listed = try await cluster.cli(["agent-type", "list"])
        #expect(listed.stdout.contains("sec,team-*"), "\(listed.stdout)")

        // The hostile tester's registration: the dev pool's token, the production tag.
        let rogue = try AgentHarness(
            hub: cluster.hub.url, registrationToken: devToken, name: "rogue-dev-agent",
            workDirectory: cluster.directory.file("rogue"), tags: "sec")
        defer { rogue.process.signal(SIGKILL) }
        let code = await rogue.process.waitForExit(timeout: .seconds(30))
        #expect(code != nil && code != 0, "stderr:\n\(rogue.process.stderr)")

        let owner = try AgentHarness(
            hub: cluster.hub.url, registrationToken: prodToken, name: "prod-sec-agent",
            workDirectory: cluster.directory.file("owner"), tags: "sec")
        defer { owner.process.signal(SIGKILL) }
        try await owner.waitUntilOnline(cluster.client)
        // Same tags, other type: allowed to register, never given the pinned target.
        let impostor = try AgentHarness(
            hub: cluster.hub.url, registrationToken: stagingToken, name: "staging-sec-agent",
            workDirectory: cluster.directory.file("impostor"), tags: "sec")
        defer { impostor.process.signal(SIGKILL) }
        try await impostor.waitUntilOnline(cluster.client)

        let target = try await cluster.cli(["target", "create", "sec-db", "--tags", "sec", "--agent-type", "prod-eu"])
        #expect(target.code == 0, "\(target.stderr)")
        let shown = try await cluster.cli(["target", "get", "sec-db"])
        #expect(shown.stdout.contains("agent types:  prod-eu"), "\(shown.stdout)")

        var ids: [String] = []
        for _ in 0..<4 {
            ids.append(try await cluster.client.createTask(CreateTaskRequest(target: "sec-db", script: "echo ran")).id)
        }
        for id in ids {
            let done = try await cluster.waitForTask(id)
            #expect(done.status == .succeeded)
            #expect(done.agent == "prod-sec-agent", "task \(id) ran on \(done.agent ?? "nobody")")
        }
        let agents = try await cluster.client.listAgents(includeOffline: true)
        #expect(!agents.contains { $0.name == "rogue-dev-agent" })

        // Opening the dev type is an admin's decision, and it takes effect for the next registration.
        let opened = try await cluster.cli(["agent-type", "set", "dev", "--allowed-tags", "dev-*,sec"])
        #expect(opened.code == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("now allows tags matching dev-*,sec"), "\(opened.stdout)")
        let bad = try await cluster.cli(["agent-type", "set", "dev", "--allowed-tags", "se c"])
        #expect(bad.code == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("allowed tag \"se c\""), "\(bad.stderr)")
    }
}
