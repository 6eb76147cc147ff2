import Foundation
import OutpostClient
import OutpostCore

/// The phases of the `replicas` scenario over the configurations it started, and what
/// each configuration measured (`figures[i]` belongs to `clusters[i]`; the first is SQLite).
struct ReplicasMeasurement {
    let clusters: [BenchCluster]
    let postgres: BenchPostgres
    /// Sequential tasks per latency series and configuration.
    let count: Int
    /// Tasks per throughput burst.
    let tasks: Int
    let runs: Int
    /// Simulated agents for the heartbeat measurement.
    let fleet: Int
    private(set) var figures: [Figures]
    private(set) var heartbeats: Heartbeats?
    private var tokens: [String] = []

    struct Figures {
        var toResult = Samples()
        var toStarted = Samples()
        /// The fastest throughput run.
        var burst: Burst?
        /// PostgreSQL only: what the database did with nothing to do.
        var idle: Counted?
        /// PostgreSQL only: what one more burst of `tasks` cost the database.
        var writes: Counted?
    }

    struct Burst {
        /// From the first submit to the last task's finish.
        var seconds: Double
        var submitSeconds: Double
        var hubCPU: Double
        var serverCPU: Double?
        var notify: Double
    }

    /// PostgreSQL's counters over `seconds`.
    struct Counted {
        var seconds: Double
        var database: BenchPostgres.Statistics
    }

    struct Heartbeats {
        var agents: Int
        var replicas: Int
        var seconds: Double
        /// How old a stored last-seen time gets before a replica writes it again.
        var interval: Double
        var database: BenchPostgres.Statistics
    }

    /// How long PostgreSQL may hold a backend's counters before `pg_stat_database` shows
    /// them. A backend reports when it commits at least a second after its last report;
    /// one that goes idle right after keeps its counts (seen here: for 30 s, past the
    /// 10 s idle report PostgreSQL 15 documents) until its next statement. The hubs'
    /// pools (postgres-nio) run a keep-alive `SELECT 1` on every connection idle for
    /// 30 s, so after 32 s of quiet every backend has reported. Counted work is framed by it.
    static let statisticsLag: Duration = .seconds(32)

    init(clusters: [BenchCluster], postgres: BenchPostgres, options: BenchOptions) {
        self.clusters = clusters
        self.postgres = postgres
        count = options.scaled(500, minimum: 20)
        tasks = options.scaled(2000, minimum: 100)
        runs = options.runs
        fleet = options.scaled(1000, minimum: 30)
        figures = Array(repeating: Figures(), count: clusters.count)
    }

    mutating func run() async throws {
        for cluster in clusters { tokens.append(try await prepare(cluster)) }
        try await latency()
        try await throughput()
        try await countDatabaseWork()
        if let largest = clusters.last, largest.isPostgres, let index = clusters.indices.last {
            heartbeats = try await measureHeartbeats(largest, token: tokens[index])
        }
    }

    /// An agent type, the burst target, and one target per replica pinned by tag.
    private func prepare(_ cluster: BenchCluster) async throws -> String {
        let first = cluster.replicas[0]
        let token = try await first.registrationToken()
        try await first.createTarget("bench-burst")
        for k in cluster.replicas.indices {
            try await first.createTarget(
                "bench-on-replica-\(k)", tags: TagSet(["\(ReplicasScenario.replicaTag)=\(k)"]))
        }
        return token
    }

    /// The configurations in turn, starting with a different one each round.
    private func rotated(_ round: Int) -> [Int] {
        clusters.indices.map { (round + $0) % clusters.count }
    }

    // MARK: Latency

