import Foundation

/// A child process (`outpost server`, `outpost agent start`) whose standard
/// output and error go to one file in the scenario's directory.
final class BenchProcess: @unchecked Sendable {
    let process = Process()
    let outputPath: String
    let startedAt = Date()

    init(_ executable: String, _ arguments: [String], environment: [String: String], outputPath: String) throws {
        self.outputPath = outputPath
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.close()
    }

    var pid: Int32 { process.processIdentifier }
    var probe: ProcessProbe { ProcessProbe(pid: pid) }
    var isRunning: Bool { process.isRunning }

    /// Everything the process printed so far.
    func output() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the output has a line containing `text` and returns it.
    func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output().split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            guard isRunning else { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchError("\(process.executableURL?.lastPathComponent ?? "process") printed no \"\(text)\"; its output:\n"
            + output().suffix(2000))
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`.
    func stop(grace: Duration = .seconds(15)) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A scratch directory for one scenario, removed when the scenario ends.
struct ScratchDirectory {
    let path: String

    init(_ name: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-bench-\(getpid())-\(name)").path
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func subdirectory(_ name: String) throws -> String {
        let sub = file(name)
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        return sub
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
