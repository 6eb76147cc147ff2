import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the agent records about a running task so that a restarted agent can
/// end its process tree: `running/<task-id>.json`.
struct RunningTaskRecord: Codable, Sendable, Equatable {
    var taskID: String
    /// The leader's pid (= process group id = session id).
    var pid: pid_t
    /// The leader's start time in clock ticks after boot (`/proc/PID/stat` field 22).
    var startTime: UInt64

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case pid
        case startTime = "start_time"
    }

    /// The environment entry every process of the task inherits.
    var environmentMarker: String { "OUTPOST_TASK_ID=\(taskID)" }
}

/// Finds and kills processes of tasks the agent no longer owns.
enum LeftoverProcesses {
    /// Writes the record of a just-started task: to a temporary name, then
    /// renamed into place, so a reader never sees half a record.
    ///
    /// Not fsync'd: the record exists for a crash or kill of the agent, which
    /// leaves the page cache intact; after a power loss no process is left to
    /// end. (An fsync here cost about half a millisecond on every task start.)
    static func record(_ record: RunningTaskRecord, in directory: String) throws(AgentError) {
        let path = "\(directory)/\(record.taskID).json"
        let temporary = "\(directory)/.\(record.taskID).json.tmp"
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(record))
        } catch {
            throw AgentError(.workDirectory, "cannot encode the process record of \(record.taskID): \(error)", underlying: error)
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AgentError(.workDirectory, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let failure = written == bytes.count ? nil : String(cString: strerror(errno))
        close(fd)
        guard failure == nil, rename(temporary, path) == 0 else {
            let reason = failure ?? String(cString: strerror(errno))
            unlink(temporary)
            throw AgentError(.workDirectory, "cannot write \(path): \(reason)")
        }
    }

    static func removeRecord(taskID: String, in directory: String) {
        unlink("\(directory)/\(taskID).json")
    }

    /// Where to look for a task's processes.
    enum Scope {
        /// The agent's own process tree, when it adopts orphans (`OrphanAdoption`):
        /// a task's every leftover is there, so no other process is read. Else the machine.
        case ownTree
        /// Every process on the machine: what an earlier run of the agent left (its
        /// orphans went to init, not to this process).
        case machine
    }

    /// SIGKILLs every process that belongs to the task: members of its session
    /// while its leader is verifiably the same process, and any process that carries
    /// the task's `OUTPOST_TASK_ID` and started no earlier than the leader (that
    /// catches descendants that left the session), looking where `scope` says.
    /// (Adopted orphans it kills are reaped by `OrphanReaper`.)
    /// - Returns: how many processes were signalled.
    @discardableResult
    static func killProcesses(of record: RunningTaskRecord, scope: Scope = .ownTree, excluding: Set<pid_t> = []) -> Int {
        let leader = ProcStat.read(pid: record.pid)
        let leaderIsOurs = leader?.startTime == record.startTime
        let candidates = scope == .ownTree && OrphanAdoption.isActive ? OrphanAdoption.descendants() : nil
        var killed = 0
        for pid in candidates ?? ProcStat.allPIDs() where !excluding.contains(pid) && pid != getpid() {
            guard let stat = ProcStat.read(pid: pid), stat.state != "Z" else { continue }
            let inSession = leaderIsOurs && stat.session == record.pid
            let marked =
                stat.startTime >= record.startTime
                && ProcStat.environment(of: pid, contains: record.environmentMarker)
            if inSession || marked {
                if kill(pid, SIGKILL) == 0 { killed += 1 }
            }
        }
        if leaderIsOurs { _ = kill(-record.pid, SIGKILL) }
        return killed
    }

    /// At start-up: ends the process trees recorded in `directory` by an earlier
    /// run of the agent, and deletes the records.
    static func reap(directory: String, logger: Logger) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        // A record half-written when the agent died never made it to its final name.
        for name in names where name.hasSuffix(".json.tmp") { unlink("\(directory)/\(name)") }
        for name in names where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            defer { unlink(path) }
            guard let data = FileManager.default.contents(atPath: path),
                let record = try? JSONDecoder().decode(RunningTaskRecord.self, from: data)
            else {
                logger.warning("ignoring an unreadable process record \(path)")
                continue
            }
            let killed = killProcesses(of: record, scope: .machine)
            if killed > 0 {
                logger.notice(
                    "killed \(killed) leftover process(es) of task \(record.taskID) from an earlier run of this agent")
            }
        }
    }
}
