#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What to start: a fully resolved program with its arguments and environment.
struct LaunchRequest: Sendable {
    /// Absolute path of the program (resolved by `ExecutableLookup`).
    var executable: String
    /// `argv[1...]`; `argv[0]` is the executable.
    var arguments: [String]
    /// The complete environment; nothing of the agent's own is added.
    var environment: [String: String]
    /// Absolute working directory.
    var workingDirectory: String
    /// File opened as standard input; `nil` means `/dev/null`.
    var standardInput: String?
    /// The user to run as (`run_as`); `nil` runs as the agent's own user.
    var identity: TaskIdentity?
}

/// A started task process: the leader of its own session and process group.
struct LaunchedProcess: Sendable {
    /// The leader's pid, which is also the process group id and session id.
    var pid: pid_t
    /// Read end of the one pipe that carries both stdout and stderr (close-on-exec).
    var outputFD: Int32
}

/// Starts task processes with `posix_spawn`.
///
/// Not swift-subprocess: its teardown signals only the leader, and the agent must
/// be able to signal and reap the whole tree itself. The child gets:
/// - a new session (`POSIX_SPAWN_SETSID`), so `kill(-pid, ...)` reaches every descendant
///   that did not leave the session on purpose;
/// - stdout and stderr on one pipe, so their relative order is kept;
/// - stdin from `/dev/null` (or the script file);
/// - no other inherited file descriptor, default signal dispositions and an empty
///   signal mask (the agent ignores SIGPIPE; a shell pipeline must not).
enum ProcessLauncher {
    static func launch(_ request: LaunchRequest) throws(AgentError) -> LaunchedProcess {
        if let identity = request.identity { return try launch(request, as: identity) }
        let output = try GlibcExtras.cloexecPipe()
        var closeReadEnd = true
        defer {
            // The write end belongs to the child now; the read end only if we failed.
            close(output.write)
            if closeReadEnd { close(output.read) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        guard let addChdir = GlibcExtras.addChdir else {
            throw AgentError(
                .launchFailed, "this C library lacks posix_spawn_file_actions_addchdir_np (glibc 2.29 or later is required)")
        }
        var rc = addChdir(&actions, request.workingDirectory)
        if rc == 0 {
            rc = posix_spawn_file_actions_addopen(&actions, 0, request.standardInput ?? "/dev/null", O_RDONLY, 0)
        }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, output.write, 1) }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, output.write, 2) }
        if rc == 0, let addClosefrom = GlibcExtras.addClosefrom {
            // Belt and braces: even a descriptor some library opened without
            // O_CLOEXEC does not leak into the task.
            rc = addClosefrom(&actions, 3)
        }
        guard rc == 0 else {
            throw AgentError(.launchFailed, "cannot prepare the task process: \(GlibcExtras.errnoText(rc))")
        }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP {
            sigaddset(&defaultSignals, Int32(signal))
        }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        let flags = GlibcExtras.spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = CStringArray([request.executable] + request.arguments)
        let envp = CStringArray(request.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        defer {
            argv.deallocate()
            envp.deallocate()
        }

        var pid: pid_t = 0
        rc = posix_spawnp(&pid, request.executable, &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else {
            throw AgentError(
                .launchFailed, "cannot start \(request.executable): \(GlibcExtras.errnoText(rc))")
        }
        closeReadEnd = false
        return LaunchedProcess(pid: pid, outputFD: output.read)
    }
}

/// A NULL-terminated array of C strings that lives until `free()`.
struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func deallocate() {
        for pointer in pointers { free(pointer) }
    }
}
