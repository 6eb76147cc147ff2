import Logging
import OutpostClient
import OutpostCore
import OutpostMasking
import OutpostSecrets
import Synchronization

/// The current agent token. A re-registration replaces it while tasks keep
/// running, so every call reads it afresh. Never logged.
final class SessionCredentials: Sendable {
    private let token = Mutex<String?>(nil)

    init(token: String? = nil) {
        self.token.withLock { $0 = token }
    }

    var current: String? { token.withLock { $0 } }

    func set(_ newToken: String?) {
        token.withLock { $0 = newToken }
    }
}

/// What every task runner shares: the hub, the session, timing settings and paths.
struct RunnerContext: Sendable {
    var hub: any AgentHubAPI
    var credentials: SessionCredentials
    var clock: any AgentClock
    var paths: WorkDirectory
    var killGrace: Duration
    var drainTimeout: Duration
    var logFlushBytes: Int
    var logFlushInterval: Duration
    var maxLogBytes: Int64
    var backoff: Backoff
    var stopReportTimeout: Duration
    var integrations: IntegrationCatalog
    var secrets: any SecretResolver
    /// User-token enforcement; `nil` when the agent has no `jwk_url`.
    var userTokens: (any UserTokenChecking)?
    var maskingPolicy: MaskingPolicy
    /// Values of the agent's own sensitive variables (`*_TOKEN`, ...), masked in every task's log.
    var agentSensitiveValues: [(name: String, value: String)]
    /// The agent's PATH, HOME and LANG: the only variables a task inherits from it.
    var inheritedEnvironment: [String: String]
    var logger: Logger

    init(
        configuration: AgentConfiguration,
        hub: any AgentHubAPI,
        credentials: SessionCredentials,
        clock: any AgentClock,
        paths: WorkDirectory,
        inheritedEnvironment: [String: String],
        logger: Logger
    ) {
        self.hub = hub
        self.credentials = credentials
        self.clock = clock
        self.paths = paths
        killGrace = configuration.killGrace
        drainTimeout = configuration.drainTimeout
        logFlushBytes = configuration.logFlushBytes
        logFlushInterval = configuration.logFlushInterval
        maxLogBytes = configuration.maxLogBytes
        backoff = Backoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay)
        stopReportTimeout = configuration.stopReportTimeout
        integrations = configuration.integrations
        secrets = configuration.secrets
        userTokens = configuration.userTokens
        maskingPolicy = MaskingPolicy(configuration.masking)
        agentSensitiveValues = maskingPolicy.sensitiveValues(in: inheritedEnvironment)
        self.inheritedEnvironment = inheritedEnvironment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        self.logger = logger
    }
}

/// Ships a task's log to the hub with the session's current token.
struct HubLogSink: LogSink {
    var hub: any AgentHubAPI
    var credentials: SessionCredentials
    var taskID: String

    func append(offset: Int64, bytes: [UInt8]) async throws(ClientError) -> Int64 {
        try await hub.appendLog(taskID: taskID, offset: offset, bytes: bytes, agentToken: credentials.current ?? "")
    }
}
