import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Task logs")
struct TaskLogTests {
    /// A running task with `log` already stored in the given pieces.
    private func runningTask(
        _ store: any SQLHubStore, pieces: [String] = []
    ) async throws -> (id: String, agent: String) {
        let (task, agentID) = try await store.seedTask(in: .running)
        let agent = try #require(agentID)
        var offset: Int64 = 0
        for piece in pieces {
            offset = try await store.appendLog(taskID: task.id, agentID: agent, offset: offset, bytes: Array(piece.utf8))
        }
        return (task.id, agent)
    }

    private func fullLog(_ store: any SQLHubStore, _ id: String) async throws -> String {
        String(decoding: try await store.readLog(taskID: id, offset: 0, limit: 1 << 20).bytes, as: UTF8.self)
    }

    @Test("appends at the stored length and returns the next offset")
    func append() async throws {
        try await withStore { store in
            let (id, agent) = try await runningTask(store)
            #expect(try await store.appendLog(taskID: id, agentID: agent, offset: 0, bytes: Array("hello ".utf8)) == 6)
            #expect(try await store.appendLog(taskID: id, agentID: agent, offset: 6, bytes: Array("world".utf8)) == 11)
            #expect(try await fullLog(store, id) == "hello world")
            #expect(try await store.task(id: id)?.logBytes == 11)
        }
    }

    @Test("a chunk already stored is not stored again", arguments: [(0, "hello"), (0, "hel"), (2, "llo"), (5, "")])
    func duplicate(offset: Int64, text: String) async throws {
        try await withStore { store in
            let (id, agent) = try await runningTask(store, pieces: ["hello"])
            #expect(try await store.appendLog(taskID: id, agentID: agent, offset: offset, bytes: Array(text.utf8)) == 5)
            #expect(try await fullLog(store, id) == "hello")
        }
    }

    @Test("a chunk overlapping the end adds only its new tail")
    func overlapTail() async throws {
        try await withStore { store in
            let (id, agent) = try await runningTask(store, pieces: ["hello"])
            #expect(try await store.appendLog(taskID: id, agentID: agent, offset: 3, bytes: Array("lo world".utf8)) == 11)
            #expect(try await fullLog(store, id) == "hello world")
        }
    }

    @Test("a chunk past the end is a gap naming the expected offset", arguments: [Int64(6), 100, -1])
    func gap(offset: Int64) async throws {
        try await withStore { store in
            let (id, agent) = try await runningTask(store, pieces: ["hello"])
            await expectStoreError(.logGap(expected: 5)) {
                try await store.appendLog(taskID: id, agentID: agent, offset: offset, bytes: Array("x".utf8))
            }
            #expect(try await fullLog(store, id) == "hello")
        }
    }

    @Test("appending to a finished task is a conflict", arguments: TaskStatus.terminal.filter { $0 != .lost })
    func terminal(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: status)
            let agent = try #require(agentID)
            await expectStoreError(.conflict) {
                try await store.appendLog(taskID: task.id, agentID: agent, offset: 0, bytes: Array("late".utf8))
            }
        }
    }

    @Test("appending to another agent's task is forbidden; to an unknown task not found")
    func wrongAgent() async throws {
        try await withStore { store in
            let (id, _) = try await runningTask(store)
            let other = try await store.seedAgent()
            await expectStoreError(.forbidden) {
                try await store.appendLog(taskID: id, agentID: other.id, offset: 0, bytes: [1])
            }
            await expectStoreError(.notFound) {
                try await store.appendLog(taskID: "tsk_missing", agentID: other.id, offset: 0, bytes: [1])
            }
        }
    }

    @Test("an assigned task accepts log before its start")
    func assignedAcceptsLog() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .assigned)
            #expect(try await store.appendLog(taskID: task.id, agentID: #require(agentID), offset: 0, bytes: [65]) == 1)
        }
    }

    /// Pieces "0123", "456", "789ab" stored as three chunks; every window reads the same bytes.
    @Test(
        "reads any window across chunk boundaries",
        arguments: [(0, 12), (0, 4), (2, 3), (3, 2), (4, 3), (5, 6), (6, 100), (11, 1), (12, 5), (20, 5), (0, 0)]
    )
    func readWindows(offset: Int64, limit: Int) async throws {
        try await withStore { store in
            let (id, _) = try await runningTask(store, pieces: ["0123", "456", "789ab"])
            let all = Array("0123456789ab".utf8)
            let slice = try await store.readLog(taskID: id, offset: offset, limit: limit)
            let from = min(Int(offset), all.count)
            let expected = Array(all[from..<min(all.count, from + limit)])
            #expect(slice.bytes == expected)
            #expect(slice.nextOffset == offset + Int64(expected.count))
            #expect(slice.totalBytes == 12)
            #expect(slice.status == .running)
            #expect(!slice.truncated)
        }
    }

    @Test("binary bytes survive storage unchanged")
    func binary() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            let bytes = (0..<1024).map { UInt8(truncatingIfNeeded: $0 * 7) }
            _ = try await store.appendLog(taskID: task.id, agentID: #require(agentID), offset: 0, bytes: bytes)
            #expect(try await store.readLog(taskID: task.id, offset: 0, limit: 4096).bytes == bytes)
        }
    }

    @Test("marking the log truncated shows on the task and on reads")
    func truncated() async throws {
        try await withStore { store in
            let (id, _) = try await runningTask(store, pieces: ["abc"])
            try await store.markLogTruncated(taskID: id)
            #expect(try await store.task(id: id)?.logTruncated == true)
            #expect(try await store.readLog(taskID: id, offset: 0, limit: 10).truncated)
            await expectStoreError(.notFound) { try await store.markLogTruncated(taskID: "tsk_missing") }
            await expectStoreError(.notFound) { try await store.readLog(taskID: "tsk_missing", offset: 0, limit: 1) }
        }
    }
}
