package import Foundation

/// A real process started by a test, with its output captured as it arrives.
///
/// Used to start `outpost server`, `outpost agent start` and client commands
/// exactly as a user would. Output is kept in memory (tests are small).
package final class ChildProcess: @unchecked Sendable {
    package let process = Process()
    private let lock = NSLock()
    private var stdoutBytes = Data()
    private var stderrBytes = Data()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stdinPipe = Pipe()

    /// Starts `executable` with `arguments` and exactly `environment` (nothing inherited
    /// unless the caller passes it).
    package init(
        _ arguments: [String],
        executable: String = OutpostBinary.path,
        environment: [String: String] = ChildProcess.baseEnvironment(),
        currentDirectory: String? = nil
    ) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = stdinPipe
        stdoutPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.stdoutBytes.append(data) }
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.stderrBytes.append(data) }
        }
        try process.run()
    }

    /// PATH, HOME and LANG of the test process: enough to run, nothing secret.
    package static func baseEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        let current = ProcessInfo.processInfo.environment
        var env: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] { env[key] = current[key] }
        env["OUTPOST_LOG_LEVEL"] = current["OUTPOST_TEST_LOG_LEVEL"] ?? "info"
        env.merge(extra) { _, new in new }
        return env
    }

    package var pid: Int32 { process.processIdentifier }
    package var stdout: String { lock.withLock { String(decoding: stdoutBytes, as: UTF8.self) } }
    package var stdoutData: Data { lock.withLock { stdoutBytes } }
    package var stderr: String { lock.withLock { String(decoding: stderrBytes, as: UTF8.self) } }
    package var isRunning: Bool { process.isRunning }

    /// Writes to the child's standard input and closes it.
    package func send(stdin text: String) {
        stdinPipe.fileHandleForWriting.write(Data(text.utf8))
        try? stdinPipe.fileHandleForWriting.close()
    }

    package func closeStdin() { try? stdinPipe.fileHandleForWriting.close() }

    /// Waits until stdout has a line containing `text`; returns that line.
    package func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async -> String? {
        var found: String?
        await eventually(timeout: timeout) {
            found = self.stdout.split(separator: "\n").first(where: { $0.contains(text) }).map(String.init)
            return found != nil
        }
        return found
    }

    /// Waits for the process to exit and returns its exit code (or 128+signal),
    /// or `nil` if it is still running after `timeout`.
    @discardableResult
    package func waitForExit(timeout: Duration = .seconds(60)) async -> Int32? {
        let exited = await eventually(timeout: timeout, every: .milliseconds(10)) { !self.process.isRunning }
        guard exited else { return nil }
        // Let the readability handlers drain what the pipes still hold.
        drainPipes()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    package func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// SIGKILL and reap; safe to call on an exited process.
    package func kill9() async {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(timeout: .seconds(10))
    }

    /// Reads what the pipes still hold without blocking: a grandchild that kept
    /// the pipe open must not hang the test.
    private func drainPipes() {
        stdoutPipe.fileHandleForReading.readabilityHandler = nil
        stderrPipe.fileHandleForReading.readabilityHandler = nil
        let restOut = Self.readAvailable(stdoutPipe.fileHandleForReading.fileDescriptor)
        let restErr = Self.readAvailable(stderrPipe.fileHandleForReading.fileDescriptor)
        lock.withLock {
            stdoutBytes.append(restOut)
            stderrBytes.append(restErr)
        }
    }

    private static func readAvailable(_ fd: Int32) -> Data {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
