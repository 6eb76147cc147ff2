import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// An agent given several hub URLs (`--hub URL --hub URL`), with real processes.
///
/// Hub replicas sharing one PostgreSQL database cannot run here yet, and two hubs
/// cannot share SQLite; so a dead replica is a port that refuses every connection,
/// or a relay to the real hub that the test cuts, and the live one the real hub.
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

    @Test("an agent whose replica dies mid-task moves to the next URL within seconds, keeps its task and session, and delivers the log byte-identical")
    func replicaDiesMidTask() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "10s")
        defer { cluster.terminate() }
        let hubPort = try #require(cluster.hub.url.split(separator: ":").last.flatMap { Int($0) })
        let relay = try TCPRelay(upstreamPort: hubPort)
        let agent = try await cluster.startAgent(name: "failover-agent-2", hubURLs: [relay.url, cluster.hub.url])
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        // ~3 seconds of numbered lines, some long, then exit 7.
        let script = """
            for i in $(seq 1 60); do
              printf 'line %04d %s\\n' "$i" "$(printf 'x%.0s' $(seq 1 $((i * 7))))"
              sleep 0.05
            done
            exit 7
            """
        let expected = (1...60).map { String(format: "line %04d %@\n", $0, String(repeating: "x", count: $0 * 7)) }.joined()
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: script))
        #expect(await eventually(timeout: .seconds(30)) { ((try? await cluster.client.task(id: task.id).logBytes) ?? 0) > 0 })
        #expect(!agent.process.stderr.contains("switched from the hub"))

        relay.cut()
        let switched = "switched from the hub at \(relay.url) to its replica at \(cluster.hub.url)"
        #expect(await eventually(timeout: .seconds(10)) { agent.process.stderr.contains(switched) }, "\(agent.process.stderr)")
        let done = try await cluster.waitForTask(task.id, timeout: .seconds(60))
        #expect(done.status == .failed)
        #expect(done.exitCode == 7)
        #expect(done.agent == "failover-agent-2")
        let log = try await cluster.client.readLog(taskID: task.id)
        #expect(String(decoding: log.bytes, as: UTF8.self) == expected)
        // The session went on: one registration, no lost task.
        #expect(agent.process.stderr.components(separatedBy: "registered with the hub").count == 2, "\(agent.process.stderr)")
        #expect(agent.process.isRunning)
    }
}
