import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Listing tasks")
struct TaskListingTests {
    @Test("a task round-trips with every field")
    func roundTrip() async throws {
        try await withStore { store in
            let task = TaskRecord(
                id: "tsk_full", target: "local", status: .queued, createdAt: t0.addingTimeInterval(0.5),
                timeoutSeconds: 90, createdBy: "ci-token")
            let target = Target(name: "local", integration: "bash", createdAt: t0)
            try await store.insertTask(
                task, assignment: TaskAssignment(taskID: task.id, target: target, script: "ls", timeoutSeconds: 90),
                tags: .empty)
            #expect(try await store.task(id: "tsk_full") == task)
            #expect(try await store.task(id: "tsk_missing") == nil)
            await expectStoreError(.conflict) {
                try await store.insertTask(
                    task, assignment: TaskAssignment(taskID: task.id, target: target, script: "ls", timeoutSeconds: 90),
                    tags: .empty)
            }
        }
    }

    @Test("tasks are listed newest first, filtered by status, up to the limit")
    func listing() async throws {
        try await withStore { store in
            var ids: [String] = []
            for i in 0..<5 {
                ids.append(try await store.seedTask(createdAt: t0.addingTimeInterval(Double(i))).id)
            }
            _ = try await store.requestCancel(id: ids[1], at: t0)
            _ = try await store.requestCancel(id: ids[3], at: t0)

            #expect(try await store.listTasks(status: nil, limit: 100).map(\.id) == ids.reversed())
            #expect(try await store.listTasks(status: nil, limit: 2).map(\.id) == [ids[4], ids[3]])
            #expect(try await store.listTasks(status: .cancelled, limit: 100).map(\.id) == [ids[3], ids[1]])
            #expect(try await store.listTasks(status: .queued, limit: 100).map(\.id) == [ids[4], ids[2], ids[0]])
            #expect(try await store.listTasks(status: .running, limit: 100).isEmpty)
            #expect(try await store.listTasks(status: nil, limit: 0).isEmpty)
        }
    }

    @Test("queued tasks come oldest first with their tags; active tasks with their agent")
    func dispatcherViews() async throws {
        try await withStore { store in
            let later = try await store.seedTask(createdAt: t0.addingTimeInterval(10), tags: TagSet(["prod", "eu"]))
            let earlier = try await store.seedTask(createdAt: t0)
            #expect(
                try await store.queuedTasks() == [
                    QueuedTask(id: earlier.id, tags: .empty, createdAt: t0),
                    QueuedTask(id: later.id, tags: TagSet(["eu", "prod"]), createdAt: t0.addingTimeInterval(10)),
                ])

            let agent = try await store.seedAgent()
            let tagged = try await store.seedAgent(tags: TagSet(["prod", "eu"]))
            _ = try await store.claimTask(id: earlier.id, agentID: agent.id, agentName: agent.name, at: t0)
            _ = try await store.startTask(id: earlier.id, agentID: agent.id, at: t0)
            _ = try await store.claimTask(id: later.id, agentID: tagged.id, agentName: tagged.name, at: t0)
            #expect(
                try await store.activeTasks() == [
                    ActiveTask(id: earlier.id, agentID: agent.id, status: .running, cancelRequested: false),
                    ActiveTask(id: later.id, agentID: tagged.id, status: .assigned, cancelRequested: false),
                ])
            #expect(try await store.queuedTasks().isEmpty)
        }
    }
}
