import Foundation
import Logging
import OutpostCore
import OutpostStore

/// Agent protocol operations: log, finish (registration: `Hub+Registration.swift`).
extension Hub {
    /// Marks a claimed task running (the agent spawned it). `submitter`: what the agent
    /// verified about who submitted it (user token subject, signing key).
    func startTask(id: String, agent: AgentIdentity, submitter: VerifiedSubmitter) async throws -> TaskRecord {
        try InputValidation.validate(submitter: submitter)
        let task: TaskRecord
        do {
            task = try await store.startTask(id: id, agentID: agent.id, submitter: submitter, at: now())
        } catch {
            switch error.code {
            case .conflict: throw try await conflictOnTask(id, error, finishedMessage: "drop it")
            case .notFound, .forbidden: throw Self.noTaskForAgent(id)
            default: throw error
            }
        }
        await dispatcher.taskStarted(id)
        taskChanged(id)
        return task
    }

    /// Takes an agent's answer to a `list_secrets` control message.
    func reportSecretListing(_ requestID: String, from agent: AgentIdentity, listing: SecretListing) async throws {
        guard try await deliverSecretListing(requestID, from: agent, listing: listing) else {
            throw HubError.notFound("no open secret listing \"\(requestID)\" for this agent (it may have timed out)")
        }
    }

    /// Appends a chunk of log at `offset` (idempotent; a gap is refused).
    func appendLog(taskID: String, agent: AgentIdentity, offset: Int64, bytes: [UInt8]) async throws -> Int64 {
        let cap = configuration.maxLogBytes
        // `offset` is the client's number, anything up to Int64.max: add only when
        // the sum cannot overflow (an overflow trap would take the whole hub down).
        let (end, overflow) = offset.addingReportingOverflow(Int64(bytes.count))
        if overflow || end > cap {
            // Only the task's own agent learns about the cap or may mark its log truncated.
            guard let task = try await store.task(id: taskID), task.agent == agent.name else {
                throw Self.noTaskForAgent(taskID)
            }
            if !task.status.isTerminal {
                try await store.markLogTruncated(taskID: taskID)
                taskChanged(taskID)
            }
            throw HubError(
                .logTooLarge,
                "the log of task \(taskID) would pass the hub's cap of \(cap) bytes; stop sending and finish the task")
        }
        do {
            let next = try await store.appendLog(taskID: taskID, agentID: agent.id, offset: offset, bytes: bytes)
            if !bytes.isEmpty { taskChanged(taskID, .log) }
            return next
        } catch {
            switch error.code {
            case .notFound, .forbidden:
                throw Self.noTaskForAgent(taskID)
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

    /// Records the agent's verdict once the whole log is here. Idempotent for the same
    /// verdict; another status or exit code afterwards is a 409. Ownership is checked
    /// (by the store) before anything about the task is told: another agent's task gets
    /// the very answer an unknown task gets.
    /// What an agent's finish did.
    struct FinishOutcome: Sendable {
        var task: TaskRecord
        /// The agent's waiting poll took the task's slot over (`Dispatcher.agentFinished`):
        /// the agent need not cancel that poll to say it has room.
        var pollTookSlot: Bool
    }

    func finishTask(id: String, agent: AgentIdentity, finish: FinishRequest) async throws -> FinishOutcome {
        try InputValidation.validate(finish: finish)
        // Read only to tell, after the store accepted the call, whether it ended the task now.
        let before = try await store.task(id: id)
        let task: TaskRecord
        do {
            task = try await store.finishTask(id: id, agentID: agent.id, finish: finish, at: now())
        } catch {
            switch error.code {
            case .notFound, .forbidden:
                throw Self.noTaskForAgent(id)
            case .conflict where before?.status.isTerminal == true:
                throw HubError(.taskFinished, "\(error.message); drop it")
            default:
                throw error
            }
        }
        if task.status.isTerminal, before?.status.isTerminal == false { await tasksEnded([task]) }
        let pollTookSlot = await dispatcher.agentFinished(id, agentID: agent.id)
        if task.lateStatus != nil, before?.lateStatus == nil {
            logger.notice(
                "a lost task's agent came back and reported its end; kept as its late result",
                metadata: ["task": "\(id)", "agent": "\(agent.name)"])
            taskChanged(id)
        }
        return FinishOutcome(task: task, pollTookSlot: pollTookSlot)
    }

    /// The answer for a task that does not exist and for another agent's task alike,
    /// so an agent learns nothing about tasks that are not its own.
    static func noTaskForAgent(_ id: String) -> HubError {
        HubError.notFound("no task \"\(id)\" is assigned to this agent")
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
