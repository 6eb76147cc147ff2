import Foundation
package import Logging
import OutpostCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The agent daemon behind `outpost agent start`: registers with the hub,
/// long-polls for work, runs tasks and ships their logs.
///
/// `run()`:
/// - registers, retrying with exponential backoff and jitter while the hub is
///   unreachable; a refused registration token throws `AgentError(.registrationRefused)`;
/// - polls (the poll is also the heartbeat) and runs up to `concurrency` tasks,
///   applying the hub's cancel and abandon messages; re-registers when the hub
///   drops the session, while running tasks go on;
/// - on graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`, or
///   `beginGracefulShutdown()`): takes no more work but keeps polling with
///   `draining: true`, waits until every running task finished and its log was
///   delivered, deregisters and returns;
/// - on task cancellation (the CLI cancels on a second signal): tears every
///   running task down as on cancel (SIGTERM to the group, kill grace, SIGKILL),
///   tries for `stopReportTimeout` to report them, deregisters if it can and returns.
package struct AgentDaemon: Service {
    private let configuration: AgentConfiguration
    private let hub: any AgentHubAPI
    private let clock: any AgentClock
    private let environment: [String: String]
    private let logger: Logger
    private let control = DaemonControl()

    /// The daemon that talks to `configuration.hubURLs` over HTTP, moving to the next
    /// URL when the one in use is gone.
    package init(configuration: AgentConfiguration, logger: Logger) {
        self.init(
            configuration: configuration,
            hub: FailoverAgentHub(
                hubURLs: configuration.hubURLs, registrationToken: configuration.registrationToken,
                trust: configuration.hubTrust, insecureHTTP: configuration.insecureHTTP,
                channel: configuration.hubChannel, logger: logger),
            logger: logger)
    }

    /// A daemon with an explicit hub connection, clock and inherited environment (tests, `outpost dev`).
    package init(
        configuration: AgentConfiguration,
        hub: any AgentHubAPI,
        clock: any AgentClock = SystemAgentClock(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) {
        self.configuration = configuration
        self.hub = hub
        self.clock = clock
        self.environment = environment
        self.logger = logger
    }

    /// Runs until shut down; see the type's documentation.
    /// - Throws: `AgentError` for invalid configuration, an unusable work directory
    ///   or a registration the hub refuses. Never for a task's failure.
    package func run() async throws {
        try configuration.validate()
        let control = self.control
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                // The session runs in its own task so that cancelling `run()` turns into
                // an orderly teardown (whose waits and last reports must not be cancelled)
                // instead of aborting it. `run()` awaits it, so it never outlives `run()`.
                // (An explicitly typed-throws closure here crashes the Swift 6.3 compiler.)
                let session = Task<Void, any Error> { try await self.runSession() }
                try await session.value
            } onCancel: {
                control.stopNow()
            }
        } onGracefulShutdown: {
            control.drain()
        }
    }

    /// Starts a graceful shutdown, as SIGTERM does through the service group.
    package func beginGracefulShutdown() {
        control.drain()
    }

    private func runSession() async throws(AgentError) {
        let (paths, lock): (WorkDirectory, Int32)
        if configuration.workDirectoryPerAgent {
            (paths, lock) = try WorkDirectory.claim(
                parent: configuration.workDirectory, name: configuration.name, runAs: configuration.runAs)
        } else {
            paths = WorkDirectory(path: configuration.workDirectory)
            lock = try paths.prepare(runAs: configuration.runAs)
        }
        defer { close(lock) }
        logger.info("work directory", metadata: ["path": "\(paths.root)"])
        paths.cleanUpLeftovers(logger: logger)
        let adopting = configuration.adoptsOrphans && OrphanAdoption.adopt()
        if configuration.adoptsOrphans, !adopting {
            logger.notice("cannot become the subreaper of task processes; sweeping all of /proc after each task instead")
        }
        // Over HTTPS the agent asks for a client certificate at each registration (its
        // type may require one); over plain HTTP there is no handshake to present it in.
        let overTLS = configuration.hubURLs.contains { $0.lowercased().hasPrefix("https://") }
        let key = overTLS ? try AgentKey.loadOrCreate(path: paths.identityKey) : nil

        let credentials = SessionCredentials()
        let name = configuration.name ?? Identifiers.readableAgentName()
        var context = RunnerContext(
            configuration: configuration, hub: hub, credentials: credentials, clock: clock, paths: paths,
            inheritedEnvironment: environment, logger: logger)
        context.slotTakenOver = { [control] taskID in control.slotTakenOver(taskID) }
        let signatures = TaskSignatureGate(
            mode: configuration.signedTasks.mode, keys: configuration.signedTasks.keys,
            journal: try NonceJournal(path: paths.signedTaskNonces, now: Date()),
            leeway: configuration.signedTasks.leeway.timeInterval, logger: logger)
        context.signatures = signatures
        let session = SessionLoop(
            configuration: configuration, hub: hub, clock: clock, control: control, credentials: credentials,
            context: context, name: name, key: key, logger: logger)
        let renewer = key.map {
            CertificateRenewer(
                hub: hub, key: $0, commonName: name, clock: clock, control: control, credentials: credentials,
                backoff: Backoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay),
                logger: logger)
        }

        // The renewer lives as long as the session loop (it needs a session to renew for),
        // and so does the reaper of adopted orphans (a task's sweep kills them, but they
        // die a moment later, and one may die on its own while the agent is idle).
        let reaper = adopting ? OrphanReaper(clock: clock) : nil
        let end = await withTaskGroup(of: Void.self, returning: SessionLoop.End.self) { group in
            if let renewer { group.addTask { await renewer.run() } }
            if let reaper { group.addTask { await reaper.run() } }
            let end = await session.run()
            group.cancelAll()
            return end
        }
        if end.deregister { await session.deregister() }
        if let failure = end.failure { throw failure }
        logger.info("agent stopped")
    }
}

/// What swift-service-lifecycle logs for this service: no token, no client internals.
extension AgentDaemon: CustomStringConvertible, CustomReflectable {
    package var description: String { "AgentDaemon(hub: \(configuration.hubURLs.joined(separator: ", ")))" }
    package var customMirror: Mirror { Mirror(self, children: ["configuration": configuration], displayStyle: .struct) }
}
