import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench transport`: the agent channel (one WebSocket per agent) against the
/// long poll (`--long-poll`), two hubs side by side with one agent each, measured
/// task by task in alternation so the machine's drift weighs on both alike:
/// - submit -> result of `true`, against the floor (spawn + 2 keep-alive round trips);
/// - Celery's benchmark workload, like for like: 300 sequential `echo hi` whose output
///   is read back, as tasks per second;
/// each task is submitted and followed to its end in one request, as `outpost task run` does;
/// - CPU per task of hub and agent over a burst of tasks.
struct TransportScenario: BenchScenario {
    let name = "transport"
    let summary =
        "agent channel vs long poll: submit -> result of `true`, 300 sequential `echo hi` with output (Celery's workload), CPU per task"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let count = options.scaled(1000, minimum: 20)
        let echoes = options.scaled(300, minimum: 10)
        return try await BenchHub.with(options, scenario: name + "-channel") { channel in
            try await BenchHub.with(options, scenario: name + "-long-poll") { longPoll in
                try await compare(
                    hubs: [channel, longPoll], labels: ["channel", "long poll"], arguments: [[], ["--long-poll"]],
                    count: count, echoes: echoes)
            }
        }
    }

    private struct Series {
        var roundTrip = Samples()
        var toResult = Samples()
        var echoSeconds = 0.0
        var echoes = Samples()
        var hubCPU = 0.0
        var agentCPU = 0.0
    }

    private func compare(
        hubs: [BenchHub], labels: [String], arguments: [[String]], count: Int, echoes: Int
    ) async throws -> [BenchRow] {
        var agents: [BenchProcess] = []
        for (hub, extra) in zip(hubs, arguments) {
            let token = try await hub.registrationToken()
            try await hub.createTarget("bench-transport")
            agents.append(try hub.startAgent(name: "bench-transport-agent", registrationToken: token, arguments: extra))
            try await hub.waitUntilOnline("bench-transport-agent")
        }
        var series = [Series(), Series()]
        func alternate(_ i: Int, _ body: (Int, inout Series) async throws -> Void) async throws {
            for k in (i % 2 == 0 ? [0, 1] : [1, 0]) { try await body(k, &series[k]) }
        }

        log("transport: baselines (bash -c true, GET /healthz on each hub)")
        let spawn = try Spawn.bashTrue(count: count).samples
        for i in 0 ..< count {
            try await alternate(i) { k, s in s.roundTrip.add(try await measure { try await hubs[k].admin.health() }) }
        }
        log("transport: warming up")
        for i in 0 ..< 20 { try await alternate(i) { k, _ in _ = try await run(hubs[k], script: "true", readLog: false) } }

        log("transport: \(count) sequential `true` tasks on each hub, alternating")
        let cpuBefore = zip(hubs, agents).map { ($0.process.probe.cpuSeconds(), $1.probe.cpuSeconds()) }
        for i in 0 ..< count {
            try await alternate(i) { k, s in s.toResult.add(try await run(hubs[k], script: "true", readLog: false)) }
        }
        for k in 0 ..< 2 {
            series[k].hubCPU = (hubs[k].process.probe.cpuSeconds() - cpuBefore[k].0) / Double(count)
            series[k].agentCPU = (agents[k].probe.cpuSeconds() - cpuBefore[k].1) / Double(count)
        }

        log("transport: \(echoes) sequential `echo hi` with output read back, on each hub in turn")
        for k in 0 ..< 2 {
            let start = ContinuousClock.now
            for _ in 0 ..< echoes { series[k].echoes.add(try await run(hubs[k], script: "echo hi", readLog: true)) }
            series[k].echoSeconds = (ContinuousClock.now - start).seconds
        }

        let ms = 1000.0
        var rows = [
            BenchRow(name, "baseline: spawn bash -c true, p50", value: spawn.p50 * ms, unit: "ms"),
        ]
        for k in 0 ..< 2 {
            let s = series[k]
            let floor = spawn.p50 + 2 * s.roundTrip.p50
            let label = labels[k]
            rows += [
                BenchRow(name, "\(label): floor, spawn + 2 round trips", value: floor * ms, unit: "ms", ratio: 1),
                BenchRow(name, "\(label): submit -> result, true, p50", value: s.toResult.p50 * ms, unit: "ms",
                         ratio: s.toResult.p50 / floor, goal: .atMost(1.5), notes: "ratio goal <= 1.3"),
                BenchRow(name, "\(label): submit -> result, true, p99", value: s.toResult.p99 * ms, unit: "ms",
                         ratio: s.toResult.p99 / floor, goal: .atMost(5)),
                BenchRow(name, "\(label): 300 x echo hi with output (Celery's workload)",
                         value: Double(echoes) / s.echoSeconds, unit: "tasks/s",
                         notes: "p50 \(formatFigure(s.echoes.p50 * ms)) ms per task; Celery 5.7 + Redis here: 661 tasks/s, 2.2 ms p50"),
                BenchRow(name, "\(label): CPU per task, hub / agent", value: (s.hubCPU + s.agentCPU) * ms, unit: "ms",
                         notes: "hub \(formatFigure(s.hubCPU * ms)) ms, agent \(formatFigure(s.agentCPU * ms)) ms, sequential `true`"),
            ]
        }
        rows.append(BenchRow(
            name, "channel over long poll, submit -> result p50", value: series[0].toResult.p50 / series[1].toResult.p50,
            unit: "x", notes: "interleaved, same machine, same moment"))
        return rows
    }

    /// Submits one task and follows it to its result (and its log) in one request, as
    /// `outpost task run` does; the seconds it took.
    private func run(_ hub: BenchHub, script: String, readLog: Bool) async throws -> Double {
        let start = ContinuousClock.now
        let (task, log) = try await hub.run("bench-transport", script: script, includeLog: readLog)
        guard task.status == .succeeded else {
            throw BenchError("task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
        }
        if readLog, log != Array("hi\n".utf8) { throw BenchError("task \(task.id) printed other than hi") }
        return (ContinuousClock.now - start).seconds
    }
}
