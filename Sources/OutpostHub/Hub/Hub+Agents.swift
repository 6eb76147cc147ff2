import Foundation
import Logging
import OutpostCore
import OutpostStore

/// Agent protocol operations: log, finish (registration: `Hub+Registration.swift`).
extension Hub {
    /// Appends a chunk of log at `offset` (idempotent; a gap is refused).
    func appendLog(taskID: String, agent: AgentIdentity, offset: Int64, bytes: [UInt8]) async throws -> Int64 {
        let cap = configuration.maxLogBytes
        if offset + Int64(bytes.count) > cap {
            // Only the task's own agent may mark its log truncated.
            if let task = try await store.task(id: taskID), task.agent == agent.name, !task.status.isTerminal {
                try await store.markLogTruncated(taskID: taskID)
                watchers.notify(taskID: taskID)
            }
            throw HubError(
                .logTooLarge,
                "the log of task \(taskID) would pass the hub's cap of \(cap) bytes; stop sending and finish the task")
        }
        do {
            let next = try await store.appendLog(taskID: taskID, agentID: agent.id, offset: offset, bytes: bytes)
            if !bytes.isEmpty { watchers.notify(taskID: taskID, .log) }
            return next
        } catch {
            switch error.code {
            case .conflict:
                throw try await conflictOnTask(taskID, error, finishedMessage: "it takes no more log")
            case .logGap(let expected):
                throw HubError(
                    .logGap, "log chunk at offset \(offset) leaves a gap; the hub expects offset \(expected)",
                    expectedOffset: expected)
            default:
                throw error
            }
        }
    }

    /// Records the agent's verdict once the whole log is here. Idempotent.
    func finishTask(id: String, agent: AgentIdentity, finish: FinishRequest) async throws -> TaskRecord {
        try InputValidation.validate(finish: finish)
        guard let current = try await store.task(id: id) else { throw HubError.notFound("no task with id \"\(id)\"") }
        if finish.logBytes > current.logBytes, !current.status.isTerminal {
            throw HubError(
                .logIncomplete,
                "the hub holds \(current.logBytes) of the \(finish.logBytes) log bytes of task \(id); send the rest, then finish",
                expectedOffset: current.logBytes)
        }
        let task: TaskRecord
        do {
            task = try await store.finishTask(id: id, agentID: agent.id, finish: finish, at: now())
        } catch {
            guard error.code == .conflict, current.status.isTerminal else { throw error }
            throw HubError(
                .taskFinished, "task \(id) is already \(current.status.rawValue) on the hub; drop it (\(error.message))"
            )
        }
        if task.status.isTerminal, !current.status.isTerminal { await tasksEnded([task]) }
        return task
    }

    /// A store conflict on an agent's call: `task_finished` when the task is terminal
    /// (the agent should drop it), else a plain conflict the agent may retry.
    func conflictOnTask(_ taskID: String, _ error: StoreError, finishedMessage: String) async throws -> HubError {
        if let task = try await store.task(id: taskID), task.status.isTerminal {
            return HubError(
                .taskFinished, "task \(taskID) is already \(task.status.rawValue) on the hub; \(finishedMessage)")
        }
        return HubError(.conflict, error.message)
    }
}
