import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

@Suite("Dispatch across real agents", .serialized)
struct DispatchTests {
    @Test("tagged targets run only on agents with every tag; untagged targets only on untagged agents")
    func routing() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        try await cluster.startAgent(name: "plain-agent-1")
        try await cluster.startAgent(name: "prod-eu-agent", tags: "prod,eu")
        try await cluster.startAgent(name: "prod-us-agent", tags: "prod,us")

        _ = try await cluster.client.createTarget(Target(name: "untagged", integration: "bash"))
        _ = try await cluster.client.createTarget(Target(name: "prod", integration: "bash", tags: TagSet(["prod"])))
        _ = try await cluster.client.createTarget(Target(name: "prod-eu", integration: "bash", tags: TagSet(["prod", "eu"])))
        _ = try await cluster.client.createTarget(Target(name: "staging", integration: "bash", tags: TagSet(["staging"])))

        var ran: [String: Set<String>] = [:]
        for target in ["untagged", "prod", "prod-eu"] {
            for _ in 0..<6 {
                let task = try await cluster.client.createTask(CreateTaskRequest(target: target, script: "true"))
                let done = try await cluster.waitForTask(task.id)
                #expect(done.status == .succeeded)
                ran[target, default: []].insert(done.agent ?? "none")
            }
        }
        #expect(ran["untagged"] == ["plain-agent-1"])
        #expect(ran["prod-eu"] == ["prod-eu-agent"])
        #expect(ran["prod"]!.isSubset(of: ["prod-eu-agent", "prod-us-agent"]))

        // No agent carries `staging`: the task waits in the queue.
        let waiting = try await cluster.client.createTask(CreateTaskRequest(target: "staging", script: "true"))
        let after = try await cluster.client.task(id: waiting.id, waitSeconds: 2)
        #expect(after.status == .queued)
    }

    @Test("200 tasks raced by several agents each run exactly once")
    func raceRunsEachTaskOnce() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        for i in 1...3 { try await cluster.startAgent(name: "racer-agent-\(i)", concurrency: 2) }
        _ = try await cluster.client.createTarget(Target(name: "race", integration: "sh"))

        var ids: [String] = []
        for _ in 0..<200 {
            ids.append(try await cluster.client.createTask(CreateTaskRequest(target: "race", script: "echo \"$OUTPOST_TASK_ID\"")).id)
        }
        var agentsUsed = Set<String>()
        for id in ids {
            let task = try await cluster.waitForTask(id, timeout: .seconds(120))
            #expect(task.status == .succeeded, "task \(id) ended \(task.status): \(task.error ?? "")")
            agentsUsed.insert(task.agent ?? "")
            let log = try await cluster.client.readLog(taskID: id)
            #expect(String(decoding: log.bytes, as: UTF8.self) == id + "\n", "task \(id) ran other than exactly once")
        }
        #expect(agentsUsed.count > 1, "only \(agentsUsed) took work")
    }
}
