import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench replicas`: the hub alone on SQLite (the baseline) against 1, 2 and 3
/// replicas of one hub on a PostgreSQL database of their own, all started at once
/// with real agents and measured in one run.
///
/// - Latency: sequential tasks, the configurations taking turns task by task (so the
///   machine's drift weighs on all alike). With several replicas a task is submitted to
///   replica k and routed by tag to the agent polling replica k+1: the cross-replica
///   path (NOTIFY to wake that poll, NOTIFY back to wake the submitter's wait).
///   Submit -> result with `true`; submit -> process started (wake-up) with `echo
///   $EPOCHREALTIME` while the agent waits in its poll.
/// - Throughput: N tasks submitted by 16 callers round robin over the replicas, run by
///   6 real agents x concurrency 4 spread over them; best of `--runs`, configurations
///   interleaved. Hub CPU (all replicas), PostgreSQL's transactions and rows written, and
///   the replicas' NOTIFY statements (`/metrics`), per task.
/// - Idle: what the PostgreSQL configurations cost the database with nothing to do, and
///   the heartbeat writes of a fleet of simulated agents on the 3 replicas.
struct ReplicasScenario: BenchScenario {
    let name = "replicas"
    let summary =
        "SQLite hub vs 1, 2, 3 PostgreSQL replicas: tasks/s, cross-replica submit -> result and wake-up, CPU and database writes per task"

