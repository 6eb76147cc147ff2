import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench fleet`: 10,000 simulated idle agents, each with its own tag
/// and each holding a poll on one hub: by long poll, then (on a fresh hub) over
/// agent channels. Measures the hub's memory and descriptors, and how long a task
/// takes to reach the one agent whose tags match. Baselines from the same hub:
/// its idle figures, and the same probe with a single agent connected.
struct FleetScaleScenario: BenchScenario {
    let name = "fleet"
    let summary =
        "10,000 idle simulated agents polling, by long poll and over agent channels: hub RSS, fds, p99 targeted dispatch; vs 1 agent"

    /// Tasks sent to one chosen agent each, one after another.
    let probes = 300

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let fleet = options.scaled(10_000, minimum: 10)
        var rows: [BenchRow] = []
        for channel in [false, true] {
            // Every simulated agent connects from 127.0.0.1: one peer, as behind a proxy,
            // so the per-peer connection cap is off (as docs/operations.md says to do there).
            rows += try await BenchHub.with(
                options, scenario: name + (channel ? "-channel" : ""),
                environment: ["OUTPOST_SERVER_MAX_CONNECTIONS_PER_PEER": "0"]
            ) { hub in
                try await measure(hub, fleet: fleet, channel: channel).map { $0.labelled(channel ? "channels: " : "") }
            }
        }
        return rows
    }

    private func measure(_ hub: BenchHub, fleet: Int, channel: Bool) async throws -> [BenchRow] {
        let token = try await hub.registrationToken()
        let probeCount = min(probes, fleet)
        // Probe targets: each names exactly one agent's tag.
        var random = SystemRandomNumberGenerator()
        let probed = Array((0 ..< fleet).shuffled(using: &random).prefix(probeCount))
        for index in Set(probed + [0]) { try await hub.createTarget("bench-fleet-\(index)", tags: TagSet([Self.tag(index)])) }
        try await Task.sleep(for: .seconds(1))
        let hubProbe = hub.process.probe
        let idleRSS = hubProbe.residentMiB()
        let idleFiles = hubProbe.openFiles()

        let board = ArrivalBoard()
        let agentName: @Sendable (Int) -> String = { String(format: "bench-fleet-%06d", $0) }
        let tags: @Sendable (Int) -> TagSet = { TagSet([Self.tag($0)]) }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            // Baseline: agent 0 alone.
            var first = try await SimulatedAgent.register(hub: hub, registrationToken: token, name: agentName(0), tags: tags(0))
            if channel { first = try await first.useChannel() }
            group.addTask { try await first.work(received: { board.record($0.taskID) }) }
            try await Task.sleep(for: .milliseconds(200))
            log("fleet: \(probeCount) probes with one agent connected")
            let alone = try await probe(hub, board: board, indices: Array(repeating: 0, count: probeCount))

            log("fleet: registering \(fleet - 1) more agents")
            let registerStart = ContinuousClock.now
            var rest = try await SimulatedAgent.registerMany(
                hub: hub, registrationToken: token, count: fleet - 1, parallel: 64,
                name: { agentName($0 + 1) }, tags: { tags($0 + 1) })
            let registerSeconds = (ContinuousClock.now - registerStart).seconds
            if channel {
                log("fleet: opening \(fleet - 1) agent channels")
                var opened: [SimulatedAgent] = []
                for agent in rest { opened.append(try await agent.useChannel()) }
                rest = opened
            }
            for agent in rest {
                group.addTask { try await agent.work(received: { board.record($0.taskID) }) }
            }
            // Wait until the hub holds a poll from every agent.
            let deadline = ContinuousClock.now + .seconds(120)
            var waiting = 0.0
            while waiting < Double(fleet), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                waiting = try await hub.metric("outpost_polls_waiting") ?? 0
            }
            guard waiting >= Double(fleet) else { throw BenchError("the hub holds \(Int(waiting)) polls of \(fleet) agents") }
            try await Task.sleep(for: .seconds(3))
            let rss = hubProbe.residentMiB()
            let files = hubProbe.openFiles()
            let threads = hubProbe.threads()
            let benchRSS = ProcessProbe(pid: getpid()).residentMiB()
            var scrapes = Samples()
            var scrapeBytes = 0
            for _ in 0..<5 {
                let (seconds, bytes) = try await hub.scrape()
                scrapes.add(seconds)
                scrapeBytes = bytes
            }

            log("fleet: \(probeCount) probes with \(fleet) agents connected")
            let crowded = try await probe(hub, board: board, indices: probed)
            let rssAfter = hubProbe.residentMiB()
            group.cancelAll()

            let ms = 1000.0
            return [
                BenchRow(name, "baseline: idle hub RSS", value: idleRSS, unit: "MiB", notes: "\(idleFiles) open files"),
                BenchRow(name, "hub RSS, \(fleet) agents polling", value: rss, unit: "MiB", ratio: rss / idleRSS,
                         goal: .atMost(1024),
                         notes: "\(formatFigure((rss - idleRSS) * 1024 / Double(fleet))) KiB per agent; "
                             + "\(formatFigure(rssAfter)) MiB after the probes; bench process \(formatFigure(benchRSS)) MiB"),
                BenchRow(name, "hub open files, \(fleet) agents polling", value: Double(files), unit: "fds",
                         ratio: Double(files) / Double(max(1, idleFiles)), notes: "\(threads) threads"),
                BenchRow(name, "/metrics scrape, \(fleet) agents in distinct tag sets", value: scrapes.p50 * 1000,
                         unit: "ms", notes: "median of 5; \(formatFigure(Double(scrapeBytes) / 1_048_576)) MiB, one series per pool and state"),
                BenchRow(name, "register \(fleet - 1) agents", value: Double(fleet - 1) / registerSeconds, unit: "agents/s",
                         notes: "64 parallel registrations"),
                BenchRow(name, "baseline: targeted dispatch, 1 agent, p99", value: alone.p99 * ms, unit: "ms", ratio: 1,
                         notes: "p50 \(formatFigure(alone.p50 * ms)) ms"),
                BenchRow(name, "targeted dispatch, \(fleet) agents, p50", value: crowded.p50 * ms, unit: "ms",
                         ratio: crowded.p50 / alone.p50, notes: "submit -> the one matching agent has the task"),
                BenchRow(name, "targeted dispatch, \(fleet) agents, p99", value: crowded.p99 * ms, unit: "ms",
                         ratio: crowded.p99 / alone.p99, goal: .atMost(10),
                         notes: "\(probeCount) probes, max \(formatFigure(crowded.maximum * ms)) ms"),
            ]
        }
    }

    static func tag(_ index: Int) -> String { "fleet-\(index)" }

    /// Sends one task to each listed agent in turn and returns submit -> arrival times.
    private func probe(_ hub: BenchHub, board: ArrivalBoard, indices: [Int]) async throws -> Samples {
        var samples = Samples()
        for index in indices {
            let start = ContinuousClock.now
            let task = try await hub.submit("bench-fleet-\(index)", script: "true")
            let arrived = try await board.arrival(of: task.id)
            samples.add((arrived - start).seconds)
            // Let the agent finish and poll again before the next probe may pick it.
            _ = try await hub.result(task.id, timeout: .seconds(60))
            try await Task.sleep(for: .milliseconds(5))
        }
        return samples
    }
}
