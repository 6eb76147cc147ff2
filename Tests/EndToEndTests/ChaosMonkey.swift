import Foundation
import OutpostTestSupport

/// SIGKILLs and SIGSTOPs a real hub and real agents at random moments, restarting
/// what it killed on the same data and work directories and continuing what it
/// stopped. Every decision comes from a seeded generator; the timing of the
/// processes themselves does not, so a seed replays the schedule, not every race.
actor ChaosMonkey {
    /// Who suffers an incident: the hub, or the agent in this slot.
    enum Victim: Hashable, Sendable, CustomStringConvertible {
        case hub
        case agent(Int)

        var description: String {
            switch self {
            case .hub: "hub"
            case .agent(let slot): "agent \(slot + 1)"
            }
        }
    }

    enum Incident: Sendable {
        /// SIGKILL, stay down this long, start again on the same directory.
        case kill(Victim, downtime: Duration)
        /// SIGSTOP, stay stopped this long, SIGCONT.
        case stop(Victim, pause: Duration)
    }

    /// What happened, for the summary line.
    struct Tally: Sendable, CustomStringConvertible {
        var hubKills = 0
        var hubStops = 0
        var hubStopsPastHeartbeat = 0
        var agentKills = 0
        var agentStops = 0
        var agentStopsPastHeartbeat = 0

        var description: String {
            "hub: \(hubKills) kills, \(hubStops) stops (\(hubStopsPastHeartbeat) past the heartbeat timeout); "
                + "agents: \(agentKills) kills, \(agentStops) stops (\(agentStopsPastHeartbeat) past the heartbeat timeout)"
        }
    }

    /// How an agent is started again after a kill.
    struct AgentLaunch: Sendable {
        let registrationToken: String
        let name: String
        let workDirectory: String
        let concurrency: Int
        let arguments: [String]
    }

    /// Every process the monkey ever started or was given, for a teardown that
    /// cannot await (a `defer`).
    final class Processes: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [ChildProcess] = []

        func add(_ process: ChildProcess) { lock.withLock { all.append(process) } }

        /// SIGKILLs every one (a stopped process too); exited ones are left alone by the kernel.
        func killAll() { for process in lock.withLock({ all }) where process.isRunning { process.signal(SIGKILL) } }

        /// The distinct `error` and `critical` log lines of every process, without their timestamps.
        func errorLines() -> [String] {
            var seen: [String] = []
            for process in lock.withLock({ all }) {
                for line in process.stderr.split(separator: "\n") {
                    guard let level = line.range(of: " error ") ?? line.range(of: " critical ") else { continue }
                    let text = String(line[level.lowerBound...]).trimmingCharacters(in: .whitespaces)
                    if !seen.contains(text) { seen.append(text) }
                }
            }
            return seen
        }
    }

    let hub: HubHarness
    nonisolated let processes = Processes()
    private let launches: [AgentLaunch]
    private(set) var agents: [AgentHarness]
    private let heartbeatTimeout: Duration
    private var random: SeededRandom
    private var busy: Set<Victim> = []
    /// The first incidents of every run: a hub kill, an agent stopped past the
    /// heartbeat timeout, an agent kill, the hub stopped past the heartbeat timeout.
    private var opening: [(victim: Victim, kills: Bool, long: Bool)] = [
        (.hub, true, false), (.agent(0), false, true), (.agent(1), true, false), (.hub, false, true),
    ]
    private(set) var tally = Tally()
    /// Things that went wrong on the monkey's side (a process that would not start again).
    private(set) var failures: [String] = []
    /// When each agent (by name) was SIGKILLed or stopped past the heartbeat timeout:
    /// the tasks it held then may end `lost`, or `timed_out` by the hub.
    private(set) var harm: [String: [Date]] = [:]
    /// One line per incident, with the seconds since the monkey started, for a failure's report.
    private(set) var journal: [String] = []
    private let started = ContinuousClock.now

    init(hub: HubHarness, agents: [AgentHarness], launches: [AgentLaunch], heartbeatTimeout: Duration, seed: UInt64) {
        self.hub = hub
        self.agents = agents
        self.launches = launches
        self.heartbeatTimeout = heartbeatTimeout
        self.random = SeededRandom(seed: seed)
        processes.add(hub.process)
        for agent in agents { processes.add(agent.process) }
    }

    /// Causes incidents until `deadline` or until `done` says the work is over, then
    /// waits for the incidents under way to end: on return every process runs again.
    func run(until deadline: ContinuousClock.Instant, done: @escaping @Sendable () async -> Bool) async {
        await withTaskGroup(of: Void.self) { group in
            while ContinuousClock.now < deadline, await !done() {
                if let incident = draw() {
                    group.addTask { await self.perform(incident) }
                }
                // Not a synchronisation: the random gap between incidents is the point.
                try? await Task.sleep(for: .milliseconds(Int.random(in: 100...800, using: &random)))
            }
        }
    }

    /// The next incident, or `nil` when the drawn victim is already suffering one.
    /// Always draws the same numbers, so the schedule does not depend on timing.
    private func draw() -> Incident? {
        var victim: Victim =
            Int.random(in: 0..<100, using: &random) < 25
            ? .hub : .agent(Int.random(in: 0..<agents.count, using: &random))
        var kills = Int.random(in: 0..<100, using: &random) < 35
        var long = Int.random(in: 0..<100, using: &random) < 35
        // Every run opens with one incident of each kind, whatever the seed.
        if let scripted = opening.first {
            (victim, kills, long) = scripted
        }
        let heartbeat = Int(heartbeatTimeout.components.seconds * 1000)
        let stopLength: Duration =
            long
            ? .milliseconds(heartbeat + Int.random(in: 300...2500, using: &random))
            : .milliseconds(Int.random(in: 50...(heartbeat * 7 / 10), using: &random))
        let downtime = Duration.milliseconds(Int.random(in: 0...1500, using: &random))
        guard !busy.contains(victim) else { return nil }
        busy.insert(victim)
        if !opening.isEmpty { opening.removeFirst() }
        switch (victim, kills) {
        case (.hub, true): tally.hubKills += 1
        case (.hub, false):
            tally.hubStops += 1
            if long { tally.hubStopsPastHeartbeat += 1 }
        case (.agent, true): tally.agentKills += 1
        case (.agent, false):
            tally.agentStops += 1
            if long { tally.agentStopsPastHeartbeat += 1 }
        }
        return kills ? .kill(victim, downtime: downtime) : .stop(victim, pause: stopLength)
    }

    private func perform(_ incident: Incident) async {
        switch incident {
        case .stop(let victim, let pause):
            note("SIGSTOP \(victim) for \(pause)")
            if case .agent(let slot) = victim, pause > heartbeatTimeout {
                harm[agents[slot].name, default: []].append(Date())
            }
            pid(of: victim).map { _ = kill($0, SIGSTOP) }
            try? await Task.sleep(for: pause)
            pid(of: victim).map { _ = kill($0, SIGCONT) }
            busy.remove(victim)
        case .kill(.hub, let downtime):
            note("SIGKILL hub, down for \(downtime)")
            if !hub.process.isRunning { failures.append(Self.obituary("the hub", hub.process)) }
            await hub.process.kill9()
            try? await Task.sleep(for: downtime)
            do {
                try await hub.killAndRestart()
                processes.add(hub.process)
            } catch {
                failures.append("the hub did not start again after a SIGKILL: \(error)")
            }
            busy.remove(.hub)
        case .kill(.agent(let slot), let downtime):
            note("SIGKILL agent \(slot + 1), down for \(downtime)")
            if !agents[slot].process.isRunning {
                failures.append(Self.obituary("agent \(agents[slot].name)", agents[slot].process))
            }
            harm[agents[slot].name, default: []].append(Date())
            await agents[slot].process.kill9()
            try? await Task.sleep(for: downtime)
            let launch = launches[slot]
            do {
                agents[slot] = try AgentHarness(
                    hub: hub.url, registrationToken: launch.registrationToken, name: launch.name,
                    workDirectory: launch.workDirectory, concurrency: launch.concurrency, arguments: launch.arguments)
                processes.add(agents[slot].process)
            } catch {
                failures.append("agent \(launch.name) did not start again after a SIGKILL: \(error)")
            }
            busy.remove(.agent(slot))
        }
    }

    /// Processes of the cluster that ended without the monkey killing them (a crash),
    /// each with its exit status and the end of its standard error.
    func casualties() -> [String] {
        let current = [("the hub", hub.process)] + agents.map { ("agent \($0.name)", $0.process) }
        return current.filter { !$0.1.isRunning }.map { Self.obituary($0.0, $0.1) }
    }

    private static func obituary(_ name: String, _ process: ChildProcess) -> String {
        let tail = process.stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
        return "\(name) exited by itself with status \(process.process.terminationStatus):\n\(tail)"
    }

    private func pid(of victim: Victim) -> Int32? {
        switch victim {
        case .hub: hub.process.isRunning ? hub.process.pid : nil
        case .agent(let slot): agents[slot].process.isRunning ? agents[slot].process.pid : nil
        }
    }

    private func note(_ line: String) {
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        journal.append(String(format: "+%.1fs ", seconds) + line)
    }
}
