/// The agent ⇄ hub wire protocol (DESIGN.md). The agent always dials out.
///
/// | step | call |
/// |---|---|
/// | register | `POST /api/v1/agent/register` with the registration token as bearer |
/// | poll | `POST /api/v1/agent/poll` (long poll; also the heartbeat) |
/// | start | `POST /api/v1/agent/tasks/{id}/start` (optional `StartRequest` body) |
/// | log | `POST /api/v1/agent/tasks/{id}/log?offset=N`, raw bytes |
/// | finish | `POST /api/v1/agent/tasks/{id}/finish` |
/// | deregister | `POST /api/v1/agent/deregister` |
///
/// Every call after `register` carries the agent token as bearer.
package enum AgentProtocol {
    /// Version of this wire protocol; the hub refuses agents it cannot speak to.
    package static let version = 1
    /// Header of a finish answer (`true`) when the agent's waiting poll took over the
    /// finished task's slot: the hub counts it free and hands work to that poll, so
    /// the agent keeps the poll open instead of cancelling it to announce the slot.
    /// Absent: the agent announces the slot with a new poll, as before. (Over the
    /// channel: the reply's `poll_took_slot`.)
    package static let pollTookSlotHeader = "Outpost-Poll-Took-Slot"
}

/// Body of `POST /api/v1/agent/register`.
package struct RegisterRequest: Codable, Sendable, Equatable {
    /// Requested name; `nil` lets the agent type's policy decide (a random name).
    package var name: String?
    package var tags: TagSet
    /// The agent's own version string.
    package var version: String
    package var os: String
    package var concurrency: Int
    /// Fingerprint of the secret-provider layout (names and types, never credentials).
    package var providerFingerprint: String
    package var protocolVersion: Int
    /// For agent types with the `aws-sts` name policy: a signed STS
    /// `GetCallerIdentity` request the hub replays to learn the agent's identity.
    package var awsIdentity: SignedHTTPRequest?
    /// Ask the hub to tell this agent to disconnect once it finished one task.
    package var disconnectAfterJob: Bool
    /// Ask the hub to tell this agent to disconnect after this long without a task.
    package var idleTimeoutSeconds: Double?
    /// PEM certificate signing request for the agent's own key (P-256, kept in its
    /// work directory). The hub signs it when the agent type requires client certificates.
    package var certificateSigningRequest: String?
    /// The signed-task mode the agent enforces by its own setting (`require_signed_tasks`).
    package var signedTasks: SignedTaskMode

    package init(
        name: String?, tags: TagSet, version: String, os: String, concurrency: Int,
        providerFingerprint: String = "", protocolVersion: Int = AgentProtocol.version,
        awsIdentity: SignedHTTPRequest? = nil, disconnectAfterJob: Bool = false, idleTimeoutSeconds: Double? = nil,
        certificateSigningRequest: String? = nil, signedTasks: SignedTaskMode = .off
    ) {
        self.name = name
        self.tags = tags
        self.version = version
        self.os = os
        self.concurrency = concurrency
        self.providerFingerprint = providerFingerprint
        self.protocolVersion = protocolVersion
        self.awsIdentity = awsIdentity
        self.disconnectAfterJob = disconnectAfterJob
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.certificateSigningRequest = certificateSigningRequest
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case name, tags, version, os, concurrency
        case signedTasks = "signed_tasks"
        case providerFingerprint = "provider_fingerprint"
        case protocolVersion = "protocol_version"
        case awsIdentity = "aws_identity"
        case disconnectAfterJob = "disconnect_after_job"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case certificateSigningRequest = "csr"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        tags = try c.decode(TagSet.self, forKey: .tags)
        version = try c.decode(String.self, forKey: .version)
        os = try c.decode(String.self, forKey: .os)
        concurrency = try c.decode(Int.self, forKey: .concurrency)
        providerFingerprint = try c.decodeIfPresent(String.self, forKey: .providerFingerprint) ?? ""
        protocolVersion = try c.decode(Int.self, forKey: .protocolVersion)
        awsIdentity = try c.decodeIfPresent(SignedHTTPRequest.self, forKey: .awsIdentity)
        disconnectAfterJob = try c.decodeIfPresent(Bool.self, forKey: .disconnectAfterJob) ?? false
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds)
        certificateSigningRequest = try c.decodeIfPresent(String.self, forKey: .certificateSigningRequest)
        signedTasks = try c.decodeIfPresent(SignedTaskMode.self, forKey: .signedTasks) ?? .off
    }
}

