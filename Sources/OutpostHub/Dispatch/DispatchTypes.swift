import Foundation
package import OutpostCore

/// Who an authenticated agent is, as the routes see it.
package struct AgentIdentity: Sendable, Equatable {
    package var id: String
    package var name: String
    package var type: String
    package var tags: TagSet

    init(_ record: AgentRecord) {
        id = record.id
        name = record.name
        type = record.type
        tags = record.tags
    }

    /// What the agent offers to `Routing`.
    var route: AgentRoute { AgentRoute(type: type, tags: tags) }
}

/// What the dispatcher gives a poll: tasks to claim, assignments to send again, and
/// control messages.
struct DispatchHandout: Sendable, Equatable {
    /// Queued tasks taken for this poll; the poll claims them on the store.
    var candidates: [TaskQueue.Entry] = []
    /// Tasks assigned to the agent earlier whose assignment it never acknowledged
    /// (the answer carrying them was lost): sent again.
    var redeliveries: [TaskAssignment] = []
    var controls: [ControlMessage] = []
    /// `true` when the poll must be answered now even if empty (deadline, a newer
    /// poll of the same agent, shutdown, agent gone).
    var isFinal = false

    var isEmpty: Bool { candidates.isEmpty && redeliveries.isEmpty && controls.isEmpty }

    static let finalEmpty = DispatchHandout(isFinal: true)
}

/// The dispatcher's answer to a poll's arrival.
struct PollTicket: Sendable, Equatable {
    /// Which poll of the agent this is; a newer poll supersedes older ones.
    var generation: UInt64
    /// Set when the poll can be answered at once; otherwise the poll waits on `waiterID`.
    var handout: DispatchHandout?
    var waiterID: Int?
    /// When a waiting agent's idle timeout runs out: the poll looks again then.
    var idleDeadline: Date?
}

/// How the dispatcher knows a bearer token's hash.
enum AgentLookup: Sendable, Equatable {
    case known(AgentIdentity)
    /// Not cached: ask the store.
    case unknown
}

/// A point-in-time view of the dispatcher, for `/metrics` and `GET /api/v1/agents`.
struct DispatcherSnapshot: Sendable {
    struct LiveAgent: Sendable {
        var status: AgentRecord.Status
        var lastSeen: Date
        var activeTasks: Int
    }

    var queuedTasks: Int
    var waitingPolls: Int
    var activeTasksByStatus: [TaskStatus: Int]
    var agents: [String: LiveAgent]
}
