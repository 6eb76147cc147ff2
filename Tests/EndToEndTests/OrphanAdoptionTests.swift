import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `outpost agent start` is the child subreaper of its tasks: what a task leaves
/// behind is re-parented to the agent (not to init), killed when the task ends,
/// and reaped, so no zombie piles up under a long-running agent.
@Suite("The agent adopts its tasks' orphans", .serialized)
struct OrphanAdoptionTests {
    @Test("a daemonized child of a task is the agent's while the task runs, and gone, not a zombie, after it")
    func orphansAreAdoptedKilledAndReaped() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "adopting-agent")
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        // The subshell exits at once, so the new session's sleep is an orphan while the task
        // runs; the task then runs until the test, having looked, cancels it. It keeps
        // printing: the masker may hold back the pid line's tail while it could still begin
        // a masked value (the agent masks sensitive variables it inherits), and only more
        // output decides that.
        let script = #"(setsid sleep 300 & echo $! > "$PWD/orphan.pid"); sleep 0.3; cat "$PWD/orphan.pid"; while sleep 0.2; do echo .; done"#
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: script))

        var orphan: pid_t?
        #expect(
            await eventually(timeout: .seconds(30)) {
                // Only a whole line: the log may arrive cut anywhere.
                let text = String(decoding: (try? await cluster.client.readLog(taskID: task.id).bytes) ?? [], as: UTF8.self)
                orphan = text.firstIndex(of: "\n").flatMap { pid_t(text[..<$0]) }
                return orphan != nil
            })
        if orphan == nil {
            // Say where it stopped: the task's state and what the agent logged.
            let seen = try? await cluster.client.task(id: task.id)
            Issue.record(
                "no pid in the log: task \(seen?.status.rawValue ?? "?") with \(seen?.logBytes ?? 0) log bytes; agent log:\n\(agent.process.stderr.suffix(3000))"
            )
        }
        let pid = try #require(orphan)
        #expect(parent(of: pid) == agent.process.pid, "the orphan should be the agent's child while the task runs")

        _ = try await cluster.client.cancelTask(id: task.id)
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .cancelled, "\(done.status): \(done.error ?? "")")
        // Killed and reaped: not even a zombie is left.
        #expect(await eventually(timeout: .seconds(10)) { !FileManager.default.fileExists(atPath: "/proc/\(pid)") })
        #expect(await eventually(timeout: .seconds(10)) { zombieChildren(of: agent.process.pid).isEmpty })
    }
}

/// The parent pid from `/proc/PID/stat` (the field after the state, past the command's `)`).
private func parent(of pid: pid_t) -> pid_t? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? pid_t(fields[1]) : nil
}

/// Children of `pid` that are zombies.
private func zombieChildren(of pid: pid_t) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    let children = tasks.flatMap { thread -> [pid_t] in
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    return children.filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
}