    /// Real agents of the throughput phase, spread over the replicas, and their concurrency.
    static let burstAgents = 6
    static let burstConcurrency = 4
    /// Target tag that pins a latency task to the agent of one replica.
    static let replicaTag = "bench-replica"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        try await BenchPostgres.with(options) { postgres in
            var clusters: [BenchCluster] = []
            do {
                log("replicas: starting a hub on SQLite and 1, 2 and 3 replicas on PostgreSQL")
                clusters.append(try await BenchCluster.start(options, slug: "sqlite", replicas: 1, postgres: nil))
                for count in 1 ... 3 {
                    clusters.append(
                        try await BenchCluster.start(options, slug: "pg\(count)", replicas: count, postgres: postgres))
                }
                var measurement = ReplicasMeasurement(clusters: clusters, postgres: postgres, options: options)
                try await measurement.run()
                for cluster in clusters { await cluster.stop() }
                return rows(measurement)
            } catch {
                for cluster in clusters {
                    log("replicas: output of \(cluster.output())")
                    await cluster.stop()
                }
                throw error
            }
        }
    }

    // MARK: The table

    private func rows(_ m: ReplicasMeasurement) -> [BenchRow] {
        let ms = 1000.0
        let base = m.figures[0]
        var rows: [BenchRow] = []
        for (index, cluster) in m.clusters.enumerated() {
            let f = m.figures[index]
            let label = cluster.label + ": "
            let path = cluster.count == 1
                ? "submitted to the replica the agent polls"
                : "submitted to replica k, run by the agent on replica k+1 (cross-replica)"
            if let burst = f.burst {
                let rate = Double(m.tasks) / burst.seconds
                let baseRate = base.burst.map { Double(m.tasks) / $0.seconds }
                rows.append(BenchRow(
                    name, label + "tasks/s", value: rate, unit: "tasks/s", ratio: baseRate.map { rate / $0 },
                    notes: "\(m.tasks) tasks submitted round robin over \(cluster.count) replica(s) by 16 callers in "
                        + "\(formatFigure(burst.submitSeconds)) s; \(Self.burstAgents) agents x \(Self.burstConcurrency) "
                        + "spread over them; best of \(m.runs)"))
                let cpu = burst.hubCPU / Double(m.tasks)
                let baseCPU = base.burst.map { $0.hubCPU / Double(m.tasks) }
                let server = burst.serverCPU.map { "; PostgreSQL server processes \(formatFigure($0 / Double(m.tasks) * ms)) ms" }
                rows.append(BenchRow(
                    name, label + "hub CPU per task", value: cpu * ms, unit: "ms", ratio: baseCPU.map { cpu / $0 },
                    notes: "user + system of all \(cluster.count) hub process(es)" + (cluster.isPostgres ? server ?? "" : "")))
                if cluster.isPostgres {
                    let tasks = Double(m.tasks)
                    rows.append(BenchRow(
                        name, label + "NOTIFY statements per task", value: burst.notify / tasks, unit: "statements",
                        notes: "\(Int(burst.notify)) in all (outpost_cluster_notify_statements_total, every replica)"))
                }
            }
            if let writes = f.writes, let idle = f.idle {
                // What the same span would have cost idle is taken off: the burst's own work remains.
                let share = writes.seconds / idle.seconds
                let commits = Double(writes.database.commits) - Double(idle.database.commits) * share
                let written = Double(writes.database.rowsWritten) - Double(idle.database.rowsWritten) * share
                let tasks = Double(m.tasks)
                rows.append(BenchRow(
                    name, label + "database transactions per task", value: commits / tasks, unit: "commits",
                    notes: "pg_stat_database xact_commit (read-only ones included) of one more burst, less the idle rate "
                        + "over its \(formatFigure(writes.seconds)) s; \(formatFigure(Double(writes.database.commits) / tasks)) with it"))
                rows.append(BenchRow(
                    name, label + "rows written per task", value: written / tasks, unit: "rows",
                    notes: "tup_inserted + tup_updated + tup_deleted, likewise; "
                        + "\(formatFigure(Double(writes.database.rowsWritten) / tasks)) with the idle rate"))
                rows.append(BenchRow(
                    name, label + "idle: database transactions/s", value: Double(idle.database.commits) / idle.seconds,
                    unit: "commits/s",
                    notes: "\(ReplicasScenario.burstAgents) agents polling, nothing submitted; rows written "
                        + "\(formatFigure(Double(idle.database.rowsWritten) / idle.seconds))/s over \(formatFigure(idle.seconds)) s"))
            }
            rows.append(BenchRow(
                name, label + "submit -> result p50", value: f.toResult.p50 * ms, unit: "ms",
                ratio: f.toResult.p50 / base.toResult.p50,
                notes: "`true`, \(f.toResult.count) sequential tasks, \(path); p90 \(formatFigure(f.toResult.p90 * ms)) ms"))
            rows.append(BenchRow(
                name, label + "submit -> result p99", value: f.toResult.p99 * ms, unit: "ms",
                ratio: f.toResult.p99 / base.toResult.p99, notes: "max \(formatFigure(f.toResult.maximum * ms)) ms"))
            rows.append(BenchRow(
                name, label + "wake-up: submit -> process started p50", value: f.toStarted.p50 * ms, unit: "ms",
                ratio: f.toStarted.p50 / base.toStarted.p50,
                notes: "agent waiting in its poll; p99 \(formatFigure(f.toStarted.p99 * ms)) ms"))
        }
        rows += ratioRows(m)
        if let beats = m.heartbeats { rows += heartbeatRows(beats) }
        return rows
    }

    private func ratioRows(_ m: ReplicasMeasurement) -> [BenchRow] {
        let ms = 1000.0
        let sqlite = m.figures[0]
        let single = m.figures[1]
        var rows = [
            BenchRow(
                name, "PostgreSQL 1 replica over SQLite, submit -> result p50", value: single.toResult.p50 / sqlite.toResult.p50,
                unit: "x", goal: .atMost(1.5),
                notes: "\(formatFigure(single.toResult.p50 * ms)) vs \(formatFigure(sqlite.toResult.p50 * ms)) ms"),
        ]
        for index in 2 ..< m.clusters.count {
            let f = m.figures[index]
            let count = m.clusters[index].count
            rows.append(BenchRow(
                name, "\(count) replicas (cross-replica) over 1 replica, submit -> result p50",
                value: f.toResult.p50 / single.toResult.p50, unit: "x", goal: .atMost(1.5),
                notes: "\(formatFigure(f.toResult.p50 * ms)) vs \(formatFigure(single.toResult.p50 * ms)) ms; "
                    + "wake-up p50 \(formatFigure(f.toStarted.p50 / single.toStarted.p50))x"))
        }
        return rows
    }

    private func heartbeatRows(_ beats: ReplicasMeasurement.Heartbeats) -> [BenchRow] {
        let rate = Double(beats.database.rowsWritten) / beats.seconds
        let expected = Double(beats.agents) / beats.interval
        return [
            BenchRow(
                name, "heartbeats: \(beats.agents) idle simulated agents on \(beats.replicas) replicas, row updates/s",
                value: rate, unit: "rows/s", ratio: rate / expected,
                notes: "design: agents / (heartbeat_timeout / 4) = \(formatFigure(expected))/s; at 10,000 agents "
                    + "\(formatFigure(rate * 10_000 / Double(beats.agents)))/s; \(formatFigure(beats.seconds)) s window"),
            BenchRow(
                name, "heartbeats: database transactions/s, \(beats.replicas) replicas", value:
                    Double(beats.database.commits) / beats.seconds, unit: "commits/s",
                notes: "every kind, read-only included: heartbeat flushes, reconciliation, leader checks"),
        ]
    }
}
