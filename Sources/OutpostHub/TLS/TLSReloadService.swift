import Logging
import ServiceLifecycle
import UnixSignals

/// Keeps the served certificate current: re-reads the files on SIGHUP, and when
/// they change on disk (checked every `interval`, cheap: two `stat` calls), so
/// a renewed certificate (certbot, cert-manager) is served without a restart.
struct TLSReloadService: Service {
    /// The listeners' contexts (one, or two with `--agent-listen`).
    let listeners: [ServerTLS]
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups {
                    for tls in listeners { report(tls.reload(force: true), trigger: "SIGHUP") }
                }
            }
            group.addTask {
                while (try? await Task.sleep(for: interval)) != nil {
                    for tls in listeners { report(tls.reload(), trigger: "files changed") }
                }
            }
            // Runs until the hub shuts down.
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func report(_ outcome: ServerTLS.ReloadOutcome, trigger: String) {
        switch outcome {
        case .unchanged:
            break
        case .reloaded(let subject, let notValidAfter):
            logger.notice(
                "reloaded the TLS certificate; new connections get it, open ones keep theirs",
                metadata: ["trigger": "\(trigger)", "subject": "\(subject)", "not_after": "\(notValidAfter)"])
        case .clientRootsChanged(let count):
            logger.notice("agents' client certificates are now checked against \(count) CA certificate(s)")
        case .failed(let error):
            logger.error(
                "cannot reload the TLS certificate; still serving the previous one",
                metadata: ["trigger": "\(trigger)", "problem": "\(error)"])
        }
    }
}
