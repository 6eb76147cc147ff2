import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The agent's work directory (by default one per agent name, see `claim`):
///
/// ```
/// <work-dir>/agent.lock        held while the agent runs (one agent per directory)
/// <work-dir>/tasks/<id>/       a task's fresh working directory
/// <work-dir>/spool/<id>.log    a task's masked log until the hub acknowledged it
/// <work-dir>/running/<id>.json a running task's process record
/// <work-dir>/identity.key      the agent's P-256 key for client certificates (0600, kept)
/// ```
struct WorkDirectory: Sendable {
    let root: String
    var tasks: String { "\(root)/tasks" }
    var spool: String { "\(root)/spool" }
    var running: String { "\(root)/running" }
    /// The agent's own key (`AgentKey`); not a leftover, so restarts keep it.
    var identityKey: String { "\(root)/identity.key" }
    /// The nonces of signed tasks accepted here, kept until they expire (`NonceJournal`).
    var signedTaskNonces: String { "\(root)/signed-task-nonces" }

    /// `path` made absolute against the current directory (tasks run elsewhere).
    init(path: String) {
        if path.hasPrefix("/") {
            root = path
        } else {
            let cwd = FileManager.default.currentDirectoryPath
            root = path == "." ? cwd : "\(cwd)/\(path.hasPrefix("./") ? String(path.dropFirst(2)) : path)"
        }
    }

    /// Creates the layout and takes the lock. With `runAs`, the root and `tasks/` are
    /// 0711 so that user can reach its task directory (but list nothing); `spool/` and
    /// `running/` stay 0700.
    /// - Returns: the lock's file descriptor; closing it releases the lock.
    /// - Throws: `AgentError(.workDirectory)` when it cannot be created or another agent holds it.
    func prepare(runAs: TaskIdentity? = nil) throws(AgentError) -> Int32 {
        guard let fd = try prepareUnlessTaken(runAs: runAs) else {
            throw AgentError(
                .workDirectory,
                "another agent is using the work directory \(root); give each agent its own --work-dir, "
                    + "or leave work_dir unset so that each agent gets ./outpost-agent/NAME")
        }
        return fd
    }

    /// `prepare`, but `nil` instead of an error when another agent holds the lock.
    func prepareUnlessTaken(runAs: TaskIdentity? = nil) throws(AgentError) -> Int32? {
        do {
            for directory in [root, tasks, spool, running] {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if runAs != nil {
                    // Also on a directory that existed: tasks of another user must reach theirs, nothing more.
                    let traversable = directory == root || directory == tasks
                    try FileManager.default.setAttributes(
                        [.posixPermissions: traversable ? 0o711 : 0o700], ofItemAtPath: directory)
                }
            }
        } catch {
            throw AgentError(
                .workDirectory, "cannot create the work directory \(root): \(error); choose another with --work-dir",
                underlying: error)
        }
        let lockPath = "\(root)/agent.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError(.workDirectory, "cannot open \(lockPath): \(GlibcExtras.errnoText(errno))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The work directory of an agent whose `work_dir` is a parent shared by every agent
    /// of the host (`workDirectoryPerAgent`), as Buildkite keeps a build path per agent name:
    /// `<parent>/<name>` for a named agent, so a restarted agent finds what its last run
    /// left; for an agent without a configured name (random or hub-assigned), the first
    /// free of `<parent>/unnamed/1`, `2`, ... (`unnamed` is too short to be an agent name,
    /// and a restart takes the same slot again when it runs alone).
    /// - Returns: the directory and its lock's file descriptor.
    /// - Throws: `AgentError(.workDirectory)` as `prepare` does, or when the named agent's
    ///   directory is held (an agent of that name already runs here).
    static func claim(parent: String, name: String?, runAs: TaskIdentity?) throws(AgentError) -> (WorkDirectory, Int32) {
        let base = WorkDirectory(path: parent).root
        if let name {
            let directory = WorkDirectory(path: "\(base)/\(name)")
            try makeTraversable([base], for: runAs)
            guard let fd = try directory.prepareUnlessTaken(runAs: runAs) else {
                throw AgentError(
                    .workDirectory,
                    "another agent named \(name) is using the work directory \(directory.root); give this one another --name")
            }
            return (directory, fd)
        }
        try makeTraversable([base, "\(base)/unnamed"], for: runAs)
        for slot in 1...maxUnnamedSlots {
            let directory = WorkDirectory(path: "\(base)/unnamed/\(slot)")
            if let fd = try directory.prepareUnlessTaken(runAs: runAs) { return (directory, fd) }
        }
        throw AgentError(
            .workDirectory, "all \(maxUnnamedSlots) work directories under \(base)/unnamed are in use; give agents names or --work-dir")
    }

    static let maxUnnamedSlots = 1000

    /// With `runAs`, the parents of agents' work directories must let that user through (0711).
    private static func makeTraversable(_ directories: [String], for runAs: TaskIdentity?) throws(AgentError) {
        do {
            for directory in directories {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if runAs != nil { try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: directory) }
            }
        } catch {
            throw AgentError(
                .workDirectory, "cannot create the work directory \(directories.last ?? ""): \(error); choose another with --work-dir",
                underlying: error)
        }
    }

    /// At start-up: ends leftover process trees of an earlier run and deletes
    /// its task directories and spools (those tasks are no longer ours; the hub
    /// marks them lost).
    func cleanUpLeftovers(logger: Logger) {
        LeftoverProcesses.reap(directory: running, logger: logger)
        for directory in [tasks, spool] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
            }
        }
    }
}
