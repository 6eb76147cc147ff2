import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// The whole promise of several replicas, under fire: 1,000 tasks submitted round
/// robin to three replicas, six agents spread over them, and in the middle of it the
/// leader and then another replica holding agents are SIGKILLed. Every task must run
/// exactly once, end once, and keep its log byte for byte.
@Suite("Replica loss", .postgresAvailable, .serialized)
struct ReplicaFailoverTests {
    static let taskCount = 1_000

    @Test("1,000 tasks over 3 replicas and 6 agents; the leader and a replica holding agents are SIGKILLed midway: nothing lost, nothing twice, logs exact")
    func killReplicasMidway() async throws {
        let set = try await ReplicaSet(count: 3, heartbeatTimeout: "8s")
        defer { set.terminate() }
        let ledger = set.directory.file("ledger")
        for index in 0..<6 {
            let primary = index % 3
            try await set.startAgent(
                name: "spread-agent-\(index)", replicas: [primary, (primary + 1) % 3, (primary + 2) % 3],
                concurrency: 2)
        }
        _ = try await set.client(0).createTarget(Target(name: "local", integration: "bash"))
        let leaderReady = await eventually(timeout: .seconds(15)) { set.leaderIndex() != nil }
        #expect(leaderReady)

        var alive = [0, 1, 2]
        var killed: [Int] = []
        var tasks: [(id: String, number: Int)] = []
        for number in 0..<Self.taskCount {
            if number == Self.taskCount * 3 / 10, let leader = set.leaderIndex() {
                await set.replicas[leader].process.kill9()
                alive.removeAll { $0 == leader }
                killed.append(leader)
            }
            if number == Self.taskCount * 6 / 10, let victim = alive.first {
                await set.replicas[victim].process.kill9()
                alive.removeAll { $0 == victim }
                killed.append(victim)
            }
            let script = "printf '%s\\n' \(number) >> \(ledger); printf 'task %d\\nbytes \\x01\\x7f\\n' \(number)"
            let replica = alive[number % alive.count]
            let task = try await set.client(replica).createTask(CreateTaskRequest(target: "local", script: script, timeoutSeconds: 120))
            tasks.append((task.id, number))
        }
        #expect(killed.count == 2, "the leader and one more replica were killed")
        let survivor = try #require(alive.first)
        let client = set.client(survivor)

        // Every task ends, and none later than its timeout would allow.
        var pending = Set(tasks.map(\.id))
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(240)
        while !pending.isEmpty, clock.now < deadline {
            for id in pending where (try? await client.task(id: id))?.status.isTerminal == true {
                pending.remove(id)
            }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(pending.isEmpty, "\(pending.count) tasks did not end")
        var statuses: [TaskStatus: Int] = [:]
        for (id, number) in tasks {
            let task = try await client.task(id: id)
            statuses[task.status, default: 0] += 1
            guard task.status == .succeeded else {
                Issue.record("task \(number) ended \(task.status): \(task.error ?? "")")
                continue
            }
            let log = try await client.readLog(taskID: id)
            #expect(log.bytes == Array("task \(number)\nbytes \u{01}\u{7f}\n".utf8), "log of task \(number)")
        }
        #expect(statuses[.succeeded] == Self.taskCount, "\(statuses)")
        let lines = (try String(contentsOfFile: ledger, encoding: .utf8)).split(separator: "\n").map(String.init)
        let counts = Dictionary(lines.map { ($0, 1) }, uniquingKeysWith: +)
        let twice = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(twice.isEmpty, "tasks run more than once: \(twice.prefix(10))")
        #expect(counts.count == Self.taskCount, "tasks that ran: \(counts.count)")
        #expect(set.leaderIndex() == survivor, "the survivor leads")
    }
}
