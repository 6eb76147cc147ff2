/// The rules of a task's lifecycle in one place, as a pure value.
///
/// The hub's store applies these rules inside its transactions; the hub's API and
/// the sweeper ask the machine what an event means before touching storage. Every
/// method returns the action to take rather than performing it, so the rules are
/// tested without I/O.
package struct TaskStateMachine: Sendable, Equatable {
    package private(set) var status: TaskStatus
    /// Set once a cancel was asked for a task that an agent holds.
    package private(set) var cancelRequested: Bool
    /// The exit code recorded with the agent's verdict (`nil` before one, or when none).
    package private(set) var exitCode: Int32?
    /// What the agent reported after the task was already `lost` (late result), if it did.
    package private(set) var lateVerdict: Verdict?

    /// An agent's report of how a task ended.
    package struct Verdict: Sendable, Equatable {
        package var status: TaskStatus
        package var exitCode: Int32?

        package init(status: TaskStatus, exitCode: Int32?) {
            self.status = status
            self.exitCode = exitCode
        }
    }

    package init(
        status: TaskStatus, cancelRequested: Bool = false, exitCode: Int32? = nil, lateVerdict: Verdict? = nil
    ) {
        self.status = status
        self.cancelRequested = cancelRequested
        self.exitCode = exitCode
        self.lateVerdict = lateVerdict
    }

    /// Things that can happen to a task.
    package enum Event: Sendable, Equatable {
        /// An agent claimed the task from the queue.
        case assign
        /// The agent started the task's process.
        case start
        /// The agent reported the end of the task.
        case finish(TaskStatus)
        /// A user asked to cancel the task.
        case cancel
        /// The task's agent stopped sending heartbeats.
        case agentLost
        /// The task ran past its timeout plus grace and its agent never reported.
        case deadlinePassed
        /// The hub lost the user token the task needs (it restarted before an agent started it).
        case userTokenLost
        /// The agent reported the end of the task with its exit code: `finish` as the
        /// agent protocol sends it. A repeat with the same verdict is idempotent; one
        /// with another status or exit code is refused. After `lost` it is a late result.
        case report(Verdict)
    }

    /// Whether the task takes log bytes from its agent now.
    package enum LogAcceptance: Sendable, Equatable {
        /// The task runs: append.
        case open
        /// The task is `lost` but its agent came back: append, as the late part of the log.
        case late
        /// Terminal: no more log.
        case closed
    }

    /// Whether an agent's log append is taken, and as what.
    package var logAcceptance: LogAcceptance {
        switch status {
        case .assigned, .running: .open
        case .lost where lateVerdict == nil: .late
        default: .closed
        }
    }

    /// What the caller must do after an event.
    package enum Action: Sendable, Equatable {
        /// Persist the new status (and timestamps that go with it).
        case transition(to: TaskStatus)
        /// Mark the task as cancel-requested and tell its agent to stop it.
        case signalAgentToCancel
        /// Nothing changes: the event repeats one already applied (idempotent calls).
        case none
        /// The event is not allowed in the current state.
        case refuse(reason: String)
        /// Keep the agent's verdict as the task's late result; its status stays `lost`.
        case recordLateResult(Verdict)
    }

    /// Applies an event and returns the action to take.
    package mutating func apply(_ event: Event) -> Action {
        switch (status, event) {
        case (.queued, .assign):
            return move(to: .assigned)
        case (.assigned, .start):
            return move(to: .running)
        case (.running, .start):
            return .none
        case (.lost, .start) where lateVerdict == nil:
            // The agent was stopped between launching the process and saying so: it
            // may still run the task to its end and report a late result.
            return .none
        case (.assigned, .report(let verdict)), (.running, .report(let verdict)):
            guard verdict.status.isAgentReportable else {
                return .refuse(reason: "an agent cannot report status \(verdict.status.rawValue)")
            }
            exitCode = verdict.exitCode
            return move(to: verdict.status)
        case (.lost, .report(let verdict)):
            // The agent was given up on (no heartbeats) but the task ran to its end:
            // the result is kept as extra information; the status stays `lost`.
            guard verdict.status.isAgentReportable else {
                return .refuse(reason: "an agent cannot report status \(verdict.status.rawValue)")
            }
            guard let recorded = lateVerdict else {
                lateVerdict = verdict
                return .recordLateResult(verdict)
            }
            return recorded == verdict ? .none : .refuse(reason: "task is lost and its late result was already recorded")
        case (let current, .report(let verdict)) where current.isTerminal:
            // A retried finish is fine; a different status or exit code after the fact is not.
            if current == verdict.status, exitCode == verdict.exitCode { return .none }
            return .refuse(reason: "task is already \(current.rawValue)\(exitCode.map { " with exit code \($0)" } ?? "")")
        case (.assigned, .finish(let final)), (.running, .finish(let final)):
            guard final.isAgentReportable else {
                return .refuse(reason: "an agent cannot report status \(final.rawValue)")
            }
            return move(to: final)
        case (let current, .finish(let final)) where current.isTerminal:
            // A retried finish is fine; a different verdict after the fact is not.
            return current == final ? .none : .refuse(reason: "task is already \(current.rawValue)")
        case (.queued, .cancel):
            return move(to: .cancelled)
        case (.assigned, .cancel), (.running, .cancel):
            if cancelRequested { return .none }
            cancelRequested = true
            return .signalAgentToCancel
        case (let current, .cancel) where current.isTerminal:
            return .none
        case (.assigned, .agentLost), (.running, .agentLost):
            return move(to: .lost)
        case (.assigned, .deadlinePassed), (.running, .deadlinePassed):
            return move(to: .timedOut)
        case (.queued, .userTokenLost), (.assigned, .userTokenLost):
            return move(to: .rejected)
        case (let current, .agentLost) where current.isTerminal,
            (let current, .deadlinePassed) where current.isTerminal,
            (let current, .userTokenLost) where current.isTerminal:
            return .none
        default:
            return .refuse(reason: "cannot \(event.verb) a task that is \(status.rawValue)")
        }
    }

    private mutating func move(to next: TaskStatus) -> Action {
        status = next
        return .transition(to: next)
    }
}

extension TaskStateMachine.Event {
    fileprivate var verb: String {
        switch self {
        case .assign: "assign"
        case .start: "start"
        case .finish: "finish"
        case .cancel: "cancel"
        case .agentLost: "lose"
        case .deadlinePassed: "time out"
        case .userTokenLost: "reject"
        case .report: "finish"
        }
    }
}
