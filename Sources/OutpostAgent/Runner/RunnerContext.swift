import Foundation
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
    /// Signed-task enforcement; `nil` only in tests that do not exercise it.
    var signatures: (any TaskSignatureChecking)?
    var maskingPolicy: MaskingPolicy
    /// Every value the agent holds, masked in every task's log whether or not the task can
    /// see it: its sensitive variables (`*_TOKEN`, ...), its registration token, what its
    /// providers could serve (every `OUTPOST_SECRET_*` of the env provider) and
    /// `maskedValues`. The session token changes with each registration: see `maskedValues(sessionToken:)`.
    var agentSensitiveValues: [(name: String, value: String)]
    /// The agent's PATH, HOME and LANG: the only variables a task inherits from it
    /// (with `runAs`, HOME is that user's).
    var inheritedEnvironment: [String: String]
    /// The user tasks run as; `nil`: the agent's own.
    var runAs: TaskIdentity?
    /// Told the id of a task whose finish the hub answered by handing its slot to the
    /// agent's waiting poll: that slot is free at once (`DaemonControl.slotTakenOver`).
    var slotTakenOver: @Sendable (String) -> Void = { _ in }
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
        agentSensitiveValues =
            maskingPolicy.sensitiveValues(in: inheritedEnvironment)
            + [(name: "the agent's registration token", value: configuration.registrationToken)]
            + (configuration.secrets.heldValues + configuration.maskedValues).map { (name: $0.name, value: $0.value) }
        var inherited = inheritedEnvironment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        if let runAs = configuration.runAs {
            // The agent's HOME is not the task user's to use; its own is, when it exists.
            var isDirectory: ObjCBool = false
            let hasHome = FileManager.default.fileExists(atPath: runAs.home, isDirectory: &isDirectory) && isDirectory.boolValue
            inherited["HOME"] = hasHome ? runAs.home : nil
        }
        self.inheritedEnvironment = inherited
        runAs = configuration.runAs
        self.logger = logger
    }
}

extension RunnerContext {
    /// `agentSensitiveValues` plus the session token the agent holds now.
    func maskedValues(sessionToken: String?) -> [(name: String, value: String)] {
        guard let sessionToken, !sessionToken.isEmpty else { return agentSensitiveValues }
        return agentSensitiveValues + [(name: "the agent's session token", value: sessionToken)]
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
