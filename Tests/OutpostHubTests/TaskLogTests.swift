import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostTestSupport
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Task logs and waiting")
struct TaskLogTests {
    /// A hub with one agent running one task.
    private func withRunningTask(
        _ configure: @escaping (inout HubConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestHub, API, SimAgent, TaskRecord) async throws -> Void
    ) async throws {
        try await TestHub.with(configure: {
            $0.pollTimeout = .milliseconds(100)
            configure(&$0)
        }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.count == 1)
                #expect(try await agent.start(api, task.id).status == .ok)
                try await body(hub, api, agent, task)
            }
        }
    }

    @Test("log appends are idempotent, gaps refused, and finish waits for the whole log")
    func appendGapFinish() async throws {
        try await withRunningTask { hub, api, agent, task in
            let first = try await agent.appendLog(api, task.id, offset: 0, "hello ")
            #expect(try first.decode(LogAppendResponse.self).nextOffset == 6)
            // A retried chunk is not stored twice.
            #expect(
                try await agent.appendLog(api, task.id, offset: 0, "hello ").decode(LogAppendResponse.self).nextOffset
                    == 6)
            // An overlapping chunk adds only its tail.
            #expect(
                try await agent.appendLog(api, task.id, offset: 3, "lo world").decode(LogAppendResponse.self).nextOffset
                    == 11)

            let gap = try await agent.appendLog(api, task.id, offset: 20, "!")
            #expect(gap.status == .conflict)
            #expect(gap.error?.code == "log_gap")
            #expect(gap.error?.expectedOffset == 11)

            let early = try await agent.finish(api, task.id, logBytes: 30)
            #expect(early.status == .conflict)
            #expect(early.error?.code == "log_incomplete")
            #expect(early.error?.expectedOffset == 11)

            let done = try await agent.finish(api, task.id, logBytes: 11)
            #expect(done.status == .ok)
            #expect(try done.decode(TaskRecord.self).status == .succeeded)
            // Idempotent.
            #expect(try await agent.finish(api, task.id, logBytes: 11).status == .ok)
            // A different verdict after the fact is refused.
            let other = try await agent.finish(api, task.id, status: .failed, exitCode: 1, logBytes: 11)
            #expect(other.error?.code == "task_finished")

            let late = try await agent.appendLog(api, task.id, offset: 11, "more")
            #expect(late.status == .conflict)
            #expect(late.error?.code == "task_finished")

            let log = try await api.send(.get, "/api/v1/tasks/\(task.id)/log")
            #expect(log.status == .ok)
            #expect(log.text == "hello world")
            #expect(log.header("Outpost-Next-Offset") == "11")
            #expect(log.header("Outpost-Task-Status") == "succeeded")
            #expect(log.header("Outpost-Log-Truncated") == "false")
            #expect(log.headers[.contentType]?.hasPrefix("text/plain") == true)

            let tail = try await api.send(.get, "/api/v1/tasks/\(task.id)/log?offset=6")
            #expect(tail.text == "world")
            let end = try await api.send(.get, "/api/v1/tasks/\(task.id)/log?offset=11")
            #expect(end.text == "")
        }
    }

    @Test("a chunk past the hub's cap is refused with 413 and marks the log truncated")
    func logCap() async throws {
        try await withRunningTask({ $0.maxLogBytes = 10 }) { hub, api, agent, task in
            #expect(try await agent.appendLog(api, task.id, offset: 0, "0123456789").status == .ok)
            let over = try await agent.appendLog(api, task.id, offset: 10, "x")
            #expect(over.status == .contentTooLarge)
            #expect(over.error?.code == "log_too_large")
            let stored = try await hub.store.task(id: task.id)
            #expect(stored?.logTruncated == true)
            let log = try await api.send(.get, "/api/v1/tasks/\(task.id)/log")
            #expect(log.header("Outpost-Log-Truncated") == "true")
        }
    }

    @Test("a log larger than one read chunk comes back whole")
    func largeLog() async throws {
        try await withRunningTask { hub, api, agent, task in
            let piece = String(repeating: "abcdefghij", count: 10_000)  // 100 kB
            var offset: Int64 = 0
            for _ in 0..<4 {
                let reply = try await agent.appendLog(api, task.id, offset: offset, piece)
                offset = try reply.decode(LogAppendResponse.self).nextOffset
            }
            let log = try await api.send(.get, "/api/v1/tasks/\(task.id)/log")
            #expect(log.bytes.count == 400_000)
            #expect(log.text == String(repeating: piece, count: 4))
        }
    }

    @Test("?wait= answers as soon as the task is terminal")
    func waitReturnsWhenTerminal() async throws {
        try await withRunningTask { hub, api, agent, task in
            let started = ContinuousClock.now
            async let waited = api.send(.get, "/api/v1/tasks/\(task.id)?wait=60")
            #expect(await eventually { hub.hub.watchers.subscriptionCount == 1 })
            #expect(try await agent.finish(api, task.id, status: .failed, exitCode: 3).status == .ok)
            let record = try await waited.decode(TaskRecord.self)
            #expect(record.status == .failed)
            #expect(record.exitCode == 3)
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(hub.hub.watchers.subscriptionCount == 0)
        }
    }

    @Test("?wait= on a task that stays running answers when the wait ends")
    func waitEndsAtDeadline() async throws {
        try await withRunningTask { hub, api, agent, task in
            let started = ContinuousClock.now
            let reply = try await api.send(.get, "/api/v1/tasks/\(task.id)?wait=0.3")
            #expect(try reply.decode(TaskRecord.self).status == .running)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
        }
    }

    @Test("follow streams new log bytes as they arrive and ends once the task is terminal")
    func followStreamsAndEnds() async throws {
        try await withRunningTask { hub, api, agent, task in
            #expect(try await agent.appendLog(api, task.id, offset: 0, "one\n").status == .ok)
            async let followed = api.send(.get, "/api/v1/tasks/\(task.id)/log?follow=true")
            #expect(await eventually { hub.hub.watchers.subscriptionCount == 1 })
            #expect(try await agent.appendLog(api, task.id, offset: 4, "two\n").status == .ok)
            #expect(try await agent.appendLog(api, task.id, offset: 8, "three\n").status == .ok)
            #expect(try await agent.finish(api, task.id, logBytes: 14).status == .ok)
            let reply = try await followed
            #expect(reply.status == .ok)
            #expect(reply.text == "one\ntwo\nthree\n")
            #expect(reply.response.trailerHeaders?[LogStreaming.nextOffsetHeader] == "14")
            #expect(reply.response.trailerHeaders?[LogStreaming.statusHeader] == "succeeded")
            #expect(hub.hub.watchers.subscriptionCount == 0)
        }
    }

    @Test("follow of a finished task sends its log from the offset and ends")
    func followFinishedTask() async throws {
        try await withRunningTask { hub, api, agent, task in
            #expect(try await agent.appendLog(api, task.id, offset: 0, "all done\n").status == .ok)
            #expect(try await agent.finish(api, task.id, logBytes: 9).status == .ok)
            let reply = try await api.send(.get, "/api/v1/tasks/\(task.id)/log?offset=4&follow=true")
            #expect(reply.text == "done\n")
        }
    }
}
