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

    package init(
        id: String, name: String, type: String, tags: TagSet, status: Status, version: String, os: String,
        concurrency: Int, runningTasks: Int = 0, providerFingerprint: String = "", registeredAt: Date,
        lastSeenAt: Date
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
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type, tags, status, version, os, concurrency
        case runningTasks = "running_tasks"
        case providerFingerprint = "provider_fingerprint"
        case registeredAt = "registered_at"
        case lastSeenAt = "last_seen_at"
    }
}

/// A pool of agents sharing one registration token (and, later, naming rules).
package struct AgentType: Codable, Sendable, Equatable {
    package var name: String
    package var createdAt: Date
    /// When the registration token was last issued.
    package var tokenRotatedAt: Date

    package init(name: String, createdAt: Date, tokenRotatedAt: Date) {
        self.name = name
        self.createdAt = createdAt
        self.tokenRotatedAt = tokenRotatedAt
    }

    enum CodingKeys: String, CodingKey {
        case name
        case createdAt = "created_at"
        case tokenRotatedAt = "token_rotated_at"
    }
}
