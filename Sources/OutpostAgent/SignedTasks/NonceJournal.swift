import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The nonces of signed tasks this agent accepted, each kept until its signature
/// expires, on disk so that a restarted agent still refuses a replay.
///
/// Guarantee: once `claim` returned `true` for a nonce, no later `claim` of it
/// returns `true` before its expiry — also after a crash or a restart — because the
/// entry is written and flushed to disk (`fsync`) before `claim` returns.
///
/// The file has one line per nonce, `<expires unix seconds> <nonce>`. Expired lines
/// are dropped when the journal is opened and when it grows. A damaged line (other
/// than a last line cut short by a crash) stops the agent from starting: forgetting
/// nonces silently would let a captured task run again.
final class NonceJournal: Sendable {
    let path: String
    private let state: Mutex<State>

    private struct State {
        var entries: [String: Int64] = [:]
        var descriptor: Int32 = -1
        /// Lines in the file, to know when compacting is worth it.
        var lines = 0
    }

    /// Opens (or creates) the journal and drops expired entries.
    /// - Throws: `AgentError(.workDirectory)` when it cannot be read or written, or is damaged.
    init(path: String, now: Date) throws(AgentError) {
        self.path = path
        var entries: [String: Int64] = [:]
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where !line.isEmpty {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let expires = Int64(parts[0]), !parts[1].isEmpty else {
                    // A crash mid-append leaves a last line without its newline: ignore only that.
                    if index == lines.count - 1 { continue }
                    throw AgentError(
                        .workDirectory,
                        "the signed-task replay journal \(path) is damaged at line \(index + 1); move it aside to start "
                            + "(tasks signed in the last 24 hours could then run once more on this agent)")
                }
                entries[String(parts[1])] = max(expires, entries[String(parts[1])] ?? 0)
            }
        }
        let nowSeconds = Int64(now.timeIntervalSince1970)
        entries = entries.filter { $0.value > nowSeconds }
        state = Mutex(State(entries: entries))
        try state.withLock { state throws(AgentError) in try Self.rewrite(&state, path: path) }
    }

    deinit {
        state.withLock { if $0.descriptor >= 0 { close($0.descriptor) } }
    }

    /// Records `nonce` until `expires`; `false` when it is already recorded (a replay).
    /// - Throws: when the entry cannot be made durable (the task must then not run).
    func claim(_ nonce: String, until expires: Date, now: Date) throws(AgentError) -> Bool {
        try state.withLock { state throws(AgentError) -> Bool in
            let nowSeconds = Int64(now.timeIntervalSince1970)
            if let known = state.entries[nonce], known > nowSeconds { return false }
            let expiry = Int64(expires.timeIntervalSince1970.rounded(.up))
            state.entries[nonce] = expiry
            let line = Array("\(expiry) \(nonce)\n".utf8)
            let written = line.withUnsafeBytes { write(state.descriptor, $0.baseAddress, $0.count) }
            guard written == line.count, fsync(state.descriptor) == 0 else {
                state.entries[nonce] = nil
                throw AgentError(
                    .workDirectory, "cannot record a signed task's nonce in \(path): \(String(cString: strerror(errno)))")
            }
            state.lines += 1
            if state.lines > 1024, state.lines > 2 * state.entries.count {
                state.entries = state.entries.filter { $0.value > nowSeconds }
                try Self.rewrite(&state, path: path)
            }
            return true
        }
    }

    /// Nonces remembered now (for tests and logs).
    var count: Int { state.withLock { $0.entries.count } }

    /// Writes the live entries to a new file, renames it over the journal, and keeps
    /// it open for appending.
    private static func rewrite(_ state: inout State, path: String) throws(AgentError) {
        let temporary = path + ".new"
        let text = state.entries.sorted { $0.value < $1.value }.map { "\($0.value) \($0.key)\n" }.joined()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            close(fd)
            throw failure("write \(temporary)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw failure("replace \(path)") }
        // The rename itself must survive a crash: flush the directory too.
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
        if state.descriptor >= 0 { close(state.descriptor) }
        state.descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard state.descriptor >= 0 else { throw failure("open \(path)") }
        state.lines = state.entries.count
    }

    private static func failure(_ action: String) -> AgentError {
        AgentError(.workDirectory, "cannot \(action) (signed-task replay journal): \(String(cString: strerror(errno)))")
    }
}
