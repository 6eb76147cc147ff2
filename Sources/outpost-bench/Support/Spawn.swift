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
        var exitStatus: Int32
    }

    /// Spawns `arguments` with standard output and error on /dev/null, waits for
    /// it, and returns the wall time.
    static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Run {
        let start = ContinuousClock.now
        let pid = try spawn(arguments, environment: environment)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchError("waitpid failed: errno \(errno)") }
        }
        return Run(seconds: (ContinuousClock.now - start).seconds, exitStatus: status)
    }

    /// Runs `arguments` to its end with standard output into the file `outputPath` and
    /// standard error on the bench's own; returns the exit code (128 + signal if killed).
    ///
    /// A file and `waitpid`, not Foundation's `Process` and a pipe: a script that starts a
    /// daemon (`pg_ctl start`) left `Process` waiting for an end it never saw.
    static func run(_ arguments: [String], environment: [String: String], outputPath: String) throws -> Int32 {
        let pid = try spawn(arguments, environment: environment, outputFile: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchError("waitpid failed: errno \(errno)") }
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Spawns `arguments`. Without `outputFile` its standard output and error go to
    /// /dev/null; with one, standard output goes to that file and standard error stays
    /// the bench's (and standard input is /dev/null).
    static func spawn(_ arguments: [String], environment: [String: String], outputFile: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputFile {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let executable = arguments[0].contains("/") ? arguments[0] : try lookup(arguments[0])
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

    /// The peak RSS (MiB) of a short-lived command, measured through python3.
    ///
    /// A child's `ru_maxrss` includes the memory of the process that spawned it
    /// (vfork and fork share or copy it until exec), and the bench holds
    /// hundreds of MiB after the fleet scenario. A small python3 parent keeps
    /// that floor at its own ~10 MiB. `nil` without python3.
    static func peakResidentMiB(of arguments: [String]) -> Double? {
        guard let python = try? lookup("python3") else { return nil }
        let script = """
            import os, sys
            pid = os.fork()
            if pid == 0:
                fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
                os.execv(sys.argv[1], sys.argv[1:])
            _, _, usage = os.wait4(pid, 0)
            print(usage.ru_maxrss)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Double(text).map { $0 / 1024 }
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
