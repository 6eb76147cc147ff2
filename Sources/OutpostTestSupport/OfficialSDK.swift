package import Foundation

/// Runs a proof script from `Tests/SDKProofs` with the services' official Python SDKs
/// (`azure-identity`, `google-auth`, `hvac`, `boto3`, ...) against a fake in this module.
///
/// The fakes here stand in for services that cannot run on this machine; a fake that the
/// official client cannot use is wrong, so each fake is also driven by that client.
/// `scripts/test` installs the SDKs (`scripts/services/sdks install`) and sets
/// `OUTPOST_SDK_PYTHON`; off a full run a missing SDK skips the proof, on a full run
/// (`OUTPOST_REQUIRE_MOTO=1`) it fails it.
package enum OfficialSDK {
    /// The python that has the SDKs: `OUTPOST_SDK_PYTHON`, else `python3` on PATH.
    package static var python: String? {
        let environment = ProcessInfo.processInfo.environment
        if let configured = environment["OUTPOST_SDK_PYTHON"], !configured.isEmpty { return configured }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether `module` imports (e.g. `"hvac"`, `"azure.identity"`). On a full run this is
    /// `true` whatever the machine has, so a missing SDK fails the proof instead of skipping it.
    package static func available(_ module: String) -> Bool {
        if ProcessInfo.processInfo.environment["OUTPOST_REQUIRE_MOTO"] == "1" { return true }
        guard let python else { return false }
        guard let probe = try? ChildProcess(["-c", "import \(module)"], executable: python,
            environment: ProcessInfo.processInfo.environment) else { return false }
        probe.process.waitUntilExit()
        return probe.process.terminationStatus == 0
    }

    /// What a proof printed, and how it ended.
    package struct Outcome: Sendable, CustomStringConvertible {
        package var status: Int32?
        package var stdout: String
        package var stderr: String
        package var succeeded: Bool { status == 0 }
        package var description: String {
            "exit \(status.map(String.init) ?? "none (timed out)")\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
        }
    }

    /// Runs `Tests/SDKProofs/<script>` with `arguments` and the test process's environment
    /// plus `environment`. A proof exits 0 when the SDK did everything it was asked and prints
    /// what it read on stdout; anything else is a failed proof, with the SDK's traceback on stderr.
    package static func run(
        _ script: String, arguments: [String] = [], environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> Outcome {
        guard let python else { throw ProofError("no python3 on PATH for the SDK proofs (scripts/services/sdks install)") }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        let child = try ChildProcess([scriptsDirectory + "/" + script] + arguments, executable: python, environment: env)
        child.closeStdin()
        let status = await child.waitForExit(timeout: timeout)
        if status == nil { await child.kill9() }
        return Outcome(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    /// `Tests/SDKProofs` of this checkout, found from this file's path.
    package static var scriptsDirectory: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/SDKProofs").path
    }

    package struct ProofError: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }
}