    private mutating func latency() async throws {
        for (index, cluster) in clusters.enumerated() {
            for (k, hub) in cluster.replicas.enumerated() {
                try hub.startAgent(
                    name: "bench-latency-\(k)", registrationToken: tokens[index],
                    tags: TagSet(["\(ReplicasScenario.replicaTag)=\(k)"]))
            }
            for (k, hub) in cluster.replicas.enumerated() { try await hub.waitUntilOnline("bench-latency-\(k)") }
        }
        log("replicas: warming up")
        for round in 0 ..< 20 {
            for c in rotated(round) { _ = try await crossReplicaRun(clusters[c], round, script: "true") }
        }
        log("replicas: \(count) sequential tasks running `true` per configuration, taking turns")
        for round in 0 ..< count {
            for c in rotated(round) {
                figures[c].toResult.add(try await crossReplicaRun(clusters[c], round, script: "true").total)
            }
        }
        // $EPOCHREALTIME is a bash builtin: the script's first act stamps the wall clock. Between two
        // tasks of one configuration at least two of the others ran: its agent is back in its poll.
        log("replicas: \(count) sequential tasks printing $EPOCHREALTIME per configuration (wake-up)")
        for round in 0 ..< count {
            for c in rotated(round) {
                let run = try await crossReplicaRun(clusters[c], round, script: "echo $EPOCHREALTIME")
                let page = try await run.hub.admin.readLog(taskID: run.task.id)
                let text = String(decoding: page.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let started = Double(text) else {
                    throw BenchError("task \(run.task.id) printed \"\(text)\", not a time")
                }
                figures[c].toStarted.add(started - run.submittedAt)
            }
        }
        for cluster in clusters {
            for hub in cluster.replicas { await hub.stopAgents() }
        }
    }

    private struct Run {
        var hub: BenchHub
        var task: TaskRecord
        /// Wall-clock time just before the submit call, as seconds since 1970.
        var submittedAt: Double
        var total: Double
    }

    /// Round `round`'s task: submitted to replica `round % n`, pinned to the agent of the
    /// next replica (the same one when there is only one), waited for where it was submitted.
    private func crossReplicaRun(_ cluster: BenchCluster, _ round: Int, script: String) async throws -> Run {
        let submitter = round % cluster.count
        let target = "bench-on-replica-\((submitter + 1) % cluster.count)"
        let hub = cluster.replicas[submitter]
        let submittedAt = Date().timeIntervalSince1970
        let start = ContinuousClock.now
        let created = try await hub.submit(target, script: script)
        var task = created
        while !task.status.isTerminal { task = try await hub.admin.task(id: created.id, waitSeconds: 30) }
        let total = (ContinuousClock.now - start).seconds
        guard task.status == .succeeded else {
            throw BenchError("\(cluster.label): task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
        }
        return Run(hub: hub, task: task, submittedAt: submittedAt, total: total)
    }

    // MARK: Throughput

    private mutating func throughput() async throws {
        for (index, cluster) in clusters.enumerated() {
            for j in 0 ..< ReplicasScenario.burstAgents {
                try cluster.replicas[j % cluster.count].startAgent(
                    name: "bench-burst-\(j)", registrationToken: tokens[index], concurrency: ReplicasScenario.burstConcurrency)
            }
            for j in 0 ..< ReplicasScenario.burstAgents {
                try await cluster.replicas[j % cluster.count].waitUntilOnline("bench-burst-\(j)")
            }
            _ = try await burst(cluster, tasks: 100)
        }
        for run in 0 ..< runs {
            for c in rotated(run) {
                log("replicas: \(clusters[c].label): \(tasks) tasks at once (run \(run + 1) of \(runs))")
                let result = try await burst(clusters[c], tasks: tasks)
                if figures[c].burst.map({ result.seconds < $0.seconds }) ?? true { figures[c].burst = result }
            }
        }
    }

    private func burst(_ cluster: BenchCluster, tasks: Int) async throws -> Burst {
        // `/metrics` serves one body for a second: let the count of the work before show first.
        try await Task.sleep(for: .milliseconds(1500))
        let notify = cluster.isPostgres ? try await cluster.notifyStatements() : 0
        let hubCPU = cluster.hubCPUSeconds()
        let serverCPU = postgres.serverCPUSeconds()
        let start = Date()
        let clock = ContinuousClock.now
        let submitted = try await submitRoundRobin(cluster, count: tasks)
        let submitSeconds = (ContinuousClock.now - clock).seconds
        var lastFinish = start
        for (id, replica) in submitted {
            let task = try await cluster.replicas[replica].result(id)
            guard task.status == .succeeded else {
                throw BenchError("\(cluster.label): task \(id) ended \(task.status.rawValue): \(task.error ?? "")")
            }
            lastFinish = max(lastFinish, task.finishedAt ?? lastFinish)
        }
        let hubCPUUsed = cluster.hubCPUSeconds() - hubCPU
        var serverCPUUsed: Double?
        if let before = serverCPU, let after = postgres.serverCPUSeconds() { serverCPUUsed = after - before }
        try await Task.sleep(for: .milliseconds(1500))
        return Burst(
            seconds: lastFinish.timeIntervalSince(start), submitSeconds: submitSeconds, hubCPU: hubCPUUsed,
            serverCPU: serverCPUUsed, notify: cluster.isPostgres ? try await cluster.notifyStatements() - notify : 0)
    }

    /// Task j goes to replica j % n, from 16 callers at once; returns (id, replica).
    private func submitRoundRobin(_ cluster: BenchCluster, count: Int, parallel: Int = 16) async throws
        -> [(String, Int)]
    {
        try await withThrowingTaskGroup(of: [(String, Int)].self) { group in
            for worker in 0 ..< parallel {
                group.addTask {
                    var ids: [(String, Int)] = []
                    for j in stride(from: worker, to: count, by: parallel) {
                        let replica = j % cluster.count
                        ids.append((try await cluster.replicas[replica].submit("bench-burst", script: "true").id, replica))
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    // MARK: Database work

    /// Every PostgreSQL configuration idle (burst agents polling, nothing submitted),
    /// then one more burst on each, counted by PostgreSQL: `statisticsLag` of quiet
    /// frames both, so no backend still holds counts from before or of the work.
    private mutating func countDatabaseWork() async throws {
        let indexes = clusters.indices.filter { clusters[$0].isPostgres }
        let idleSeconds = 20.0
        log("replicas: quiet for PostgreSQL's counters, then \(Int(idleSeconds)) s idle")
        try await Task.sleep(for: Self.statisticsLag)
        var before: [Int: BenchPostgres.Statistics] = [:]
        for index in indexes { before[index] = try await clusters[index].statistics() }
        var start = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(Int64(idleSeconds * 1000)))
        var seconds = (ContinuousClock.now - start).seconds
        for index in indexes {
            let now = try await clusters[index].statistics()
            figures[index].idle = Counted(seconds: seconds, database: now - before[index]!)
            before[index] = now
        }
        start = ContinuousClock.now
        for index in indexes {
            log("replicas: \(clusters[index].label): \(tasks) tasks at once, counted by PostgreSQL")
            _ = try await burst(clusters[index], tasks: tasks)
        }
        try await Task.sleep(for: Self.statisticsLag)
        seconds = (ContinuousClock.now - start).seconds
        for index in indexes {
            figures[index].writes = Counted(seconds: seconds, database: try await clusters[index].statistics() - before[index]!)
        }
    }

    // MARK: Heartbeats

    /// A fleet of simulated agents, idle in their polls, spread over the replicas: the
    /// last-seen writes they cost. Every replica writes an agent's time when the stored
    /// one is a quarter of the heartbeat timeout old (60 s by default).
    private func measureHeartbeats(_ cluster: BenchCluster, token: String) async throws -> Heartbeats {
        log("replicas: \(fleet) simulated agents over \(cluster.label)")
        var agents: [SimulatedAgent] = []
        for (k, hub) in cluster.replicas.enumerated() {
            let share = fleet / cluster.count + (k < fleet % cluster.count ? 1 : 0)
            agents += try await SimulatedAgent.registerMany(
                hub: hub, registrationToken: token, count: share, name: { String(format: "sim-\(k)-%05d", $0) })
        }
        let interval = 15.0
        // Counted while the fleet keeps polling, after the registrations (and their first
        // writes) have been reported: about four rounds of writes, give or take the one a
        // reading may cut.
        let window = 4 * interval
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for agent in agents { group.addTask { try await agent.work() } }
            try await Task.sleep(for: Self.statisticsLag)
            let before = try await cluster.statistics()
            let start = ContinuousClock.now
            log("replicas: counting their heartbeat writes for \(Int(window)) s")
            try await Task.sleep(for: .milliseconds(Int64(window * 1000)))
            let written = try await cluster.statistics() - before
            let seconds = (ContinuousClock.now - start).seconds
            group.cancelAll()
            try await group.waitForAll()
            return Heartbeats(
                agents: agents.count + ReplicasScenario.burstAgents, replicas: cluster.count, seconds: seconds,
                interval: interval, database: written)
        }
    }
}
