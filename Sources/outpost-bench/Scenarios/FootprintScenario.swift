import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench footprint`: what an idle agent and an idle hub cost, and how
/// long `outpost agent start` takes to register. The baseline is the binary's
/// own floor: `outpost --version` (process start, runtime and libraries loaded).
struct FootprintScenario: BenchScenario {
    let name = "footprint"
    let summary = "idle agent RSS and threads after 60 s, idle hub RSS, agent start -> registered; vs outpost --version"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        log("footprint: baseline, outpost --version")
        var versionRuns: [Spawn.Run] = []
        for _ in 0 ..< 5 { versionRuns.append(try Spawn.run([options.outpostBinary, "--version"])) }
        let versionSeconds = versionRuns.map(\.seconds).min() ?? 0
        let versionRSS = (0 ..< 3).compactMap { _ in Spawn.peakResidentMiB(of: [options.outpostBinary, "--version"]) }.min()

        return try await BenchHub.with(options, scenario: name) { hub in
            let token = try await hub.registrationToken()
            var startSamples = Samples()
            for run in 1 ... 5 {
                let agentName = "bench-footprint-\(run)"
                let spawned = Date()
                let agent = try hub.startAgent(name: agentName, registrationToken: token)
                let record = try await hub.waitUntilOnline(agentName)
                startSamples.add(record.registeredAt.timeIntervalSince(spawned))
                if run < 5 { await agent.stop() }
            }
            guard let agent = hub.agents.last else { throw BenchError("no agent left running") }
            log("footprint: idle for \(options.idleSeconds) s")
            try await Task.sleep(for: .seconds(options.idleSeconds))
            let agentRSS = agent.probe.residentMiB()
            let agentPrivate = agent.probe.anonymousMiB()
            let agentThreads = agent.probe.threads()
            let hubRSS = hub.process.probe.residentMiB()
            let hubPrivate = hub.process.probe.anonymousMiB()
            let hubThreads = hub.process.probe.threads()
            let shared = "of which private (RssAnon)"
            let ms = 1000.0
            return [
                BenchRow(name, "baseline: outpost --version, wall", value: versionSeconds * ms, unit: "ms",
                         notes: "best of 5"),
                BenchRow(name, "baseline: outpost --version, peak RSS", value: versionRSS, unit: "MiB",
                         notes: versionRSS == nil ? "python3 not found" : "via a python3 parent; best of 3"),
                BenchRow(name, "agent start -> registered", value: startSamples.p50 * ms, unit: "ms",
                         ratio: startSamples.p50 / versionSeconds,
                         notes: "median of 5 (ms-resolution hub clock); spawn to the hub's registered_at"),
                BenchRow(name, "idle agent RSS after \(options.idleSeconds) s", value: agentRSS, unit: "MiB",
                         ratio: versionRSS.map { agentRSS / $0 }, goal: .atMost(20),
                         notes: "\(shared) \(formatFigure(agentPrivate)) MiB; \(agentThreads) threads"),
                BenchRow(name, "idle agent threads", value: Double(agentThreads), unit: "threads"),
                BenchRow(name, "idle hub RSS after \(options.idleSeconds) s", value: hubRSS, unit: "MiB",
                         ratio: versionRSS.map { hubRSS / $0 }, goal: .atMost(40),
                         notes: "\(shared) \(formatFigure(hubPrivate)) MiB; \(hubThreads) threads; one agent connected"),
            ]
        }
    }
}
