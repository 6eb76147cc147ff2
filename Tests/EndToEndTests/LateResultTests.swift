import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// An agent stopped (SIGSTOP) past its heartbeat timeout, then resumed.
@Suite("Late results", .serialized)
struct LateResultEndToEndTests {
    @Test("an agent resumed after its task was marked lost delivers the rest of the log and the exit code, flagged late")
    func stoppedAgentReportsLate() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "2s")
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "paused-agent-1")
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let ended = cluster.directory.file("script-ended")
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "echo begun; sleep 3; echo after; touch \(ended); exit 5"))
        #expect(
            await eventually(timeout: .seconds(30)) { ((try? await cluster.client.task(id: task.id).logBytes) ?? 0) == 6 })

        agent.process.signal(SIGSTOP)
        let lost = try await cluster.waitForTask(task.id, timeout: .seconds(30))
        #expect(lost.status == .lost)
        #expect(lost.lateStatus == nil)
        // The script runs on while its agent is stopped; resume the agent after it ended.
        #expect(await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: ended) })
        agent.process.signal(SIGCONT)

        #expect(
            await eventually(timeout: .seconds(60)) { (try? await cluster.client.task(id: task.id).lateStatus) != nil })
        let late = try await cluster.client.task(id: task.id)
        #expect(late.status == .lost)
        #expect(late.lateStatus == .failed)
        #expect(late.lateExitCode == 5)
        #expect(late.lateLogOffset == 6)
        #expect(late.lateFinishedAt != nil)
        let log = try await cluster.client.readLog(taskID: task.id)
        #expect(String(decoding: log.bytes, as: UTF8.self) == "begun\nafter\n")

        let shown = try await cluster.cli(["task", "get", task.id])
        #expect(shown.code == 0)
        #expect(shown.stdout.contains("status:     lost"))
        #expect(shown.stdout.contains("late:       failed, exit code 5"), "\(shown.stdout)")
    }
}
