import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one `credential_process` program to completion, without a shell, with
/// a bounded time and bounded output: what the AWS SDKs do with `Popen`, plus
/// the bounds an unattended agent needs.
///
/// The program gets the agent's environment, standard input from `/dev/null`,
/// its own process group (so a timeout ends whatever it started too), default
/// signal dispositions and an empty signal mask. The waiting happens on a
/// dispatch thread, never on the cooperative pool.
enum AWSProcessRunner {
    struct Outcome: Sendable {
        /// The exit code, or `nil` when the process was killed by a signal.
        var exitCode: Int32?
        /// The signal that ended it, if one did.
        var signal: Int32?
        var stdout: [UInt8]
        /// Kept only to count it: stderr may hold secrets and is never shown.
        var stderrBytes: Int
        /// Whether it was killed for running past the time limit.
        var timedOut: Bool
        /// Whether it was killed for writing more than the output limit.
        var overflowed: Bool
    }

    enum Failure: Error {
        /// The program could not be started (`errno` text).
        case cannotStart(String)
    }

    /// Runs `executable` (an absolute path) with `arguments`, killing its process
    /// group after `timeout` or once stdout passes `maxOutputBytes`.
    static func run(
        executable: String, arguments: [String], environment: [String: String], timeout: Duration,
        maxOutputBytes: Int
    ) async throws(Failure) -> Outcome {
        let result: Result<Outcome, Failure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Result { () throws(Failure) -> Outcome in
                        try runBlocking(
                            executable: executable, arguments: arguments, environment: environment,
                            timeout: timeout, maxOutputBytes: maxOutputBytes)
                    })
            }
        }
        return try result.get()
    }

    private static func runBlocking(
        executable: String, arguments: [String], environment: [String: String], timeout: Duration,
        maxOutputBytes: Int
    ) throws(Failure) -> Outcome {
        let out = try pipeCloexec()
        let err: (read: Int32, write: Int32)
        do { err = try pipeCloexec() } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaultSignals, Int32(signal)) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(out.write)
        close(err.write)
        guard rc == 0 else {
            close(out.read)
            close(err.read)
            throw .cannotStart(String(cString: strerror(rc)))
        }

        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var stdout: [UInt8] = []
        var stderrBytes = 0
        var timedOut = false
        var overflowed = false
        var open = [out.read, err.read]
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while !open.isEmpty {
            let left = deadline - clock.now
            guard left > .zero else {
                timedOut = true
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 1000))
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0, errno == EINTR || errno == EAGAIN { continue }
                    open.removeAll { $0 == entry.fd }
                    continue
                }
                if entry.fd == out.read {
                    stdout.append(contentsOf: buffer[0..<count])
                    if stdout.count > maxOutputBytes { overflowed = true }
                } else {
                    stderrBytes += count
                }
            }
            if overflowed { break }
        }
        close(out.read)
        close(err.read)
        if timedOut || overflowed {
            // The whole group: a wrapper script's children go too.
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let signal = status & 0x7f
        let exitCode: Int32? = signal == 0 ? (status >> 8) & 0xff : nil
        if stdout.count > maxOutputBytes { stdout.removeAll() }
        return Outcome(
            exitCode: exitCode, signal: signal == 0 ? nil : signal, stdout: stdout, stderrBytes: stderrBytes,
            timedOut: timedOut, overflowed: overflowed)
    }

    private static func pipeCloexec() throws(Failure) -> (read: Int32, write: Int32) {
        // Close-on-exec, so no task the agent starts meanwhile inherits them (glibc's
        // `pipe2` is not exported to Swift; the window between the calls is what
        // `ProcessLauncher`'s closefrom closes for tasks).
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
        guard rc == 0 else { throw .cannotStart("cannot create a pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    /// Splits a command line as Python's `shlex.split` does (what botocore uses):
    /// whitespace separates words; single quotes keep everything; double quotes
    /// keep everything but `\"`, `\\`, `\$`, `` \` ``; a backslash outside quotes
    /// escapes the next character. No variables, globs or pipes: no shell.
    /// - Returns: `nil` for an unterminated quote or a trailing backslash.
    static func split(_ command: String) -> [String]? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var iterator = Array(command).makeIterator()
        while let character = iterator.next() {
            switch character {
            case " ", "\t", "\n", "\r":
                if inWord {
                    words.append(word)
                    word = ""
                    inWord = false
                }
            case "'":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "'" {
                        closed = true
                        break
                    }
                    word.append(next)
                }
                if !closed { return nil }
            case "\"":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "\"" {
                        closed = true
                        break
                    }
                    if next == "\\" {
                        guard let escaped = iterator.next() else { return nil }
                        if "\"\\$`".contains(escaped) {
                            word.append(escaped)
                        } else if escaped != "\n" {
                            word.append("\\")
                            word.append(escaped)
                        }
                        continue
                    }
                    word.append(next)
                }
                if !closed { return nil }
            case "\\":
                guard let escaped = iterator.next() else { return nil }
                inWord = true
                if escaped != "\n" { word.append(escaped) }
            default:
                inWord = true
                word.append(character)
            }
        }
        if inWord { words.append(word) }
        return words
    }
}
