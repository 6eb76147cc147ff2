import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// An agent stopped past its heartbeat timeout (SIGSTOP) comes back to a task the hub
/// already marked `lost`: its late log and verdict are kept, flagged late, and the
/// task stays `lost`.
@Suite("Late results through the API")
struct LateResultAPITests {
    @Test("the agent's next session delivers the rest of the log and its exit code; the task stays lost")
    func lateResult() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: registration, name: "stopped-agent")
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                #expect(try await agent.start(api, task.id).status == .ok)
                #expect(try await agent.appendLog(api, task.id, offset: 0, "before ").status == .ok)

                // The agent is stopped: 61 s without a poll and the sweeper gives up on it.
                hub.clock.advance(by: 61)
                await Sweeper(hub: hub.hub).sweep(now: hub.clock.date)
                #expect(try await hub.store.task(id: task.id)?.status == .lost)

                // It resumes: its old session is gone, so it registers again under its name
                // and delivers what it holds.
                #expect(try await agent.appendLog(api, task.id, offset: 7, "late").status == .unauthorized)
                let back = try await SimAgent.register(api, registrationToken: registration, name: "stopped-agent")
                // Its polls list the task as running: the hub lets it run on rather than
                // telling it to abandon the task; an agent of another name is told to.
                #expect(try await back.poll(api, running: [task.id]).controls.isEmpty)
                #expect(try await back.poll(api, running: [task.id]).controls.isEmpty)
                let stranger = try await SimAgent.register(api, registrationToken: registration, name: "stranger-agent")
                #expect(
                    try await stranger.poll(api, running: [task.id]).controls
                        == [ControlMessage(kind: .abandon, taskID: task.id)])
                #expect(try await back.appendLog(api, task.id, offset: 7, "late").status == .ok)
                let finish = try await back.finish(api, task.id, status: .failed, exitCode: 3, logBytes: 11)
                #expect(finish.status == .ok, "\(finish.text)")

                let shown = try await api.send(.get, "/api/v1/tasks/\(task.id)")
                let record = try shown.decode(TaskRecord.self)
                #expect(record.status == .lost)
                #expect(record.exitCode == nil)
                #expect(record.lateStatus == .failed)
                #expect(record.lateExitCode == 3)
                #expect(record.lateFinishedAt == hub.clock.date)
                #expect(record.lateLogOffset == 7)
                #expect(shown.text.contains(#""late_exit_code":3"#))
                let log = try await api.send(.get, "/api/v1/tasks/\(task.id)/log")
                #expect(log.text == "before late")

                // A retry of the same late report is fine; another verdict is refused.
                #expect(try await back.finish(api, task.id, status: .failed, exitCode: 3, logBytes: 11).status == .ok)
                #expect(try await back.finish(api, task.id, status: .succeeded, exitCode: 0, logBytes: 11).status == .conflict)

                // An agent of another name learns nothing about the task.
                #expect(try await stranger.finish(api, task.id, status: .failed, exitCode: 9, logBytes: 11).status == .notFound)
                #expect(try await hub.store.task(id: task.id)?.lateExitCode == 3)
            }
        }
    }
}
