#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starting a task as another user (`run_as`).
///
/// `posix_spawn` cannot change the child's user, so this path forks and does in
/// the child what `launch` asks `posix_spawn` for (new session, default signals,
/// the output pipe, no other descriptor), plus `setgroups`, `setgid`, `setuid`
/// before `execve`. Between `fork` and `execve` the child of a multi-threaded
/// process may only make async-signal-safe calls: everything it needs (C strings,
/// the group list, function pointers) is prepared before the fork, and the child
/// makes plain system calls only — no allocation, no lock, no Swift global.
extension ProcessLauncher {
    /// Which step of the child's set-up failed, reported to the parent with its errno.
    private enum ChildStep: Int32 {
        case setsid = 1, signals, stdin, output, setgroups, setgid, setuid, chdir, descriptors, exec

        var text: String {
            switch self {
            case .setsid: "setsid"
            case .signals: "reset signals"
            case .stdin: "open standard input"
            case .output: "connect the output pipe"
            case .setgroups: "setgroups"
            case .setgid: "setgid"
            case .setuid: "setuid"
            case .chdir: "enter the working directory"
            case .descriptors: "close inherited descriptors"
            case .exec: "execute"
            }
        }
    }

    /// `close_range(2)` flag: mark the range close-on-exec instead of closing it.
    private static let closeRangeCloexec: UInt32 = 1 << 2
    private typealias CloseRange = @convention(c) (UInt32, UInt32, Int32) -> Int32
    /// `close_range` (glibc ≥ 2.34), looked up once: the forked child must not run a lazy initializer.
    private static let closeRangeFunction: CloseRange? = GlibcExtras.symbol("close_range")

    static func launch(_ request: LaunchRequest, as identity: TaskIdentity) throws(AgentError) -> LaunchedProcess {
        let output = try GlibcExtras.cloexecPipe()
        let report: (read: Int32, write: Int32)
        do {
            report = try GlibcExtras.cloexecPipe()
        } catch {
            close(output.read)
            close(output.write)
            throw error
        }

        // Everything the child touches, made before the fork.
        let argv = CStringArray([request.executable] + request.arguments)
        let envp = CStringArray(request.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        let executable = strdup(request.executable)!
        let directory = strdup(request.workingDirectory)!
        let standardInput = strdup(request.standardInput ?? "/dev/null")!
        let groups = UnsafeMutablePointer<gid_t>.allocate(capacity: max(identity.groups.count, 1))
        groups.initialize(from: identity.groups, count: identity.groups.count)
        let groupCount = identity.groups.count
        let (uid, gid) = (identity.uid, identity.gid)
        let closeRange = closeRangeFunction
        let closeRangeFlags = Int32(closeRangeCloexec)
        // Raw NULL-terminated arrays: passing a Swift array to execve would call generic
        // conversion code in the child.
        let argvPointer = argv.rawCopy()
        let envpPointer = envp.rawCopy()
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        let (outputWrite, reportWrite) = (output.write, report.write)
        defer {
            argv.deallocate()
            envp.deallocate()
            argvPointer.deallocate()
            envpPointer.deallocate()
            free(executable)
            free(directory)
            free(standardInput)
            groups.deallocate()
        }

        let pid = fork()
        if pid == 0 {
            // The child. Each failure writes (step, errno) to the report pipe and exits 127.
            // Plain loops over Int32 and no generic call: even a first use of generic
            // metadata could wait on a lock some other thread of the parent held at fork.
            func fail(_ step: ChildStep) -> Never { childFailed(step, report: reportWrite) }
            if setsid() < 0 { fail(.setsid) }
            var number: Int32 = 1
            while number < 32 {
                if number != SIGKILL && number != SIGSTOP { _ = signal(number, SIG_DFL) }
                number += 1
            }
            if sigprocmask(SIG_SETMASK, &noSignals, nil) != 0 { fail(.signals) }
            let input = open(standardInput, O_RDONLY)
            if input < 0 { fail(.stdin) }
            if input != 0 {
                if dup2(input, 0) < 0 { fail(.stdin) }
                close(input)
            }
            if dup2(outputWrite, 1) < 0 || dup2(outputWrite, 2) < 0 { fail(.output) }
            // Groups first: after setuid the process may no longer change them.
            if setgroups(groupCount, groups) != 0 { fail(.setgroups) }
            if setgid(gid) != 0 { fail(.setgid) }
            if setuid(uid) != 0 { fail(.setuid) }
            if chdir(directory) != 0 { fail(.chdir) }
            // Every other descriptor closes at exec, the report pipe's write end included
            // (it is close-on-exec), so the parent reads end-of-file on success.
            if let closeRange {
                if closeRange(3, UInt32.max, closeRangeFlags) != 0 { fail(.descriptors) }
            } else {
                var fd: Int32 = 3
                while fd < 4096 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    fd += 1
                }
            }
            execve(executable, argvPointer, envpPointer)
            fail(.exec)
        }

        close(output.write)
        close(report.write)
        defer { close(report.read) }
        guard pid > 0 else {
            let code = errno
            close(output.read)
            throw AgentError(.launchFailed, "cannot start \(request.executable): fork: \(GlibcExtras.errnoText(code))")
        }
        var message: (Int32, Int32) = (0, 0)
        var got = 0
        while true {
            let n = withUnsafeMutableBytes(of: &message) { read(report.read, $0.baseAddress! + got, $0.count - got) }
            if n < 0, errno == EINTR { continue }
            if n > 0 { got += n }
            if n <= 0 || got == MemoryLayout<(Int32, Int32)>.size { break }
        }
        guard got == 0 else {
            // The child failed before exec and exited: reap it here, nothing else knows it.
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            close(output.read)
            let step = ChildStep(rawValue: message.0)?.text ?? "prepare"
            throw AgentError(
                .launchFailed,
                "cannot start \(request.executable) as \(identity): \(step): \(GlibcExtras.errnoText(message.1))")
        }
        return LaunchedProcess(pid: pid, outputFD: output.read)
    }

    /// In the forked child: reports the failed step and errno, then exits without
    /// running any of the parent's exit handlers.
    private static func childFailed(_ step: ChildStep, report: Int32) -> Never {
        var message: (Int32, Int32) = (step.rawValue, errno)
        // `&message` as a raw pointer is a compiler conversion, not a generic call.
        _ = write(report, &message, 8)
        _exit(127)
    }
}

extension CStringArray {
    /// A copy of the pointers in memory of its own (NULL-terminated), for a forked child.
    func rawCopy() -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let copy = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: pointers.count)
        copy.initialize(from: pointers, count: pointers.count)
        return copy
    }
}
