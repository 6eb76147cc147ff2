import OutpostCore
import Synchronization

/// Counters the hub keeps for `/metrics`, and the Prometheus text rendering.
///
/// Hand-written text exposition format 0.0.4: a handful of series do not need a
/// metrics library yet.
final class HubMetrics: Sendable {
    private let finished = Mutex<[TaskStatus: Int]>([:])

    /// A task reached a terminal status (counted once per transition the hub saw).
    func recordFinished(_ status: TaskStatus) {
        guard status.isTerminal else { return }
        finished.withLock { $0[status, default: 0] += 1 }
    }

    func recordFinished(_ tasks: [TaskRecord]) {
        for task in tasks { recordFinished(task.status) }
    }

    var finishedCounts: [TaskStatus: Int] { finished.withLock { $0 } }

    /// Renders the exposition text.
    static func render(snapshot: DispatcherSnapshot, offlineAgents: Int, finished: [TaskStatus: Int]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        family("outpost_tasks", "gauge", "Tasks the hub holds that are not finished yet, by status.")
        out += "outpost_tasks{status=\"queued\"} \(snapshot.queuedTasks)\n"
        for status in [TaskStatus.assigned, .running] {
            out += "outpost_tasks{status=\"\(status.rawValue)\"} \(snapshot.activeTasksByStatus[status] ?? 0)\n"
        }

        family(
            "outpost_tasks_finished_total", "counter",
            "Tasks that reached a terminal status since the hub started, by status.")
        for status in TaskStatus.allCases where status.isTerminal {
            out += "outpost_tasks_finished_total{status=\"\(status.rawValue)\"} \(finished[status] ?? 0)\n"
        }

        family("outpost_agents", "gauge", "Registered agents, by status.")
        var agents: [AgentRecord.Status: Int] = [:]
        for agent in snapshot.agents.values { agents[agent.status, default: 0] += 1 }
        for status in [AgentRecord.Status.online, .busy, .draining] {
            out += "outpost_agents{status=\"\(status.rawValue)\"} \(agents[status] ?? 0)\n"
        }
        out += "outpost_agents{status=\"offline\"} \(offlineAgents)\n"

        family("outpost_queued_tasks", "gauge", "Tasks waiting for an agent.")
        out += "outpost_queued_tasks \(snapshot.queuedTasks)\n"

        family("outpost_polls_waiting", "gauge", "Agent polls held open waiting for work.")
        out += "outpost_polls_waiting \(snapshot.waitingPolls)\n"
        return out
    }
}
