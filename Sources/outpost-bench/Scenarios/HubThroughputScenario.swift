import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench hub`: simulated agents in this process speak the real agent
/// protocol (poll, start, one log chunk, finish) but spawn nothing, so the
/// figure is the hub's own: tasks/s and its CPU seconds per 1,000 tasks.
/// The baseline is the hub's bare HTTP rate (`GET /healthz`): a task costs
/// four agent requests, so a quarter of that rate is the ceiling.
struct HubThroughputScenario: BenchScenario {
    let name = "hub"
    let summary =
        "simulated agents (no processes), 100 and 1,000 of them, by long poll and over agent channels: hub tasks/s and CPU s per 1,000 tasks"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let tasks = options.scaled(20_000, minimum: 500)
        var rows: [BenchRow] = []
        for channel in [false, true] {
            for agents in [100, 1000].map({ options.scaled($0, minimum: 2) }) {
                rows += try await BenchHub.with(options, scenario: "\(name)-\(agents)") { hub in
                    try await measure(hub, agents: agents, tasks: tasks, channel: channel)
                }
            }
        }
        return rows
    }

    private func measure(_ hub: BenchHub, agents count: Int, tasks: Int, channel: Bool) async throws -> [BenchRow] {
        let token = try await hub.registrationToken()
        try await hub.createTarget("bench-sim")
        log("hub: registering \(count) simulated agents\(channel ? " on agent channels" : "")")
        var agents = try await SimulatedAgent.registerMany(
            hub: hub, registrationToken: token, count: count, name: { String(format: "bench-sim-%06d", $0) })
        if channel {
            var opened: [SimulatedAgent] = []
            for agent in agents { opened.append(try await agent.useChannel()) }
            agents = opened
        }
        let label = channel ? "\(count) channel agents" : "\(count) simulated agents"

        let bareRate = try await healthRate(hub, parallel: min(count, 64), seconds: 2)

        log("hub: submitting \(tasks) tasks")
        let submitCPU = hub.process.probe.cpuSeconds()
        let submitSeconds = try await outpost_bench.measure { _ = try await hub.submitMany("bench-sim", script: "true", count: tasks) }
        let submitCPUSeconds = hub.process.probe.cpuSeconds() - submitCPU

        log("hub: \(count) agents drain the queue")
        let counter = CompletionCounter(target: tasks)
        let hubCPU = hub.process.probe.cpuSeconds()
        let benchCPU = ProcessProbe(pid: getpid()).cpuSeconds()
        let start = ContinuousClock.now
        let end = try await withThrowingTaskGroup(of: Void.self) { group in
            for agent in agents {
                group.addTask { try await agent.work(finished: { counter.increment() }) }
            }
            let end = try await counter.waitForTarget(timeout: .seconds(600), "hub with \(count) agents")
            group.cancelAll()
            return end
        }
        let hubCPUSeconds = hub.process.probe.cpuSeconds() - hubCPU
        let benchCPUSeconds = ProcessProbe(pid: getpid()).cpuSeconds() - benchCPU
        let seconds = (end - start).seconds
        let rate = Double(tasks) / seconds
        let ceiling = bareRate / 4
        return [
            BenchRow(name, "baseline: GET /healthz, \(min(count, 64)) keep-alive clients", value: bareRate, unit: "req/s",
                     notes: "a task costs 4 agent requests: ceiling \(formatFigure(ceiling)) tasks/s"),
            BenchRow(name, "\(label): tasks/s", value: rate, unit: "tasks/s", ratio: rate / ceiling,
                     goal: .atLeast(10_000),
                     notes: "\(tasks) tasks in \(formatFigure(seconds)) s; bench process used "
                         + "\(formatFigure(benchCPUSeconds)) CPU s (same 2 cores)"),
            BenchRow(name, "\(label): hub CPU per 1,000 tasks", value: hubCPUSeconds / Double(tasks) * 1000,
                     unit: "CPU s", notes: "poll + start + log + finish, SQLite"),
            BenchRow(name, "\(label): submit rate", value: Double(tasks) / submitSeconds, unit: "tasks/s",
                     notes: "16 parallel callers; hub CPU \(formatFigure(submitCPUSeconds / Double(tasks) * 1000)) s per 1,000"),
        ]
    }

    /// Requests per second the hub answers to `GET /healthz` from `parallel` keep-alive clients.
    private func healthRate(_ hub: BenchHub, parallel: Int, seconds: Double) async throws -> Double {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let start = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0 ..< parallel {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        try await hub.admin.health()
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / (ContinuousClock.now - start).seconds
    }
}
