import OutpostClient
import OutpostCore

/// The agent's session with the hub as a pure value: whether it is registered,
/// whether it takes work, and what a call's failure means. Each method returns
/// the next thing to do; `AgentDaemon` performs it. Tested without I/O.
struct AgentSessionStateMachine: Sendable, Equatable {
    /// How much work the agent takes.
    enum Mode: Sendable, Equatable {
        /// Polls with its free slots.
        case active
        /// Graceful shutdown: polls with no free slots (`draining: true`) until its tasks are done.
        case draining
        /// Hard stop: no more polls; its tasks are being torn down.
        case stopping
    }

    enum Action: Sendable, Equatable {
        /// Call `register`.
        case register
        /// Long-poll with this request.
        case poll(PollRequest)
        /// Wait before trying again (backoff attempt number, 1-based).
        case backOff(attempt: Int)
        /// Leave the loop; deregister once every task is done.
        case deregister
        /// Leave the loop without deregistering (never registered).
        case stop
        /// Leave the loop and fail: the CLI exits non-zero with this message.
        case fail(AgentError.Code, String)
    }

    let concurrency: Int
    /// The hub URL in use (with several replicas, the one that answered last), for messages only.
    var hubURL: String
    /// Whether the agent has a way to sign an AWS identity (`aws-sts` agent types).
    let canSignAWSIdentity: Bool
    private(set) var mode: Mode = .active
    private(set) var isRegistered = false
    /// Consecutive failed calls, for the backoff.
    private(set) var failures = 0
    /// Whether `register` carries a signed AWS identity: from the start when the
    /// configuration says so, else once the hub asked for one.
    private(set) var provesAWSIdentity: Bool
    /// How long a poll may take before it counts as lost: the hub's poll wait plus a
    /// margin for the network (60 s until the hub said its wait).
    private(set) var pollDeadline: Duration = .seconds(60)

    init(concurrency: Int, hubURL: String, signsAWSIdentityUpFront: Bool = false, canSignAWSIdentity: Bool = false) {
        self.concurrency = concurrency
        self.hubURL = hubURL
        self.canSignAWSIdentity = canSignAWSIdentity
        provesAWSIdentity = signsAWSIdentityUpFront && canSignAWSIdentity
    }

    /// What to do now, given the ids of the tasks the agent holds.
    func next(running: [String]) -> Action {
        switch (mode, isRegistered) {
        case (.stopping, true):
            return .deregister
        case (.stopping, false):
            return .stop
        case (.draining, false):
            // Tasks still running need a session to deliver their logs and reports.
            return running.isEmpty ? .stop : .register
        case (.active, false):
            return .register
        case (.draining, true):
            if running.isEmpty { return .deregister }
            return .poll(PollRequest(running: running, freeSlots: 0, draining: true))
        case (.active, true):
            return .poll(PollRequest(running: running, freeSlots: max(0, concurrency - running.count), draining: false))
        }
    }

    mutating func beginDraining() {
        if mode == .active { mode = .draining }
    }

    mutating func beginStopping() {
        mode = .stopping
    }

    /// Registered; the hub answers a poll within `pollTimeoutSeconds`.
    mutating func registerSucceeded(pollTimeoutSeconds: Double = 45) {
        isRegistered = true
        failures = 0
        let hubWait = pollTimeoutSeconds.isFinite ? min(max(pollTimeoutSeconds, 0), 3600) : 45
        pollDeadline = .milliseconds(Int64(hubWait * 1000)) + .seconds(15)
    }

    /// A failed `register`: retry later while the hub is unreachable; fail when it
    /// refuses; register again at once, signing an AWS identity, when the agent type
    /// names agents after theirs.
    mutating func registerFailed(_ error: ClientError) -> Action {
        if error.apiCode == .awsIdentityRequired {
            guard canSignAWSIdentity, !provesAWSIdentity else {
                return .fail(.registrationFailed, error.message)
            }
            provesAWSIdentity = true
            return .register
        }
        if case .tls = error.code {
            // The hub's certificate was refused: the message names the cause; the hub
            // did not refuse anything, so say only what the client found.
            return .fail(.registrationFailed, error.message)
        }
        if error.apiCode == .identityRefused {
            return .fail(
                .registrationFailed,
                "the hub at \(hubURL) refused this agent's AWS identity: \(error.message)")
        }
        if error.apiCode == .forbidden {
            // The token is good but the agent type does not admit this agent (a tag
            // outside its allowed tags): the hub's message names what to change.
            return .fail(.registrationRefused, "the hub at \(hubURL) refused this agent: \(error.message)")
        }
        if error.status == 401 || error.status == 403 {
            return .fail(
                .registrationRefused,
                "the hub at \(hubURL) refused the registration token (HTTP \(error.status ?? 0)): check --token "
                    + "(or OUTPOST_AGENT_TOKEN); `outpost agent-type create NAME` prints a new one and "
                    + "`outpost agent-type rotate-token NAME` replaces a lost one")
        }
        // `name_in_use`: the name is still held by an online agent — usually this
        // agent's own previous run, until the hub times it out. Waiting is the fix.
        if error.isRetryable || error.apiCode == .nameInUse {
            failures += 1
            return .backOff(attempt: failures)
        }
        return .fail(.registrationFailed, "the hub at \(hubURL) refused to register this agent: \(error.message)")
    }

    mutating func pollSucceeded() {
        failures = 0
    }

    /// A failed `poll`: the hub dropped the session or refused its client certificate
    /// (re-register at once, tasks go on), or it is unreachable or misbehaving (retry
    /// with backoff; tasks go on).
    mutating func pollFailed(_ error: ClientError) -> Action {
        if HubFailure(error) == .sessionExpired {
            isRegistered = false
            failures = 0
            return .register
        }
        failures += 1
        return .backOff(attempt: failures)
    }

    /// The client certificate is gone (expired unrenewed; the renewer decided): every
    /// call would be refused, so register again at once for a new one; tasks go on.
    mutating func clientCertificateLost() {
        isRegistered = false
        failures = 0
    }

    mutating func deregistered() {
        isRegistered = false
    }
}
