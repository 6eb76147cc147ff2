import Foundation
import Logging
import OutpostStore
import Synchronization

/// The hub's parts wired together: what every route, the sweeper and the runtime share.
final class Hub: Sendable {
    let configuration: HubConfiguration
    let store: any HubStore
    let dispatcher: Dispatcher
    let watchers = TaskWatchers()
    let metrics = HubMetrics()
    /// The last `/metrics` body, served again for `metricsSnapshotInterval`.
    let metricsCache = MetricsSnapshotCache()
    let secretListings = SecretListings()
    /// User session tokens of tasks that carry one: memory only, never the store.
    let userTokens = UserTokenKeeper()
    /// Checks the signed STS requests of agents of `aws-sts` types.
    let callerIdentity: any CallerIdentityVerifier
    /// The default verifier's client, closed when the hub stops.
    private let stsVerifier = LazySTSVerifier()
    let clock: HubClock
    let logger: Logger
    /// Agents' client certificates (mutual TLS); `nil` on a hub that serves plain HTTP.
    let agentCertificates: AgentCertificates?
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        var isListening = false
        var isShuttingDown = false
    }

    init(
        configuration: HubConfiguration, store: any HubStore, clock: HubClock, logger: Logger,
        callerIdentity: (any CallerIdentityVerifier)? = nil, agentCertificates: AgentCertificates? = nil
    ) {
        self.configuration = configuration
        self.agentCertificates = agentCertificates
        self.callerIdentity = callerIdentity ?? stsVerifier
        self.store = store
        self.clock = clock
        self.logger = logger
        dispatcher = Dispatcher(logger: logger)
    }

    func now() -> Date { clock.now() }

    var authenticator: Authenticator {
        Authenticator(store: store, dispatcher: dispatcher, clock: clock, agentCertificates: agentCertificates)
    }

    /// `/readyz`: the store is open (it is, once a `Hub` exists) and the API listens.
    var isReady: Bool { lifecycle.withLock { $0.isListening && !$0.isShuttingDown } }

    var isShuttingDown: Bool { lifecycle.withLock { $0.isShuttingDown } }

    func markListening() {
        lifecycle.withLock { $0.isListening = true }
    }

    /// Reloads queued and active tasks and online agents after a (re)start.
    func reload() async throws(StoreError) {
        // User tokens lived in the previous process's memory only: tasks still waiting
        // for an agent to verify theirs can never run as asked.
        let orphaned = try await store.rejectTasksAwaitingUserToken(
            reason: "the hub restarted before an agent took this task and user tokens are kept in memory only; submit it again",
            at: now())
        if !orphaned.isEmpty {
            logger.notice(
                "rejected tasks whose user token was lost in the restart", metadata: ["tasks": "\(orphaned.count)"])
            metrics.recordFinished(orphaned)
        }
        let queued = try await store.queuedTasks()
        let active = try await store.activeTasks()
        let agents = try await store.listAgents(includeOffline: false)
        await dispatcher.load(queued: queued, active: active, agents: agents, now: now())
    }

    /// Graceful shutdown: long polls and watchers answer now so the server drains fast.
    func beginShutdown() async {
        lifecycle.withLock { $0.isShuttingDown = true }
        watchers.shutdown()
        await dispatcher.beginShutdown()
    }

    /// Closes outbound HTTP clients (STS); called once everything else stopped.
    func shutdownClients() async {
        await stsVerifier.shutdown()
    }

    /// Writes pending heartbeats; on failure they are kept for the next try.
    func flushHeartbeats() async {
        let beats = await dispatcher.takeHeartbeats()
        guard !beats.isEmpty else { return }
        do {
            try await store.recordHeartbeats(beats)
        } catch {
            logger.warning("could not record agent heartbeats", metadata: ["error": "\(error)"])
            await dispatcher.restoreHeartbeats(beats)
        }
    }
}
