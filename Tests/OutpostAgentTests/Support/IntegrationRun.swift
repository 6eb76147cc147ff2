import Foundation
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostSecrets
import Testing

/// The outcome of one integration task run by a real agent daemon against a FakeHub,
/// with what a stand-in program recorded (empty without one).
struct IntegrationRun {
    var finish: FinishRequest?
    var log: String
    var argv: [String]
    var environment: [String: String]
    var stdin: String
    var file: String?
    var mode: String?
    var filePath: String?
    /// Files the task wrote into $SCRATCH, by name (read before the scratch directory goes).
    var scratch: [String: String]

    /// Runs one task of `integration` through a real agent daemon (FakeHub), with
    /// `standIn` (name, script) installed first on PATH when given, and programs that do
    /// nothing under the names `alsoOnPath` (tools the integration checks for).
    static func run(
        _ integration: String, script: String, env targetEnv: [String: String] = [:],
        secrets: [String: String] = [:], standIn: (program: String, script: String)? = nil,
        recordedAs: String? = nil, alsoOnPath: [String] = []
    ) async throws -> IntegrationRun {
        var environment = try TestEnvironment()
        defer { environment.remove() }
        // Which recorder's files to read: the stand-in's, or one installed elsewhere.
        let program = recordedAs ?? standIn?.program ?? "none"
        if let standIn {
            let bin = environment.scratch + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try standIn.script.write(toFile: bin + "/" + standIn.program, atomically: true, encoding: .utf8)
            chmod(bin + "/" + standIn.program, 0o755)
            for tool in alsoOnPath {
                try "#!/bin/sh\nexit 0\n".write(toFile: bin + "/" + tool, atomically: true, encoding: .utf8)
                chmod(bin + "/" + tool, 0o755)
            }
            environment.inheritedEnvironment["PATH"] =
                bin + ":" + (environment.inheritedEnvironment["PATH"] ?? "/usr/bin:/bin")
        }
        environment.configuration.secrets = FixedSecrets(variables: secrets)
        let hub = FakeHub()
        var configuration = environment.configuration
        configuration.name = "standin-agent-1"
        let agent = AgentDaemon(
            configuration: configuration, hub: hub, environment: environment.inheritedEnvironment, logger: testLogger)
        var assignment = environment.assignment(
            script, integration: integration, env: targetEnv.merging(["STANDIN_DIR": environment.scratch, "SCRATCH": environment.scratch]) { a, _ in a })
        if !secrets.isEmpty { assignment.target.secrets = [SecretReference(provider: "fixed", path: "db")] }
        let id = assignment.taskID
        hub.enqueue(assignment)
        async let running: Void = agent.run()
        _ = await hub.waitFor(timeout: .seconds(30)) { $0.finishes[id] != nil }
        agent.beginGracefulShutdown()
        try await running

        func read(_ suffix: String) -> String? {
            try? String(contentsOfFile: "\(environment.scratch)/\(program).\(suffix)", encoding: .utf8)
        }
        var recorded: [String: String] = [:]
        for line in (read("env") ?? "").split(separator: "\n") {
            if let equals = line.firstIndex(of: "=") { recorded[String(line[..<equals])] = String(line[line.index(after: equals)...]) }
        }
        let state = hub.state.value
        return IntegrationRun(
            finish: state.finishes[id], log: String(decoding: state.logs[id] ?? [], as: UTF8.self),
            argv: (read("argv") ?? "").split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
            environment: recorded, stdin: read("stdin") ?? "", file: read("file"),
            mode: read("mode")?.trimmingCharacters(in: .whitespacesAndNewlines),
            filePath: read("path")?.trimmingCharacters(in: .whitespacesAndNewlines),
            scratch: Self.files(in: environment.scratch))
    }

    private static func files(in directory: String) -> [String: String] {
        var files: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            if let data = FileManager.default.contents(atPath: directory + "/" + name) {
                files[name] = String(decoding: data, as: UTF8.self)
            }
        }
        return files
    }
}
