import Prometheus

/// One series family of `/metrics`: its name, Prometheus type and HELP text.
///
/// The HELP texts carry the definitions operators scale on (docs/autoscaling.md
/// repeats them), so a scrape explains itself.
struct MetricFamily: Sendable {
    enum Kind: String, Sendable {
        case gauge, counter, histogram
    }

    var name: String
    var kind: Kind
    var help: String

    var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// The `# HELP` and `# TYPE` lines alone, for a family that has no sample yet (the
    /// registry only writes families it holds a series of). Help texts here are
    /// constants without backslashes or line breaks, so nothing needs escaping.
    var header: String { "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n" }
}

/// Every family the hub exposes.
enum HubSeries {
    // MARK: Totals (kept from the first `/metrics`)

    static let tasks = MetricFamily(
        name: "outpost_tasks", kind: .gauge,
        help: "Tasks the hub holds that are not finished yet, by status (queued, assigned, running).")
    static let tasksFinished = MetricFamily(
        name: "outpost_tasks_finished_total", kind: .counter,
        help: "Tasks that reached a terminal status since the hub started, by status.")
    static let agents = MetricFamily(
        name: "outpost_agents", kind: .gauge,
        help: "Registered agents by status: online (free slot), busy (no free slot), draining, offline.")
    static let queuedTasks = MetricFamily(
        name: "outpost_queued_tasks", kind: .gauge, help: "Tasks waiting for an agent.")
    static let pollsWaiting = MetricFamily(
        name: "outpost_polls_waiting", kind: .gauge, help: "Agent polls held open waiting for work.")

    // MARK: Autoscaling signals, per target tag set or per agent type and tag set

    static let queuedTasksByTags = MetricFamily(
        name: "outpost_queued_tasks_by_tags", kind: .gauge,
        help: "Tasks waiting for an agent, by the tag set of their target (tags: comma-separated, empty for none).")
    static let oldestQueuedAge = MetricFamily(
        name: "outpost_oldest_queued_task_age_seconds", kind: .gauge,
        help: "Seconds the longest-waiting task of each target tag set has been queued; 0 when none waits.")
    static let runningTasks = MetricFamily(
        name: "outpost_running_tasks", kind: .gauge,
        help: "Tasks assigned to or running on connected agents, by agent type and agent tag set.")
    static let agentsByType = MetricFamily(
        name: "outpost_agents_by_type", kind: .gauge,
        help: "Connected agents by agent type, tag set and state. online: takes work and has a free slot;"
            + " busy: not draining and no free slot; draining: finishing its tasks and taking none;"
            + " idle: online with no task assigned (a subset of online). online + busy + draining = connected.")
    static let agentSlots = MetricFamily(
        name: "outpost_agent_slots", kind: .gauge,
        help: "Task slots of connected agents by agent type and tag set. kind=total: sum of their concurrency;"
            + " kind=free: slots that could take a task now (the smaller of what the agent last reported"
            + " and its concurrency minus the tasks assigned to it; 0 while draining).")
    static let dispatchLatency = MetricFamily(
        name: "outpost_dispatch_latency_seconds", kind: .histogram,
        help: "Seconds from a task being queued to an agent claiming it, by the tag set of its target.")

    // MARK: The listener

    static let connectionsOpen = MetricFamily(
        name: "outpost_connections_open", kind: .gauge, help: "Client connections open to the hub's API now.")
    static let connectionsRefused = MetricFamily(
        name: "outpost_connections_refused_total", kind: .counter,
        help: "Connections refused with a 503 at a cap since the hub started, by cap:"
            + " total (max_connections) or peer (max_connections_per_peer).")
    static let connectionsTimedOut = MetricFamily(
        name: "outpost_connections_timed_out_total", kind: .counter,
        help: "Connections the hub closed since it started for being slow or silent, by timeout:"
            + " header_read (no complete request head in time) or idle (silent between requests or in a body).")

    // MARK: Several replicas

    static let clusterNotifyStatements = MetricFamily(
        name: "outpost_cluster_notify_statements_total", kind: .counter,
        help: "NOTIFY statements this replica sent to the other replicas since it started; each carries every"
            + " event queued since the one before, so under load there are far fewer than events. 0 on a hub alone.")

    /// Dispatch latency buckets: from a waiting agent's instant pick-up to an hour in the queue.
    static let dispatchLatencyBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
    ]
}