/// Answer to `register`.
package struct RegisterResponse: Codable, Sendable, Equatable {
    package var agentID: String
    /// The final name (the requested one, or one the hub chose).
    package var name: String
    /// Bearer token for every later call of this session; shown only here.
    package var agentToken: String
    /// How long the hub holds a poll open before answering empty.
    package var pollTimeoutSeconds: Double
    /// Silence after which the hub marks the agent offline.
    package var heartbeatTimeoutSeconds: Double
    /// For agent types that require client certificates: the agent's certificate,
    /// which every later call must present (mutual TLS).
    package var clientCertificate: ClientCertificateGrant?
    /// The signed-task mode the agent's type asks for: the agent enforces the stricter
    /// of this and its own. Absent from older hubs: `off`.
    package var signedTasks: SignedTaskMode

    package init(
        agentID: String, name: String, agentToken: String, pollTimeoutSeconds: Double,
        heartbeatTimeoutSeconds: Double, clientCertificate: ClientCertificateGrant? = nil,
        signedTasks: SignedTaskMode = .off
    ) {
        self.agentID = agentID
        self.name = name
        self.agentToken = agentToken
        self.pollTimeoutSeconds = pollTimeoutSeconds
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
        self.clientCertificate = clientCertificate
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case name
        case signedTasks = "signed_tasks"
        case agentID = "agent_id"
        case agentToken = "agent_token"
        case pollTimeoutSeconds = "poll_timeout_seconds"
        case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
        case clientCertificate = "client_certificate"
    }

    /// The agent turns these numbers into durations: anything past a day (or not
    /// finite) is refused here rather than trapping in a conversion later.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agentID = try c.decode(String.self, forKey: .agentID)
        name = try c.decode(String.self, forKey: .name)
        agentToken = try c.decode(String.self, forKey: .agentToken)
        pollTimeoutSeconds = try c.decode(Double.self, forKey: .pollTimeoutSeconds)
        heartbeatTimeoutSeconds = try c.decode(Double.self, forKey: .heartbeatTimeoutSeconds)
        clientCertificate = try c.decodeIfPresent(ClientCertificateGrant.self, forKey: .clientCertificate)
        // An unknown mode from a newer hub is read as the strictest, never as off.
        signedTasks = try c.decodeIfPresent(String.self, forKey: .signedTasks).map { SignedTaskMode(rawValue: $0) ?? .require } ?? .off
        for (key, value) in [(CodingKeys.pollTimeoutSeconds, pollTimeoutSeconds), (.heartbeatTimeoutSeconds, heartbeatTimeoutSeconds)]
        where !(0...86_400).contains(value) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "must be a number of seconds from 0 to 86400")
        }
    }
}

/// Body of `POST /api/v1/agent/poll`.
package struct PollRequest: Codable, Sendable, Equatable {
    /// Ids of the tasks the agent is running right now.
    package var running: [String]
    /// How many more tasks it can take.
    package var freeSlots: Int
    /// `true` while the agent shuts down gracefully: it wants no new work.
    package var draining: Bool

    package init(running: [String], freeSlots: Int, draining: Bool = false) {
        self.running = running
        self.freeSlots = freeSlots
        self.draining = draining
    }

    enum CodingKeys: String, CodingKey {
        case running, draining
        case freeSlots = "free_slots"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        running = try c.decodeIfPresent([String].self, forKey: .running) ?? []
        freeSlots = try c.decode(Int.self, forKey: .freeSlots)
        draining = try c.decodeIfPresent(Bool.self, forKey: .draining) ?? false
    }
}

/// Answer to `poll`: work, control messages, or nothing at the deadline.
package struct PollResponse: Codable, Sendable, Equatable {
    package var assignments: [TaskAssignment]
    package var controls: [ControlMessage]

    package init(assignments: [TaskAssignment] = [], controls: [ControlMessage] = []) {
        self.assignments = assignments
        self.controls = controls
    }

    package var isEmpty: Bool { assignments.isEmpty && controls.isEmpty }
}

