import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Cancel and timeout leave no process of the task behind.
@Suite("Stopping tasks", .serialized)
struct TeardownTests {
    /// A script that starts a TERM-ignoring child and grandchild, records every pid,
    /// and then waits forever.
    static func stubbornScript(pidFile: String) -> String {
        """
        trap '' TERM
        (trap '' TERM; sleep 1000) &
        echo $! >> \(pidFile)
        sh -c 'trap "" TERM; sleep 1000' &
        echo $! >> \(pidFile)
        echo $$ >> \(pidFile)
        echo started
        while true; do sleep 1; done
        """
    }

    static func pids(in file: String) -> [Int32] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    @Test("cancel stops a running task, including children that ignore SIGTERM")
    func cancelLeavesNothing() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        try await cluster.startAgent(name: "cancel-agent-1", arguments: ["--kill-grace", "1s"])
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let pidFile = cluster.directory.file("cancel-pids")

        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: Self.stubbornScript(pidFile: pidFile)))
        #expect(await eventually(timeout: .seconds(30)) { Self.pids(in: pidFile).count == 3 })
        let pids = Self.pids(in: pidFile)
        #expect(pids.allSatisfy(processIsAlive))

        _ = try await cluster.client.cancelTask(id: task.id)
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .cancelled)
        #expect(await eventually(timeout: .seconds(10)) { !pids.contains(where: processIsAlive) }, "survivors: \(pids.filter(processIsAlive))")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        #expect(log.contains("started"))

        // The CLI reports it with its one line and exit code 130.
        let get = try await cluster.cli(["task", "get", task.id])
        #expect(get.stdout.contains("cancelled"))
    }

    @Test("a task past its timeout is stopped, reported timed_out, and the CLI exits 124")
    func timeoutLeavesNothing() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        try await cluster.startAgent(name: "timeout-agent-1", arguments: ["--kill-grace", "1s"])
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let pidFile = cluster.directory.file("timeout-pids")

        let run = try await cluster.cli(["task", "run", "t", "--timeout", "2s", "--script", Self.stubbornScript(pidFile: pidFile)])
        #expect(run.code == 124, "stderr: \(run.stderr)")
        #expect(run.stdout.contains("started"))
        #expect(run.stderr.contains("timed_out"))
        let pids = Self.pids(in: pidFile)
        #expect(pids.count == 3)
        #expect(await eventually(timeout: .seconds(10)) { !pids.contains(where: processIsAlive) }, "survivors: \(pids.filter(processIsAlive))")
    }
}
