import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Agents and hubs dying mid-task.
@Suite("Failures", .serialized)
struct FailureTests {
    @Test("an agent SIGKILLed mid-task leaves its task lost; a restarted agent ends the orphaned processes")
    func killedAgentLosesTask() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "2s")
        defer { cluster.terminate() }
        let workDir = cluster.directory.file("shared-work-dir")
        let agent = try await cluster.startAgent(name: "doomed-agent-1", workDirectory: workDir)
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let pidFile = cluster.directory.file("orphan-pids")
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "echo $$ > \(pidFile); echo begun; sleep 600"))
        #expect(await eventually(timeout: .seconds(30)) { (try? await cluster.client.task(id: task.id).status) == .running })
        #expect(await eventually(timeout: .seconds(10)) { TeardownTests.pids(in: pidFile).count == 1 })
        let orphan = try #require(TeardownTests.pids(in: pidFile).first)

        await agent.process.kill9()
        let done = try await cluster.waitForTask(task.id, timeout: .seconds(30))
        #expect(done.status == .lost)
        #expect(done.error?.contains("doomed-agent-1") == true)
        let run = try await cluster.cli(["task", "get", task.id, "--json"])
        #expect(run.code == 0)
        #expect(run.stdout.contains("\"lost\""))

        // SIGKILL gave the agent no chance to stop its task: the script lives on,
        // until an agent starts again on the same work directory.
        #expect(processIsAlive(orphan))
        try await cluster.startAgent(name: "doomed-agent-2", workDirectory: workDir)
        #expect(await eventually(timeout: .seconds(10)) { !processIsAlive(orphan) })
    }

    @Test("the hub SIGKILLed and restarted mid-task still gets the whole log, byte-identical, and the exit code")
    func hubRestartKeepsLog() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "10s")
        defer { cluster.terminate() }
        try await cluster.startAgent(name: "steady-agent-1")
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let (script, expected) = Self.numberedLines()
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: script))
        #expect(await eventually(timeout: .seconds(30)) { ((try? await cluster.client.task(id: task.id).logBytes) ?? 0) > 0 })
        try await cluster.hub.killAndRestart()

        let done = try await cluster.waitForTask(task.id, timeout: .seconds(60))
        #expect(done.status == .failed)
        #expect(done.exitCode == 7)
        let log = try await cluster.client.readLog(taskID: task.id)
        #expect(String(decoding: log.bytes, as: UTF8.self) == expected)
    }

    @Test("`outpost task run` across a hub SIGKILL and restart prints the whole log once and exits with the task's code")
    func taskRunRidesOutHubRestart() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "10s")
        defer { cluster.terminate() }
        try await cluster.startAgent(name: "steady-agent-2")
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let (script, expected) = Self.numberedLines()
        // The run's one stream breaks with the hub; the CLI resumes at the byte it reached.
        let run = try ChildProcess(
            ["task", "run", "t", "--script", script],
            environment: ChildProcess.baseEnvironment(["OUTPOST_HUB": cluster.hub.url, "OUTPOST_TOKEN": cluster.hub.adminToken]))
        run.closeStdin()
        #expect(await eventually(timeout: .seconds(30)) { run.stdout.contains("line 0003") })
        try await cluster.hub.killAndRestart()
        let code = await run.waitForExit(timeout: .seconds(90))
        if code == nil { await run.kill9() }
        #expect(code == 7, "stderr: \(run.stderr)")
        #expect(run.stdout == expected)
    }

    /// About 3 seconds of numbered lines, some long, then exit 7; and the log it writes.
    private static func numberedLines() -> (script: String, log: String) {
        let script = """
            for i in $(seq 1 60); do
              printf 'line %04d %s\\n' "$i" "$(printf 'x%.0s' $(seq 1 $((i * 7))))"
              sleep 0.05
            done
            exit 7
            """
        var expected = ""
        for i in 1...60 {
            expected += String(format: "line %04d %@\n", i, String(repeating: "x", count: i * 7))
        }
        return (script, expected)
    }
}
