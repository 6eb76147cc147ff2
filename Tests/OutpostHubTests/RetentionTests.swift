import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Retention")
struct RetentionTests {
    @Test("finished tasks older than the retention period leave the database; queued and recently ended ones stay")
    func expiredTasksDeleted() async throws {
        try await TestHub.with(configure: {
            $0.pollTimeout = .milliseconds(100)
            $0.retention = .seconds(86_400)
            $0.defaultTaskTimeoutSeconds = 7 * 86_400
        }) { hub in
            let sweeper = Sweeper(hub: hub.hub)
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let finished = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [finished.id])
                #expect(try await agent.start(api, finished.id).status == .ok)
                #expect(try await agent.finish(api, finished.id).status == .ok)
                let running = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api, running: [], freeSlots: 1).assignments.map(\.taskID) == [running.id])
                #expect(try await agent.start(api, running.id).status == .ok)
                try await hub.createTarget(api, name: "nobody", tags: ["nowhere"])
                let queued = try await hub.createTask(api, target: "nobody")

                // A day and a half later: the finished task is past the retention period; the
                // agent fell silent, so its running task is lost now (recently ended); the
                // queued one is as old, but waits.
                hub.clock.advance(by: 36 * 3600)
                await sweeper.sweep(now: hub.clock.date)
                #expect(try await api.send(.get, "/api/v1/tasks/\(finished.id)").status == .notFound)
                #expect((try? await hub.store.readLog(taskID: finished.id, offset: 0, limit: 10)) == nil)
                #expect(try await api.send(.get, "/api/v1/tasks/\(running.id)").decode(TaskRecord.self).status == .lost)
                #expect(try await api.send(.get, "/api/v1/tasks/\(queued.id)").decode(TaskRecord.self).status == .queued)
            }
        }
    }
}
