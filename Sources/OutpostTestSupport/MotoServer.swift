import Foundation

/// A real `moto_server` (AWS API emulator) on loopback with SigV4 signature
/// checking switched on, for the AWS Secrets Manager provider's tests.
///
/// `start()` uses the server named by `OUTPOST_MOTO_URL` when set (one that
/// `scripts/services/moto start` left running), otherwise it starts a private
/// one on a free port through `scripts/services/moto run`, which installs
/// `moto[server]` with pip when `moto_server` is missing. A private server
/// stops with `stop()`, and also when the test process dies: the script stops
/// moto as soon as its standard input (a pipe from this process) closes.
///
/// The server checks every request's signature against IAM-created keys;
/// callers create their IAM user after granting themselves a few unchecked
/// actions with `POST /moto-api/reset-auth` (see the AWS test fixture).
package final class MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    package let url: String
    /// Whether this process started the server (and `stop()` ends it).
    package let isPrivate: Bool
    private let child: ChildProcess?

    /// Why no moto server can run here (reported as the reason tests are skipped).
    package struct Unavailable: Error, CustomStringConvertible {
        package let description: String
    }

    private init(url: String, child: ChildProcess?) {
        self.url = url
        self.child = child
        isPrivate = child != nil
    }

    /// `scripts/services/moto` of this package.
    package static var script: String { OutpostBinary.packageRoot + "/scripts/services/moto" }

    /// A running server: `OUTPOST_MOTO_URL`, or a fresh private one.
    /// - Throws: `Unavailable` when moto cannot be installed or does not start.
    package static func start() async throws -> MotoServer {
        if let shared = ProcessInfo.processInfo.environment["OUTPOST_MOTO_URL"], !shared.isEmpty {
            return MotoServer(url: shared.hasSuffix("/") ? String(shared.dropLast()) : shared, child: nil)
        }
        return try await startPrivate()
    }

    /// A private server on a free port, whatever `OUTPOST_MOTO_URL` says.
    package static func startPrivate() async throws -> MotoServer {
        if case .failure(let error) = await installation.value { throw error }
        // moto itself starts checking signatures only once a client asks for it
        // (`--no-auth-actions 0` plus `/moto-api/reset-auth`).
        let child = try ChildProcess(
            ["run", "--port", "0", "--no-auth-actions", "0"], executable: script,
            environment: ProcessInfo.processInfo.environment)
        var url: String?
        await eventually(timeout: .seconds(120), every: .milliseconds(50)) {
            url = child.stdout.split(separator: "\n").first { $0.hasPrefix("http://") }.map(String.init)
            return url != nil || !child.isRunning
        }
        guard let url else {
            child.closeStdin()
            await child.kill9()
            throw Unavailable(description: "moto_server did not start: \(child.stderr.suffix(2000))")
        }
        return MotoServer(url: url, child: child)
    }

    /// Stops a private server (closing the script's standard input stops moto) and waits for it.
    package func stop() async {
        guard let child else { return }
        child.closeStdin()
        if await child.waitForExit(timeout: .seconds(15)) == nil {
            child.signal(SIGTERM)
            if await child.waitForExit(timeout: .seconds(5)) == nil { await child.kill9() }
        }
    }

    /// Whether a moto server can run here: `OUTPOST_MOTO_URL` is set, or
    /// `moto_server` exists or could be installed (tried once per process).
    package static func isAvailable() async -> Bool {
        if let shared = ProcessInfo.processInfo.environment["OUTPOST_MOTO_URL"], !shared.isEmpty { return true }
        if case .success = await installation.value { return true }
        return false
    }

    /// `scripts/services/moto install`, run once per process: the path of `moto_server`.
    private static let installation = Task<Result<String, Unavailable>, Never> {
        do {
            let child = try ChildProcess(["install"], executable: script, environment: ProcessInfo.processInfo.environment)
            child.closeStdin()
            guard let status = await child.waitForExit(timeout: .seconds(600)) else {
                await child.kill9()
                return .failure(Unavailable(description: "installing moto[server] took more than 10 minutes"))
            }
            guard status == 0 else {
                return .failure(
                    Unavailable(description: "moto cannot be installed here: \(child.stderr.suffix(1000))"))
            }
            return .success(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            return .failure(Unavailable(description: "cannot run \(script): \(error)"))
        }
    }
}
