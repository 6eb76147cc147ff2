import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A task's fresh working directory, `tasks/<task-id>/`, with the script file
/// (mode 0600) and a private `tmp/`. Removed after the run.
struct TaskWorkspace: Sendable {
    let directory: String
    let temporaryDirectory: String
    let scriptPath: String

    /// Creates the directory anew (anything left from an earlier attempt is removed first).
    static func create(root: String, taskID: String, scriptFileName: String, script: String) throws(AgentError) -> TaskWorkspace {
        let directory = "\(root)/\(taskID)"
        let workspace = TaskWorkspace(
            directory: directory, temporaryDirectory: "\(directory)/tmp", scriptPath: "\(directory)/\(scriptFileName)")
        workspace.remove()
        let manager = FileManager.default
        do {
            try manager.createDirectory(
                atPath: workspace.temporaryDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw AgentError(.workDirectory, "cannot create the task directory \(directory): \(error)", underlying: error)
        }
        try workspace.writePrivateFile(at: workspace.scriptPath, Array(script.utf8))
        return workspace
    }

    /// Where an integration's files go (created on the first one).
    var filesDirectory: String { "\(directory)/files" }

    /// Writes a new file readable by the agent's user only (0600); a file already
    /// there is an error, never overwritten.
    func writePrivateFile(at path: String, _ bytes: [UInt8]) throws(AgentError) {
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        if parent != directory, !FileManager.default.fileExists(atPath: parent) {
            guard mkdir(parent, 0o700) == 0 || errno == EEXIST else {
                throw AgentError(.workDirectory, "cannot create \(parent): \(GlibcExtras.errnoText(errno))")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError(.workDirectory, "cannot write \(path): \(GlibcExtras.errnoText(errno))")
        }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw AgentError(.workDirectory, "cannot write \(path): \(GlibcExtras.errnoText(errno))")
            }
            written += n
        }
    }

    /// Gives the task directory and everything in it (script, `tmp/`, credential files)
    /// to the `run_as` user, keeping their modes (0700/0600): readable by that user and
    /// the agent's root only. Links are changed themselves, never what they point to.
    func handOver(to identity: TaskIdentity) throws(AgentError) {
        var paths = [directory]
        if let enumerator = FileManager.default.enumerator(atPath: directory) {
            while let relative = enumerator.nextObject() as? String { paths.append("\(directory)/\(relative)") }
        }
        for path in paths where lchown(path, identity.uid, identity.gid) != 0 {
            throw AgentError(
                .workDirectory, "cannot give \(path) to the run_as user \(identity.user): \(GlibcExtras.errnoText(errno))")
        }
    }

    /// Deletes the directory and everything the task left in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The task's whole environment, built from nothing: PATH, HOME and LANG
    /// (the agent's values, or defaults), TMPDIR, the integration's and the
    /// target's variables, resolved secrets, and `OUTPOST_TASK_ID`. Nothing
    /// else of the agent's environment — in particular none of its tokens —
    /// reaches the task.
    static func environment(
        taskID: String,
        temporaryDirectory: String,
        inherited: [String: String],
        integration: [String: String],
        target: [String: String],
        secrets: [String: String]
    ) -> [String: String] {
        var environment: [String: String] = [
            "PATH": inherited["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath,
            "HOME": inherited["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? temporaryDirectory,
            "LANG": inherited["LANG"].flatMap { $0.isEmpty ? nil : $0 } ?? "C.UTF-8",
            "TMPDIR": temporaryDirectory,
        ]
        environment.merge(integration) { _, new in new }
        environment.merge(target) { _, new in new }
        environment.merge(secrets) { _, new in new }
        environment["OUTPOST_TASK_ID"] = taskID
        return environment
    }

    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Task ids become path components: accept only what the hub generates.
    static func isSafeTaskID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id != "." && id != ".."
            && id.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
    }
}
