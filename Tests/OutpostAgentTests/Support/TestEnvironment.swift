import Foundation
import Logging
@testable import OutpostAgent
import OutpostCore
import OutpostTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A private work directory and the settings tests run tasks with: short kill
/// grace and drain so teardown tests finish quickly.
struct TestEnvironment: Sendable {
    let root: String
    let paths: WorkDirectory
    /// A directory tasks can write pid files into (it outlives the task directory).
    let scratch: String
    var configuration: AgentConfiguration
    var inheritedEnvironment: [String: String]

    init(
        killGrace: Duration = .milliseconds(300),
        drainTimeout: Duration = .milliseconds(300),
        maxLogBytes: Int64 = 64 << 20,
        integrations: IntegrationCatalog = .builtIn
    ) throws {
        let root = NSTemporaryDirectory() + "outpost-agent-tests-" + Identifiers.make(prefix: "run")
        self.root = root
        paths = WorkDirectory(path: root + "/work")
        scratch = root + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        for directory in [paths.tasks, paths.spool, paths.running] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        configuration = AgentConfiguration(
            hubURLs: ["http://127.0.0.1:9"], registrationToken: "registration-token-do-not-leak",
            workDirectory: paths.root, killGrace: killGrace, drainTimeout: drainTimeout,
            logFlushInterval: .milliseconds(20), maxLogBytes: maxLogBytes,
            retryInitialDelay: .milliseconds(5), retryMaxDelay: .milliseconds(50),
            stopReportTimeout: .seconds(2), integrations: integrations)
        inheritedEnvironment = ProcessInfo.processInfo.environment
    }

    func context(hub: any AgentHubAPI, token: String = "agent-token-1") -> RunnerContext {
        RunnerContext(
            configuration: configuration, hub: hub, credentials: SessionCredentials(token: token),
            clock: SystemAgentClock(), paths: paths, inheritedEnvironment: inheritedEnvironment,
            logger: testLogger)
    }

    /// An assignment of `script` on a target of `integration`.
    func assignment(
        _ script: String, integration: String = "bash", env: [String: String] = [:], timeoutSeconds: Int = 60
    ) -> TaskAssignment {
        var env = env
        env["SCRATCH"] = scratch
        return TaskAssignment(
            taskID: Identifiers.make(prefix: "tsk"),
            target: Target(name: "test", integration: integration, env: env),
            script: script, timeoutSeconds: timeoutSeconds)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Reads a pid a task wrote into the scratch directory, waiting for it to appear.
    func pid(_ name: String, timeout: Duration = .seconds(30)) async -> pid_t? {
        let path = scratch + "/" + name
        var found: pid_t?
        _ = await eventually(timeout: timeout) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return false }
            found = pid
            return true
        }
        return found
    }
}

/// Logs at notice and above only, so test output shows anomalies, not routine.
let testLogger: Logger = {
    var logger = Logger(label: "outpost-agent-tests")
    logger.logLevel = .notice
    return logger
}()

/// `true` when the process no longer runs (gone, or a zombie nobody reaped yet).
func isGone(_ pid: pid_t) -> Bool {
    ProcStat.isGone(pid)
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
