import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// A hub that itself stops running for a while (SIGSTOP, a frozen VM) heard no
/// heartbeats because it was not listening, not because its agents went silent.
@Suite("A paused hub", .serialized)
struct HubPauseTests {
    // Three rounds: before the fix the resumed sweeper raced the agents' queued
    // polls and lost tasks in most rounds, not in every one.
    @Test(
        "a hub stopped past the heartbeat timeout does not lose the tasks of agents that kept trying",
        arguments: 1...3)
    func pausedHubKeepsTasks(round: Int) async throws {
        let cluster = try await Cluster(heartbeatTimeout: "3s")
        defer { cluster.terminate() }
        for i in 1...3 { try await cluster.startAgent(name: "patient-agent-\(i)") }
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        var ids: [String] = []
        for i in 1...3 {
            ids.append(
                try await cluster.client.createTask(
                    CreateTaskRequest(target: "t", script: "echo begun \(i); sleep 6; echo done \(i)")
                ).id)
        }
        for id in ids {
            #expect(
                await eventually(timeout: .seconds(30)) { (try? await cluster.client.task(id: id).logBytes) ?? 0 > 0 })
        }

        cluster.hub.process.signal(SIGSTOP)
        // The pause is the scenario, not a synchronisation: the hub is frozen past its heartbeat timeout.
        try await Task.sleep(for: .seconds(5))
        cluster.hub.process.signal(SIGCONT)

        for (i, id) in ids.enumerated() {
            let done = try await cluster.waitForTask(id, timeout: .seconds(30))
            #expect(done.status == .succeeded, "round \(round), task \(i + 1): \(done.status) — \(done.error ?? "")")
            let log = try await cluster.client.readLog(taskID: id)
            #expect(String(decoding: log.bytes, as: UTF8.self) == "begun \(i + 1)\ndone \(i + 1)\n")
        }
    }
}
