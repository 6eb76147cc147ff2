#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How far a spool has been written; the shipper waits on changes to it.
struct SpoolProgress: Sendable, Equatable {
    /// Bytes appended to the spool file so far.
    var spooled: Int64 = 0
    /// `true` once the output ended: no more bytes will come.
    var closed = false
    /// When the oldest byte not yet handed to the shipper was spooled (`nil`: none pending).
    var pendingSince: Duration?
}

/// An append-only file of a task's masked log, `spool/<task-id>.log`.
///
/// The reader thread appends; the shipper reads ranges back with `pread` and
/// sends them. The file is the buffer: memory stays bounded whatever the log
/// size or however long the hub is away, and what reaches the hub is exactly
/// what was written here.
final class LogSpool: Sendable {
    let path: String
    let progress: WatchedState<SpoolProgress>
    private let writeFD: Int32
    private let readFD: Int32
    private let clock: any AgentClock

    init(path: String, clock: any AgentClock) throws(AgentError) {
        self.path = path
        self.clock = clock
        writeFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard writeFD >= 0 else {
            throw AgentError(.workDirectory, "cannot create the log spool \(path): \(GlibcExtras.errnoText(errno))")
        }
        readFD = open(path, O_RDONLY | O_CLOEXEC)
        guard readFD >= 0 else {
            let code = errno
            close(writeFD)
            throw AgentError(.workDirectory, "cannot read the log spool \(path): \(GlibcExtras.errnoText(code))")
        }
        progress = WatchedState(SpoolProgress())
    }

    /// Appends bytes (blocking; called from the output reader thread, never the async pool).
    func append(_ bytes: [UInt8]) throws(AgentError) {
        guard !bytes.isEmpty else { return }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                write(writeFD, raw.baseAddress! + written, raw.count - written)
            }
            if n > 0 {
                written += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                let code = errno
                // Count only what reached the file, so offsets stay exact.
                record(written)
                throw AgentError(.io, "cannot write the log spool \(path): \(GlibcExtras.errnoText(code))")
            }
        }
        record(written)
    }

    private func record(_ count: Int) {
        guard count > 0 else { return }
        let now = clock.now()
        progress.update { progress in
            progress.spooled += Int64(count)
            if progress.pendingSince == nil { progress.pendingSince = now }
        }
    }

    /// Marks the end of the output.
    func finishWriting() {
        progress.update { $0.closed = true }
    }

    /// Reads up to `count` bytes at `offset`.
    func read(offset: Int64, count: Int) throws(AgentError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(readFD, raw.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if n > 0 {
                filled += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw AgentError(.io, "cannot read the log spool \(path): \(GlibcExtras.errnoText(errno))")
            }
        }
        buffer.removeLast(count - filled)
        return buffer
    }

    /// Closes the file and deletes it (after the log was delivered or given up).
    func remove() {
        close(writeFD)
        close(readFD)
        unlink(path)
    }
}
