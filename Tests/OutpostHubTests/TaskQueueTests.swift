import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Task queue")
struct TaskQueueTests {
    private func task(_ id: String, _ tags: [String], pinnedTo types: [String] = []) -> QueuedTask {
        QueuedTask(id: id, route: TaskRoute(tags: TagSet(tags), agentTypes: types), createdAt: Date())
    }

    private func agent(_ tags: [String], type: String = "pool") -> AgentRoute {
        AgentRoute(type: type, tags: TagSet(tags))
    }

    @Test("an agent takes the oldest task across every tag set it may run")
    func oldestAcrossLanes() {
        var queue = TaskQueue()
        queue.push(task("a", ["prod"]))
        queue.push(task("b", []))
        queue.push(task("c", ["prod", "eu"]))
        queue.push(task("d", ["prod"]))
        let agent = agent(["prod", "eu"])
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "a")
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "c")
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "d")
        #expect(queue.popOldest(runnableBy: agent) == nil)
        #expect(queue.popOldest(runnableBy: self.agent([]))?.task.id == "b")
        #expect(queue.isEmpty)
    }

    @Test(
        "routing: tasks go only to agents carrying every tag; untagged only to untagged",
        arguments: [
            ([String](), [String](), true),
            ([], ["prod"], false),
            (["prod"], [], false),
            (["prod"], ["prod"], true),
            (["prod"], ["prod", "eu"], true),
            (["prod", "eu"], ["prod"], false),
            (["eu"], ["prod"], false),
        ])
    func routing(targetTags: [String], agentTags: [String], runs: Bool) {
        var queue = TaskQueue()
        queue.push(task("t", targetTags))
        #expect((queue.popOldest(runnableBy: agent(agentTags)) != nil) == runs)
    }

    @Test("a pinned task waits behind nothing: other types skip its lane, its own type takes it in order")
    func pinnedLanes() {
        var queue = TaskQueue()
        queue.push(task("pinned", ["prod"], pinnedTo: ["prod-eu"]))
        queue.push(task("open", ["prod"]))
        queue.push(task("pinned-2", ["prod"], pinnedTo: ["prod-eu", "prod-us"]))
        let rogue = agent(["prod"], type: "dev")
        #expect(queue.peekOldest(runnableBy: rogue)?.task.id == "open")
        #expect(queue.popOldest(runnableBy: rogue)?.task.id == "open")
        #expect(queue.popOldest(runnableBy: rogue) == nil)
        let owner = agent(["prod", "eu"], type: "prod-eu")
        #expect(queue.popOldest(runnableBy: owner)?.task.id == "pinned")
        #expect(queue.popOldest(runnableBy: owner)?.task.id == "pinned-2")
        #expect(queue.isEmpty)
    }

    @Test("removing and putting back keep the order")
    func removeAndPutBack() {
        var queue = TaskQueue()
        for i in 0..<100 { queue.push(task("t\(i)", [])) }
        let removed = queue.remove("t50")
        let removedAgain = queue.remove("t50")
        #expect(removed)
        #expect(!removedAgain)
        var taken: [TaskQueue.Entry] = []
        for _ in 0..<70 { taken.append(queue.popOldest(runnableBy: agent([]))!) }
        #expect(taken.last?.task.id == "t70")
        queue.putBack(Array(taken[10..<20]))
        #expect(queue.count == 29 + 10)
        #expect(queue.popOldest(runnableBy: agent([]))?.task.id == "t10")
        var rest: [String] = []
        while let entry = queue.popOldest(runnableBy: agent([])) { rest.append(entry.task.id) }
        #expect(rest.first == "t11")
        #expect(rest.contains("t71") && !rest.contains("t50"))
    }
}
