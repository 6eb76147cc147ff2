package import Foundation

/// How an agent looks to users (`outpost agents`).
package struct AgentRecord: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable {
        /// Polling, with free slots.
        case online
        /// Polling, every slot taken.
        case busy
        /// Finishing its running tasks, taking no new ones.
        case draining
        /// Deregistered or silent past the heartbeat timeout.
        case offline
    }

    package var id: String
    package var name: String
    /// The agent type it registered under.
    package var type: String
    package var tags: TagSet
    package var status: Status
    package var version: String
    package var os: String
    package var concurrency: Int
    /// Tasks the hub has assigned to the agent that are not yet terminal.
    package var runningTasks: Int
    /// Fingerprint of the agent's secret-provider layout (names and types only).
    package var providerFingerprint: String
    package var registeredAt: Date
    package var lastSeenAt: Date
    /// The verified AWS caller (ARN) of an agent named by the `aws-sts` policy.
    package var awsARN: String?
    /// The hub tells the agent to disconnect once it finished one task.
    package var disconnectAfterJob: Bool
    /// The hub tells the agent to disconnect after this long without a task.
    package var idleTimeoutSeconds: Double?
    /// The signed-task mode the agent enforces: the stricter of its own setting and
    /// its type's hint, as it reported at registration.
    package var signedTasks: SignedTaskMode

    package init(
        id: String, name: String, type: String, tags: TagSet, status: Status, version: String, os: String,
        concurrency: Int, runningTasks: Int = 0, providerFingerprint: String = "", registeredAt: Date,
        lastSeenAt: Date, awsARN: String? = nil, disconnectAfterJob: Bool = false, idleTimeoutSeconds: Double? = nil,
        signedTasks: SignedTaskMode = .off
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.tags = tags
        self.status = status
        self.version = version
        self.os = os
        self.concurrency = concurrency
        self.runningTasks = runningTasks
        self.providerFingerprint = providerFingerprint
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
        self.awsARN = awsARN
        self.disconnectAfterJob = disconnectAfterJob
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type, tags, status, version, os, concurrency
        case runningTasks = "running_tasks"
        case providerFingerprint = "provider_fingerprint"
        case registeredAt = "registered_at"
        case lastSeenAt = "last_seen_at"
        case awsARN = "aws_arn"
        case disconnectAfterJob = "disconnect_after_job"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case signedTasks = "signed_tasks"
    }
}

