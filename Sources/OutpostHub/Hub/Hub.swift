import Foundation
import Logging
import OutpostStore
import Synchronization

/// The hub's parts wired together: what every route, the sweeper and the runtime share.
final class Hub: Sendable {
    let configuration: HubConfiguration
    let store: any HubStore
    let dispatcher: Dispatcher
    let watchers: TaskWatchers
    /// How this replica hears from the others (and whether it leads); a hub alone
    /// on SQLite has a channel with nobody on it and always leads.
    let cluster: any ClusterChannel
    /// Whether this replica does the leader-only work (sweeper, retention).
    private let leading: Mutex<Bool>
    /// Seals user tokens for the other replicas (`cluster_key_file`); `nil` on a hub alone
    /// or without a key (then tasks with a user token are refused by a replica).
    let userTokenSeal: UserTokenSeal?
    let metrics = HubMetrics()
    /// The last `/metrics` body, served again for `metricsSnapshotInterval`.
    let metricsCache = MetricsSnapshotCache()
    let secretListings = SecretListings()
    /// Whether the store answers, for `/readyz`.
    let storeProbe: StoreProbe
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
        callerIdentity: (any CallerIdentityVerifier)? = nil, agentCertificates: AgentCertificates? = nil,
        cluster: (any ClusterChannel)? = nil, userTokenSeal: UserTokenSeal? = nil
    ) {
        self.userTokenSeal = userTokenSeal
        storeProbe = StoreProbe(store: store)
        let cluster = cluster ?? SingleHubChannel()
        self.cluster = cluster
        let alone = cluster is SingleHubChannel
        leading = Mutex(alone)
        watchers = TaskWatchers(longestWait: alone ? nil : ClusterTiming.reconcileInterval)
        self.configuration = configuration
        self.agentCertificates = agentCertificates
        self.callerIdentity = callerIdentity ?? stsVerifier
        self.store = store
        self.clock = clock
        self.logger = logger
        dispatcher = Dispatcher(logger: logger)
    }

    func now() -> Date { clock.now() }

    /// With several replicas, how old an agent's stored last-seen time may get before
    /// it is written again: a quarter of the heartbeat timeout, so the leader never
    /// sees a live agent as silent.
    var heartbeatWriteInterval: TimeInterval { configuration.heartbeatTimeout.seconds / 4 }

    /// Whether this replica does the leader-only work now.
    var isLeader: Bool { leading.withLock { $0 } }

    /// Whether other replicas may share the store (several hubs on PostgreSQL).
    var isClustered: Bool { !(cluster is SingleHubChannel) }

    func setLeader(_ value: Bool) {
        leading.withLock { $0 = value }
    }

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
        if isClustered {
            // Other replicas run on: their tasks, tokens and agents are theirs to keep.
            let queued = try await store.queuedTasks()
            let active = try await store.activeTasks()
            await dispatcher.load(queued: queued, active: active, agents: [], now: now())
            return
        }
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

    /// Writes pending heartbeats; on failure they are kept for the next try. With
    /// several replicas, coarsely (see `Dispatcher.takeCoarseHeartbeats`).
    func flushHeartbeats() async {
        let beats = isClustered
            ? await dispatcher.takeCoarseHeartbeats(now: now(), interval: heartbeatWriteInterval)
            : await dispatcher.takeHeartbeats()
        guard !beats.isEmpty else { return }
        do {
            try await store.recordHeartbeats(beats)
        } catch {
            logger.warning("could not record agent heartbeats", metadata: ["error": "\(error)"])
            await dispatcher.restoreHeartbeats(beats)
        }
    }
}