/// A task handed to an agent: everything it needs to run it.
package struct TaskAssignment: Codable, Sendable, Equatable {
    package var taskID: String
    /// The target as it was when the task was submitted.
    package var target: Target
    package var script: String
    package var timeoutSeconds: Int
    /// The submitting user's session token (JWT), for agents that enforce user
    /// tokens. Added by the hub from memory when it hands the task out; never stored.
    package var userToken: String?
    /// The submitter's signature, as the client sent it (signed tasks). The agent
    /// checks it against everything above before it fetches any secret.
    package var signature: SignedTaskEnvelope?

    package init(
        taskID: String, target: Target, script: String, timeoutSeconds: Int, userToken: String? = nil,
        signature: SignedTaskEnvelope? = nil
    ) {
        self.taskID = taskID
        self.target = target
        self.script = script
        self.timeoutSeconds = timeoutSeconds
        self.userToken = userToken
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case target, script, signature
        case taskID = "task_id"
        case timeoutSeconds = "timeout_seconds"
        case userToken = "user_token"
    }

    /// The agent turns `timeout_seconds` into a deadline: a value past a week is
    /// refused here rather than overflowing there.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        taskID = try c.decode(String.self, forKey: .taskID)
        target = try c.decode(Target.self, forKey: .target)
        script = try c.decode(String.self, forKey: .script)
        timeoutSeconds = try c.decode(Int.self, forKey: .timeoutSeconds)
        userToken = try c.decodeIfPresent(String.self, forKey: .userToken)
        signature = try c.decodeIfPresent(SignedTaskEnvelope.self, forKey: .signature)
        guard (0...Self.maxTimeoutSeconds).contains(timeoutSeconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: .timeoutSeconds, in: c, debugDescription: "must be from 0 to \(Self.maxTimeoutSeconds) seconds")
        }
    }

    /// Longest timeout a task may have: one week (the hub refuses longer ones).
    package static let maxTimeoutSeconds = 604_800
}

extension TaskAssignment: CustomStringConvertible {
    /// Never prints the script or the user token.
    package var description: String { "TaskAssignment(\(taskID), target: \(target.name))" }
}

/// An instruction from the hub: about work the agent holds, or a request to answer.
package struct ControlMessage: Codable, Sendable, Equatable {
    package enum Kind: String, Codable, Sendable {
        /// Stop the task (SIGTERM, grace, SIGKILL) and report it `cancelled`.
        case cancel
        /// The hub no longer wants this task (it is terminal there): stop it and drop it.
        case abandon
        /// List secret names (never values) and report them under `request_id`.
        case listSecrets = "list_secrets"
        /// Deregister and exit 0: the hub decided this agent is done (`reason` says why:
        /// it finished its one job, it was idle too long, or an operator drained it).
        case disconnect
    }

    package var kind: Kind
    /// The task concerned (`cancel`, `abandon`); empty for `list_secrets`.
    package var taskID: String
    /// For `list_secrets`: where to send the answer.
    package var requestID: String?
    /// For `list_secrets`: one provider, or every provider when `nil`.
    package var provider: String?
    /// For `list_secrets`: only names under this prefix.
    package var prefix: String?
    /// For `disconnect`: why, in one sentence.
    package var reason: String?

    package init(kind: Kind, taskID: String) {
        self.kind = kind
        self.taskID = taskID
    }

    /// A request to list secret names of `provider` (all providers when `nil`) under `prefix`.
    package static func listSecrets(requestID: String, provider: String?, prefix: String) -> ControlMessage {
        var message = ControlMessage(kind: .listSecrets, taskID: "")
        message.requestID = requestID
        message.provider = provider
        message.prefix = prefix
        return message
    }

    /// Tells the agent to deregister and exit 0.
    package static func disconnect(reason: String) -> ControlMessage {
        var message = ControlMessage(kind: .disconnect, taskID: "")
        message.reason = reason
        return message
    }

    enum CodingKeys: String, CodingKey {
        case kind, provider, prefix, reason
        case taskID = "task_id"
        case requestID = "request_id"
    }
}

