import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Task queue")
struct TaskQueueTests {
    private func task(_ id: String, _ tags: [String]) -> QueuedTask {
        QueuedTask(id: id, tags: TagSet(tags), createdAt: Date())
    }

    @Test("an agent takes the oldest task across every tag set it may run")
    func oldestAcrossLanes() {
        var queue = TaskQueue()
        queue.push(task("a", ["prod"]))
        queue.push(task("b", []))
        queue.push(task("c", ["prod", "eu"]))
        queue.push(task("d", ["prod"]))
        let agent = TagSet(["prod", "eu"])
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "a")
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "c")
        #expect(queue.popOldest(runnableBy: agent)?.task.id == "d")
        #expect(queue.popOldest(runnableBy: agent) == nil)
        #expect(queue.popOldest(runnableBy: .empty)?.task.id == "b")
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
        #expect((queue.popOldest(runnableBy: TagSet(agentTags)) != nil) == runs)
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
        for _ in 0..<70 { taken.append(queue.popOldest(runnableBy: .empty)!) }
        #expect(taken.last?.task.id == "t70")
        queue.putBack(Array(taken[10..<20]))
        #expect(queue.count == 29 + 10)
        #expect(queue.popOldest(runnableBy: .empty)?.task.id == "t10")
        var rest: [String] = []
        while let entry = queue.popOldest(runnableBy: .empty) { rest.append(entry.task.id) }
        #expect(rest.first == "t11")
        #expect(rest.contains("t71") && !rest.contains("t50"))
    }
}
