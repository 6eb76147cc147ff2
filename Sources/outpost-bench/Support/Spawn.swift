import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Spawning processes directly, for the baselines that the dispatch path is
/// compared with: `posix_spawn` and `wait4`, as close to the kernel as Swift gets.
enum Spawn {
    /// What one run of a child cost.
    struct Run {
        var seconds: Double
        /// Peak resident set size of the child, in MiB.
        var peakResidentMiB: Double
        var exitStatus: Int32
    }

    /// Spawns `arguments` with standard output and error on /dev/null, waits for
    /// it, and returns the wall time and the child's peak RSS.
    static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Run {
        let start = ContinuousClock.now
        let pid = try spawn(arguments, environment: environment)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError("wait4 failed: errno \(errno)") }
        }
        let seconds = (ContinuousClock.now - start).seconds
        return Run(seconds: seconds, peakResidentMiB: Double(usage.ru_maxrss) / 1024, exitStatus: status)
    }

    static func spawn(_ arguments: [String], environment: [String: String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let executable = arguments[0].hasPrefix("/") ? arguments[0] : try lookup(arguments[0])
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else { throw BenchError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Finds a program on PATH.
    static func lookup(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw BenchError("\(name) is not on PATH")
    }

    /// Spawns `bash -c true` `count` times, `parallel` at a time, and returns
    /// each run's wall time in seconds: the floor under any task runner.
    static func bashTrue(count: Int, parallel: Int = 1) throws -> (samples: Samples, totalSeconds: Double) {
        let bash = try lookup("bash")
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let collected = Mutex((samples: Samples(), failure: (any Error)?.none))
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: parallel) { worker in
            for _ in stride(from: worker, to: count, by: parallel) {
                do {
                    let run = try Spawn.run([bash, "-c", "true"], environment: environment)
                    collected.withLock { $0.samples.add(run.seconds) }
                } catch {
                    collected.withLock { $0.failure = error }
                    return
                }
            }
        }
        let (samples, failure) = collected.withLock { ($0.samples, $0.failure) }
        if let failure { throw failure }
        return (samples, (ContinuousClock.now - start).seconds)
    }
}
