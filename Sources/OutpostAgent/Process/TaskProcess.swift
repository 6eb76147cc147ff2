import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A launched task process and the two threads that watch it.
///
/// Blocking calls stay off the Swift cooperative pool (two threads here): one
/// thread reads the output pipe with `poll` + `read`, one waits for the leader's
/// exit with `waitid(WNOWAIT)`. WNOWAIT leaves the leader a zombie until `reap()`,
/// so its pid — which is also the process group id — cannot be reused while the
/// agent may still signal the group.
final class TaskProcess: Sendable {
    /// The leader's pid = process group id = session id.
    let pid: pid_t
    private let outputFD: Int32
    private let wake: (read: Int32, write: Int32)

    /// Starts watching `launched`.
    /// - Parameters:
    ///   - output: called on the reader thread with each chunk read (up to 64 KiB).
    ///   - outputEnded: called on the reader thread once, at end of file or after `stopReading()`.
    ///   - exited: called on the waiter thread once the leader has exited, with its
    ///     exit code (128 + N when killed by signal N), read without reaping it.
    init(
        _ launched: LaunchedProcess,
        name: String,
        output: @escaping @Sendable ([UInt8]) -> Void,
        outputEnded: @escaping @Sendable () -> Void,
        exited: @escaping @Sendable (Int32?) -> Void
    ) throws(AgentError) {
        pid = launched.pid
        outputFD = launched.outputFD
        wake = try GlibcExtras.cloexecPipe()

        let pid = self.pid
        let outputFD = self.outputFD
        let wakeFD = wake.read
        let reader = Thread {
            Self.readLoop(outputFD: outputFD, wakeFD: wakeFD, output: output)
            outputEnded()
        }
        reader.name = "outpost-output-\(name)"
        let waiter = Thread {
            var info = siginfo_t()
            var code: Int32?
            while true {
                if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == 0 {
                    code = Self.exitCode(info)
                    break
                }
                // ECHILD (already reaped elsewhere) also means it is gone.
                if errno != EINTR { break }
            }
            exited(code)
        }
        waiter.name = "outpost-wait-\(name)"
        reader.start()
        waiter.start()
    }

    private static func readLoop(outputFD: Int32, wakeFD: Int32, output: @Sendable ([UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var fds = [
            pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if n > 0 {
                output(Array(buffer[0..<n]))
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                return
            }
        }
    }

    /// Sends `signal` to the whole process group.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// Makes the reader thread stop even though the pipe is still open (a
    /// descendant that left the process group may hold it).
    func stopReading() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// Collects the leader's exit status (it has exited: the waiter reported it) and
    /// closes the descriptors. Call once, after the reader thread ended.
    /// - Returns: the exit code, or 128 + N when it was killed by signal N.
    func reap() -> Int32 {
        var status: Int32 = 0
        var rc: pid_t
        repeat { rc = waitpid(pid, &status, 0) } while rc < 0 && errno == EINTR
        OrphanAdoption.leaderReaped(pid)
        close(outputFD)
        close(wake.read)
        close(wake.write)
        guard rc == pid else { return -1 }
        return Self.exitCode(status: status)
    }

    /// The exit code in a `waitid` report: the status for `CLD_EXITED`, 128 + the
    /// signal for `CLD_KILLED` and `CLD_DUMPED`.
    static func exitCode(_ info: siginfo_t) -> Int32 {
        let status = info._sifields._sigchld.si_status
        return info.si_code == Int32(CLD_EXITED) ? status : 128 + status
    }

    /// `WIFEXITED`/`WEXITSTATUS`/`WTERMSIG`, which Swift's Glibc does not export.
    static func exitCode(status: Int32) -> Int32 {
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }
}
