import Foundation
import Logging
@testable import OutpostAgent
import OutpostCore
import OutpostTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A restarted agent ends the process trees of tasks it no longer owns, and only those.
@Suite("Leftover processes")
struct LeftoverProcessTests {
    /// Starts `sleep` in its own session, like a task, with `OUTPOST_TASK_ID` set when given.
    func startSleeper(taskID: String?, in env: TestEnvironment) throws -> (LaunchedProcess, UInt64) {
        var environment = ["PATH": TaskWorkspace.defaultPath]
        if let taskID { environment["OUTPOST_TASK_ID"] = taskID }
        let launched = try ProcessLauncher.launch(
            LaunchRequest(
                executable: "/bin/sh", arguments: ["-c", "sleep 1000 & exec sleep 1000"], environment: environment,
                workingDirectory: env.scratch, standardInput: nil))
        close(launched.outputFD)
        let start = try #require(ProcStat.read(pid: launched.pid)?.startTime)
        return (launched, start)
    }

    func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    @Test("at start-up the process group of a recorded task is killed and its record deleted")
    func killsRecordedTree() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let taskID = Identifiers.make(prefix: "tsk")
        let (launched, start) = try startSleeper(taskID: taskID, in: env)
        let record = RunningTaskRecord(taskID: taskID, pid: launched.pid, startTime: start)
        try LeftoverProcesses.record(record, in: env.paths.running)
        // The background `sleep` is the leader's child, in the same session.
        #expect(await eventually { ProcStat.allPIDs().contains { ProcStat.read(pid: $0)?.session == launched.pid && $0 != launched.pid } })
        let members = ProcStat.allPIDs().filter { ProcStat.read(pid: $0)?.session == launched.pid }

        env.paths.cleanUpLeftovers(logger: testLogger)
        reap(launched.pid)
        #expect(members.count == 2)
        #expect(await eventually { members.allSatisfy(isGone) })
        #expect(!FileManager.default.fileExists(atPath: "\(env.paths.running)/\(taskID).json"))
    }

    @Test("a record whose pid now belongs to another process (other start time, no task marker) kills nothing")
    func reusedPidIsSpared() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let (launched, start) = try startSleeper(taskID: nil, in: env)
        defer {
            kill(-launched.pid, SIGKILL)
            reap(launched.pid)
        }
        let record = RunningTaskRecord(taskID: Identifiers.make(prefix: "tsk"), pid: launched.pid, startTime: start &- 1)
        try LeftoverProcesses.record(record, in: env.paths.running)
        env.paths.cleanUpLeftovers(logger: testLogger)
        #expect(!isGone(launched.pid))
        #expect(!FileManager.default.fileExists(atPath: "\(env.paths.running)/\(record.taskID).json"))
    }

    @Test("a record is written whole under its final name; a half-written one is removed at start-up")
    func recordFiles() throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let record = RunningTaskRecord(taskID: Identifiers.make(prefix: "tsk"), pid: 999_999, startTime: 1)
        try LeftoverProcesses.record(record, in: env.paths.running)
        let written = try #require(FileManager.default.contents(atPath: "\(env.paths.running)/\(record.taskID).json"))
        #expect(try JSONDecoder().decode(RunningTaskRecord.self, from: written) == record)
        #expect(try FileManager.default.contentsOfDirectory(atPath: env.paths.running) == ["\(record.taskID).json"])

        // An agent killed between write and rename leaves only the temporary file.
        let stale = "\(env.paths.running)/.tsk_stale.json.tmp"
        FileManager.default.createFile(atPath: stale, contents: Data("{\"task_id\":".utf8))
        env.paths.cleanUpLeftovers(logger: testLogger)
        #expect(try FileManager.default.contentsOfDirectory(atPath: env.paths.running).isEmpty)
    }

    @Test("/proc/PID/stat is parsed after the last parenthesis of the command name")
    func procStatParsing() {
        let line = "4242 (we ird) (name) S 1 4240 4239 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
        let stat = ProcStat.parse(line)
        #expect(stat == ProcStat(pid: 4242, state: "S", processGroup: 4240, session: 4239, startTime: 987654))
        #expect(ProcStat.parse("garbage") == nil)
        // Cut short before the start time (field 22): refused, not misread.
        #expect(ProcStat.parse("4242 (sh) S 1 4240 4239 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0") == nil)
        #expect(ProcStat.parse("4242 (sh) S 1 x 4239 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1") == nil)
        // This very process, read from /proc.
        let own = ProcStat.read(pid: getpid())
        #expect(own?.pid == getpid())
        #expect(own?.session == getsid(0))
        #expect(own?.processGroup == getpgrp())
    }
}
