import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

/// An agent stopped past its heartbeat timeout comes back to a task already `lost`:
/// its late log and verdict are kept on the task, flagged late; the status stays `lost`.
@Suite("Late results of lost tasks")
struct LateResultTests {
    private func log(_ store: any SQLHubStore, _ id: String) async throws -> String {
        String(decoding: try await store.readLog(taskID: id, offset: 0, limit: 1 << 20).bytes, as: UTF8.self)
    }

    /// A running task with `before` in its log whose agent then went offline, and the
    /// agent's next session under the same name (what a SIGCONT'd agent registers as).
    private func lostTask(_ store: any SQLHubStore, before: String) async throws
        -> (task: TaskRecord, old: String, new: AgentRecord)
    {
        let (task, agentID) = try await store.seedTask(in: .running)
        let old = try #require(agentID)
        let oldAgent = try #require(try await store.agent(id: old))
        _ = try await store.appendLog(taskID: task.id, agentID: old, offset: 0, bytes: Array(before.utf8))
        let lost = try await store.markAgentOffline(id: old, at: t0, reason: "agent stopped sending heartbeats")
        #expect(lost.map(\.status) == [.lost])
        let new = try await store.seedAgent(name: oldAgent.name)
        return (task, old, new)
    }

    @Test("the agent's next session delivers the rest of the log and the exit code; the status stays lost")
    func lateResultKept() async throws {
        try await withStore { store in
            let (task, _, agent) = try await lostTask(store, before: "first ")
            #expect(try await store.appendLog(taskID: task.id, agentID: agent.id, offset: 6, bytes: Array("late".utf8)) == 10)
            let finished = try await store.finishTask(
                id: task.id, agentID: agent.id,
                finish: FinishRequest(status: .failed, exitCode: 3, error: nil, logBytes: 10), at: t0.addingTimeInterval(90))
            #expect(finished.status == .lost)
            #expect(finished.lateStatus == .failed)
            #expect(finished.lateExitCode == 3)
            #expect(finished.lateFinishedAt == t0.addingTimeInterval(90))
            #expect(finished.lateLogOffset == 6)
            #expect(finished.exitCode == nil)
            #expect(try await log(store, task.id) == "first late")
            #expect(try await store.task(id: task.id) == finished)

            // The same report again is idempotent; another verdict is a conflict; the log is closed.
            let again = try await store.finishTask(
                id: task.id, agentID: agent.id,
                finish: FinishRequest(status: .failed, exitCode: 3, error: nil, logBytes: 10), at: t0.addingTimeInterval(99))
            #expect(again == finished)
            await expectStoreError(.conflict) {
                try await store.finishTask(
                    id: task.id, agentID: agent.id,
                    finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 10), at: t0)
            }
            await expectStoreError(.conflict) {
                try await store.appendLog(taskID: task.id, agentID: agent.id, offset: 10, bytes: [65])
            }
        }
    }

    @Test("a late finish without late log marks where the late part would begin and needs the whole log")
    func lateFinishOnly() async throws {
        try await withStore { store in
            let (task, old, _) = try await lostTask(store, before: "abc")
            await expectStoreError(.logIncomplete(stored: 3)) {
                try await store.finishTask(
                    id: task.id, agentID: old, finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 5),
                    at: t0)
            }
            let finished = try await store.finishTask(
                id: task.id, agentID: old, finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 3),
                at: t0)
            #expect(finished.status == .lost)
            #expect(finished.lateStatus == .succeeded)
            #expect(finished.lateLogOffset == 3)
        }
    }

    @Test("the agent's next session may still say the task started; the task stays lost")
    func lateStart() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .assigned)
            let old = try #require(agentID)
            let oldAgent = try #require(try await store.agent(id: old))
            _ = try await store.markAgentOffline(id: old, at: t0, reason: "agent stopped sending heartbeats")
            let new = try await store.seedAgent(name: oldAgent.name)
            let started = try await store.startTask(id: task.id, agentID: new.id, at: t0)
            #expect(started.status == .lost)
            #expect(started.startedAt == nil)
            let stranger = try await store.seedAgent(name: "someone-else")
            await expectStoreError(.forbidden) { try await store.startTask(id: task.id, agentID: stranger.id, at: t0) }
        }
    }

    @Test("an agent of another name or type cannot report on a lost task")
    func strangerRefused() async throws {
        try await withStore { store in
            let (task, _, _) = try await lostTask(store, before: "x")
            let stranger = try await store.seedAgent(name: "someone-else")
            await expectStoreError(.forbidden) {
                try await store.appendLog(taskID: task.id, agentID: stranger.id, offset: 1, bytes: [65])
            }
            await expectStoreError(.forbidden) {
                try await store.finishTask(
                    id: task.id, agentID: stranger.id,
                    finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 1), at: t0)
            }
            #expect(try await store.task(id: task.id)?.lateStatus == nil)
        }
    }

    @Test("a repeated finish with another exit code is a conflict; the same one is idempotent")
    func exitCodeConflict() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            let agent = try #require(agentID)
            let done = try await store.finishTask(
                id: task.id, agentID: agent, finish: FinishRequest(status: .failed, exitCode: 2, error: nil, logBytes: 0),
                at: t0)
            #expect(done.exitCode == 2)
            await expectStoreError(.conflict) {
                try await store.finishTask(
                    id: task.id, agentID: agent,
                    finish: FinishRequest(status: .failed, exitCode: 7, error: nil, logBytes: 0), at: t0)
            }
            #expect(
                try await store.finishTask(
                    id: task.id, agentID: agent,
                    finish: FinishRequest(status: .failed, exitCode: 2, error: nil, logBytes: 0), at: t0) == done)
        }
    }

    @Test("reading a log from any offset, up to Int64.max, with any limit never traps",
        arguments: [(Int64.max, Int.max), (Int64.max - 1, 1), (3, Int.max), (0, Int.max), (-5, 2)] as [(Int64, Int)])
    func readAnywhere(offset: Int64, limit: Int) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            _ = try await store.appendLog(taskID: task.id, agentID: #require(agentID), offset: 0, bytes: Array("hello".utf8))
            let slice = try await store.readLog(taskID: task.id, offset: offset, limit: limit)
            let start = max(0, offset)
            let from = Int(min(start, 5))
            #expect(slice.bytes == Array(Array("hello".utf8)[from..<min(5, from + min(max(0, limit), 5))]))
            #expect(slice.nextOffset == start + Int64(slice.bytes.count))
            #expect(slice.totalBytes == 5)
        }
    }

    @Test("an append at offset Int64.max is a gap, not a trap")
    func appendAtMaxOffset() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            await expectStoreError(.logGap(expected: 0)) {
                try await store.appendLog(taskID: task.id, agentID: #require(agentID), offset: .max, bytes: [1, 2, 3])
            }
        }
    }
}
