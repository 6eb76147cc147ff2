import OutpostCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The agent as a child subreaper (`PR_SET_CHILD_SUBREAPER`): a task's descendants
/// that outlive their parents (a `setsid … &`, a double-forked daemon) are re-parented
/// to the agent instead of to init. So every process a task left behind is in the
/// agent's own process tree, and the sweep after a task reads only that tree
/// (`descendants()`) instead of every process on the machine.
///
/// Adopted orphans that die become the agent's zombies; the agent reaps them
/// (`OrphanReaper`, twice a second), never a task's leader, whose exit status its runner
/// collects: leaders are registered at spawn (`launching`), under the same lock the
/// reaping takes, so a leader that exits at once is never mistaken for an orphan.
///
/// Only `outpost agent start` and `outpost dev` adopt (`adopt()`): a process that
/// also starts children of its own (a test process running an agent in-process)
/// keeps the machine-wide sweep, since reaping its children would steal their status.
enum OrphanAdoption {
    private struct State {
        var isActive = false
        /// Pids of task leaders not yet reaped by their runner.
        var leaders: Set<pid_t> = []
    }

    private static let state = Mutex(State())

    /// Makes this process the subreaper of its descendants. `false` when the kernel
    /// refuses (then the machine-wide sweep stays in use).
    @discardableResult
    static func adopt() -> Bool {
        guard let prctl = GlibcExtras.prctl, prctl(GlibcExtras.prSetChildSubreaper, 1, 0, 0, 0) == 0,
            descendants() != nil
        else { return false }
        state.withLock { $0.isActive = true }
        return true
    }

    static var isActive: Bool { state.withLock { $0.isActive } }

    /// Runs `spawn` (which returns the new leader's pid with its result) with the
    /// leader registered before any reaping can see it.
    static func launching<T>(_ spawn: () throws(AgentError) -> (T, pid_t)) throws(AgentError) -> T {
        try state.withLock { state throws(AgentError) -> T in
            let (value, pid) = try spawn()
            state.leaders.insert(pid)
            return value
        }
    }

    /// The runner collected its leader's status.
    static func leaderReaped(_ pid: pid_t) {
        _ = state.withLock { $0.leaders.remove(pid) }
    }

    /// Every process below this one, found through `/proc/PID/task/TID/children`;
    /// `nil` when the kernel does not offer that file (no `CONFIG_PROC_CHILDREN`).
    static func descendants() -> [pid_t]? {
        var found: [pid_t] = []
        var queue: [pid_t] = [getpid()]
        var isRoot = true
        while let pid = queue.popLast() {
            guard let children = children(of: pid) else {
                if isRoot { return nil }
                continue
            }
            isRoot = false
            found += children
            queue += children
        }
        return found
    }

    /// Reaps this process's zombie children that are not task leaders (adopted
    /// orphans that died). Returns how many.
    @discardableResult
    static func reapAdoptedZombies() -> Int {
        state.withLock { state -> Int in
            guard state.isActive, let children = children(of: getpid()) else { return 0 }
            var reaped = 0
            for pid in children where !state.leaders.contains(pid) {
                guard ProcStat.read(pid: pid)?.state == "Z" else { continue }
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { reaped += 1 }
            }
            return reaped
        }
    }

    /// The children of every thread of `pid`.
    private static func children(of pid: pid_t) -> [pid_t]? {
        guard let directory = opendir("/proc/\(pid)/task") else { return nil }
        defer { closedir(directory) }
        var children: [pid_t] = []
        var readAny = false
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let thread = pid_t(name), let bytes = ProcStat.readProcFile("/proc/\(pid)/task/\(thread)/children")
            else { continue }
            readAny = true
            for field in bytes.split(separator: UInt8(ascii: " ")) {
                if let child = pid_t(String(decoding: field, as: UTF8.self).trimmingSpaces()) {
                    children.append(child)
                }
            }
        }
        return readAny ? children : nil
    }
}

/// Reaps adopted orphans twice a second until cancelled: a task's sweep kills its
/// orphans, but they die a moment later, and one may die on its own while the agent
/// has no task (then no sweep would come).
struct OrphanReaper: Sendable {
    let clock: any AgentClock

    func run() async {
        while (try? await clock.sleep(for: .milliseconds(500))) != nil {
            OrphanAdoption.reapAdoptedZombies()
        }
    }
}