/// Secret names of one provider, as an agent lists them for browsing. Never values.
package struct SecretListingEntry: Codable, Sendable, Equatable {
    package var provider: String
    package var names: [String]
    /// Why the provider could not list (names provider and cause), or `nil`.
    package var error: String?

    package init(provider: String, names: [String], error: String? = nil) {
        self.provider = provider
        self.names = names
        self.error = error
    }
}

/// Body of `POST /api/v1/agent/secret-listings/{request_id}` (agent → hub), and
/// the answer of `GET /api/v1/agents/{name}/secrets` (hub → user).
package struct SecretListing: Codable, Sendable, Equatable {
    /// The agent that listed.
    package var agent: String
    package var prefix: String
    package var entries: [SecretListingEntry]

    package init(agent: String, prefix: String, entries: [SecretListingEntry]) {
        self.agent = agent
        self.prefix = prefix
        self.entries = entries
    }
}

/// Answer to a log append.
package struct LogAppendResponse: Codable, Sendable, Equatable {
    /// The offset the hub expects next (the stored log's length).
    package var nextOffset: Int64
    package init(nextOffset: Int64) { self.nextOffset = nextOffset }
    enum CodingKeys: String, CodingKey { case nextOffset = "next_offset" }
}

/// Body of `POST /api/v1/agent/tasks/{id}/finish`.
package struct FinishRequest: Codable, Sendable, Equatable {
    package var status: TaskStatus
    package var exitCode: Int32?
    package var error: String?
    /// Total bytes of log the agent sent; the hub refuses the finish until it has them all.
    package var logBytes: Int64
    /// The verified subject of the task's user token, when the agent checked one.
    package var userSubject: String?
    /// The key id of the task's signature, when the agent verified one.
    package var signedBy: String?
    /// `warn` mode: why the task's signature check failed (the task ran anyway).
    package var signatureWarning: String?

    package init(
        status: TaskStatus, exitCode: Int32?, error: String?, logBytes: Int64, userSubject: String? = nil,
        signedBy: String? = nil, signatureWarning: String? = nil
    ) {
        self.status = status
        self.exitCode = exitCode
        self.error = error
        self.logBytes = logBytes
        self.userSubject = userSubject
        self.signedBy = signedBy
        self.signatureWarning = signatureWarning
    }

    package init(status: TaskStatus, exitCode: Int32?, error: String?, logBytes: Int64, submitter: VerifiedSubmitter) {
        self.init(
            status: status, exitCode: exitCode, error: error, logBytes: logBytes, userSubject: submitter.userSubject,
            signedBy: submitter.signedBy, signatureWarning: submitter.signatureWarning)
    }

    enum CodingKeys: String, CodingKey {
        case status, error
        case exitCode = "exit_code"
        case logBytes = "log_bytes"
        case userSubject = "user_subject"
        case signedBy = "signed_by"
        case signatureWarning = "signature_warning"
    }

    /// What the agent verified about who submitted the task.
    package var submitter: VerifiedSubmitter {
        VerifiedSubmitter(userSubject: userSubject, signedBy: signedBy, signatureWarning: signatureWarning)
    }
}

/// Optional body of `POST /api/v1/agent/tasks/{id}/start`: what the agent verified
/// about who submitted the task, as it is.
package typealias StartRequest = VerifiedSubmitter

/// What an agent verified about who submitted a task before running it: the user
/// token's subject (`jwk_url`) and the signing key (signed tasks), or, in `warn`
/// mode, why the signature did not check out. Empty when it checked nothing.
package struct VerifiedSubmitter: Codable, Sendable, Equatable {
    /// The verified subject of the task's user token, when the agent checked one.
    package var userSubject: String?
    /// The key id of the task's signature, when the agent verified one.
    package var signedBy: String?
    /// `require_signed_tasks: warn`: why the task's signature check failed (the task runs anyway).
    package var signatureWarning: String?

    enum CodingKeys: String, CodingKey {
        case userSubject = "user_subject"
        case signedBy = "signed_by"
        case signatureWarning = "signature_warning"
    }

    package init(userSubject: String? = nil, signedBy: String? = nil, signatureWarning: String? = nil) {
        self.userSubject = userSubject
        self.signedBy = signedBy
        self.signatureWarning = signatureWarning
    }

    package static let none = VerifiedSubmitter()
    package var isEmpty: Bool { userSubject == nil && signedBy == nil && signatureWarning == nil }
}
