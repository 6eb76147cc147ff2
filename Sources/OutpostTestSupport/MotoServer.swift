import Foundation

/// A real `moto_server` (AWS API emulator) on loopback with SigV4 signature
/// checking switched on, for the AWS Secrets Manager provider's tests.
///
/// `start()` uses the server named by `OUTPOST_MOTO_URL` when set (one that
/// `scripts/services/moto start` left running), otherwise it starts a private
/// one on a free port through `scripts/services/moto start`, which installs
/// `moto[server]` with pip when `moto_server` is missing. A private server
/// stops with `stop()`, and also when the test process dies (the script
/// watches this process's pid).
///
/// The server checks every request's signature against IAM-created keys;
/// callers create their IAM user after granting themselves a few unchecked
/// actions with `POST /moto-api/reset-auth` (see the AWS test fixture).
package final class MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    package let url: String
    /// Whether this process started the server (and `stop()` ends it).
    package var isPrivate: Bool { port != nil }
    /// The port of a private server (what `scripts/services/moto stop` needs).
    private let port: String?

    /// Why no moto server can run here (reported as the reason tests are skipped).
    package struct Unavailable: Error, CustomStringConvertible {
        package let description: String
    }

    private init(url: String, port: String?) {
        self.url = url
        self.port = port
    }

    /// `scripts/services/moto` of this package.
    package static var script: String { OutpostBinary.packageRoot + "/scripts/services/moto" }

    /// A running server: `OUTPOST_MOTO_URL`, or a fresh private one.
    /// - Throws: `Unavailable` when moto cannot be installed or does not start.
    package static func start() async throws -> MotoServer {
        if let shared = ProcessInfo.processInfo.environment["OUTPOST_MOTO_URL"], !shared.isEmpty {
            return MotoServer(url: shared.hasSuffix("/") ? String(shared.dropLast()) : shared, port: nil)
        }
        return try await startPrivate()
    }

    /// A private server on a free port, whatever `OUTPOST_MOTO_URL` says.
    ///
    /// Started with `scripts/services/moto start`, which returns once moto answers
    /// and leaves it running detached (it stops when this process is gone, or at
    /// `stop()`). A long-lived child script of the test process must be avoided:
    /// while one ran, Foundation's `Process` stopped noticing when other children
    /// (the CLI, agents) exited.
    package static func startPrivate() async throws -> MotoServer {
        if case .failure(let error) = await installation.value { throw error }
        // moto itself starts checking signatures only once a client asks for it
        // (`--no-auth-actions 0` plus `/moto-api/reset-auth`).
        let starter = try ChildProcess(
            ["start", "--port", "0", "--no-auth-actions", "0", "--watch-pid", String(getpid())], executable: script,
            environment: ProcessInfo.processInfo.environment)
        starter.closeStdin()
        let status = await starter.waitForExit(timeout: .seconds(120))
        guard status == 0,
            let url = starter.stdout.split(separator: "\n").last(where: { $0.hasPrefix("http://") }).map(String.init)
        else {
            if status == nil { await starter.kill9() }
            throw Unavailable(description: "moto_server did not start: \(starter.stderr.suffix(2000))")
        }
        return MotoServer(url: url, port: String(url.split(separator: ":").last ?? "0"))
    }

    /// Stops a private server and waits until it is gone.
    package func stop() async {
        guard let port else { return }
        guard let stopper = try? ChildProcess(["stop", "--port", port], executable: Self.script,
            environment: ProcessInfo.processInfo.environment) else { return }
        stopper.closeStdin()
        if await stopper.waitForExit(timeout: .seconds(20)) == nil { await stopper.kill9() }
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
