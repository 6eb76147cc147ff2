import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// An agent given several hub URLs (`--hub URL --hub URL`), with real processes.
///
/// Hub replicas sharing one PostgreSQL database cannot run here yet, and two hubs
/// cannot share SQLite; so the dead replica is a port that refuses every connection,
/// and the live one a real hub.
@Suite("Agents with several hub URLs", .serialized)
struct HubFailoverTests {
    @Test("an agent whose first hub URL refuses connections registers through the next, says so once, and runs a task")
    func deadFirstURL() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let refusing = try RefusingPort()
        let agent = try await cluster.startAgent(name: "failover-agent-1", hubURLs: [refusing.url, cluster.hub.url])

        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "for i in 1 2 3; do echo \"line $i\"; done"))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded)
        #expect(done.agent == "failover-agent-1")
        let log = try await cluster.client.readLog(taskID: task.id)
        #expect(String(decoding: log.bytes, as: UTF8.self) == "line 1\nline 2\nline 3\n")

        let switches = agent.process.stderr.split(separator: "\n").filter { $0.contains("switched from the hub at") }
        #expect(switches.count == 1, "\(agent.process.stderr)")
        let line = String(switches.first ?? "")
        #expect(line.contains("notice"))
        #expect(line.contains("switched from the hub at \(refusing.url) to its replica at \(cluster.hub.url)"))
        #expect(line.contains("connection refused"))
        #expect(!agent.process.stderr.contains(cluster.registrationToken))
    }
}
