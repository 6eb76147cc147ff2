import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench throughput`: 2,000 `true` tasks submitted at once, run by
/// real agents (1 agent at concurrency 2, then 4 agents at concurrency 1),
/// against spawning `bash -c true` directly two at a time.
struct ThroughputScenario: BenchScenario {
    let name = "throughput"
    let summary = "2,000 `true` tasks at once: 1 agent x concurrency 2, 4 agents x 1; vs bash -c true, 2 at a time"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let count = options.scaled(2000, minimum: 50)
        log("throughput: baseline, \(count) x bash -c true, 2 at a time")
        let spawn = try Spawn.bashTrue(count: count, parallel: 2)
        let spawnRate = Double(count) / spawn.totalSeconds
        var rows = [
            BenchRow(name, "baseline: bash -c true, 2 in parallel", value: spawnRate, unit: "tasks/s", ratio: 1,
                     notes: "\(count) spawns in \(formatFigure(spawn.totalSeconds)) s"),
        ]
        for (agents, concurrency) in [(1, 2), (4, 1)] {
            let result = try await BenchHub.with(options, scenario: "\(name)-\(agents)x\(concurrency)") { hub in
                try await burst(hub, count: count, agents: agents, concurrency: concurrency)
            }
            let rate = Double(count) / result.seconds
            rows.append(BenchRow(
                name, "\(agents) agent(s) x concurrency \(concurrency)", value: rate, unit: "tasks/s",
                ratio: rate / spawnRate, goal: .atLeast(1000),
                notes: "submitted in \(formatFigure(result.submitSeconds)) s; CPU per task: hub "
                    + "\(formatFigure(result.hubCPU / Double(count) * 1000)) ms, agents "
                    + "\(formatFigure(result.agentCPU / Double(count) * 1000)) ms"))
        }
        return rows
    }

    struct BurstResult {
        var seconds: Double
        var submitSeconds: Double
        var hubCPU: Double
        var agentCPU: Double
    }

    private func burst(_ hub: BenchHub, count: Int, agents: Int, concurrency: Int) async throws -> BurstResult {
        let token = try await hub.registrationToken()
        try await hub.createTarget("bench-burst")
        let names = (1 ... agents).map { "bench-burst-agent-\($0)" }
        let processes = try names.map { try hub.startAgent(name: $0, registrationToken: token, concurrency: concurrency) }
        for name in names { try await hub.waitUntilOnline(name) }

        log("throughput: \(count) tasks, \(agents) agent(s) x concurrency \(concurrency)")
        let hubCPU = hub.process.probe.cpuSeconds()
        let agentCPU = processes.map { $0.probe.cpuSeconds() }.reduce(0, +)
        let start = Date()
        let clock = ContinuousClock.now
        let ids = try await hub.submitMany("bench-burst", script: "true", count: count)
        let submitSeconds = (ContinuousClock.now - clock).seconds
        var lastFinish = start
        for id in ids {
            let task = try await hub.result(id)
            guard task.status == .succeeded else {
                throw BenchError("task \(id) ended \(task.status.rawValue): \(task.error ?? "")")
            }
            lastFinish = max(lastFinish, task.finishedAt ?? lastFinish)
        }
        return BurstResult(
            seconds: lastFinish.timeIntervalSince(start), submitSeconds: submitSeconds,
            hubCPU: hub.process.probe.cpuSeconds() - hubCPU,
            agentCPU: processes.map { $0.probe.cpuSeconds() }.reduce(0, +) - agentCPU)
    }
}
