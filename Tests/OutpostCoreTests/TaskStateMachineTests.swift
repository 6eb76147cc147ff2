import OutpostCore
import Testing

/// The task lifecycle's rules, event by event, without I/O.
@Suite struct TaskStateMachineTests {
    typealias Event = TaskStateMachine.Event

    @Test(
        "each live state moves only where the lifecycle allows",
        arguments: [
            (TaskStatus.queued, Event.assign, TaskStatus.assigned),
            (.assigned, .start, .running),
            (.assigned, .finish(.succeeded), .succeeded),
            (.running, .finish(.failed), .failed),
            (.running, .finish(.timedOut), .timedOut),
            (.running, .finish(.cancelled), .cancelled),
            (.assigned, .finish(.rejected), .rejected),
            (.queued, .cancel, .cancelled),
            (.assigned, .agentLost, .lost),
            (.running, .agentLost, .lost),
            (.assigned, .deadlinePassed, .timedOut),
            (.running, .deadlinePassed, .timedOut),
            (.queued, .userTokenLost, .rejected),
            (.assigned, .userTokenLost, .rejected),
        ])
    func transitions(from status: TaskStatus, event: Event, to next: TaskStatus) {
        var machine = TaskStateMachine(status: status)
        #expect(machine.apply(event) == .transition(to: next))
        #expect(machine.status == next)
    }

    @Test("a terminal task never changes: repeats are no-ops, another verdict is refused")
    func terminalIsFinal() {
        for status in TaskStatus.allCases where status.isTerminal {
            for event in [Event.cancel, .agentLost, .deadlinePassed, .userTokenLost, .finish(status)] {
                var machine = TaskStateMachine(status: status)
                #expect(machine.apply(event) == TaskStateMachine.Action.none, "\(status) + \(event)")
                #expect(machine.status == status)
            }
            for other in TaskStatus.allCases where other != status && other.isAgentReportable {
                var machine = TaskStateMachine(status: status)
                guard case .refuse = machine.apply(.finish(other)) else {
                    Issue.record("\(status) took a second verdict \(other)")
                    continue
                }
                #expect(machine.status == status)
            }
            var machine = TaskStateMachine(status: status)
            guard case .refuse = machine.apply(.assign) else {
                Issue.record("a \(status) task was assigned again")
                continue
            }
        }
    }

    @Test("cancelling a held task signals its agent once; the task stays live until the agent reports")
    func cancelHeldTask() {
        for status in [TaskStatus.assigned, .running] {
            var machine = TaskStateMachine(status: status)
            #expect(machine.apply(.cancel) == .signalAgentToCancel)
            #expect(machine.cancelRequested)
            #expect(machine.status == status)
            #expect(machine.apply(.cancel) == TaskStateMachine.Action.none)
            #expect(machine.apply(.finish(.cancelled)) == .transition(to: .cancelled))
        }
    }

    @Test("an agent can never report lost, queued, assigned or running as a verdict")
    func agentVerdicts() {
        for verdict in TaskStatus.allCases where !verdict.isAgentReportable {
            var machine = TaskStateMachine(status: .running)
            guard case .refuse = machine.apply(.finish(verdict)) else {
                Issue.record("an agent reported \(verdict)")
                continue
            }
            #expect(machine.status == .running)
        }
    }

    @Test("a start is idempotent while running and refused before the task is assigned or after it ended")
    func starts() {
        var running = TaskStateMachine(status: .running)
        #expect(running.apply(.start) == TaskStateMachine.Action.none)
        // A lost task's agent may come back and report its start late: no change, no refusal.
        var lost = TaskStateMachine(status: .lost)
        #expect(lost.apply(.start) == TaskStateMachine.Action.none)
        #expect(lost.status == .lost)
        for status in [TaskStatus.queued, .succeeded, .cancelled] {
            var machine = TaskStateMachine(status: status)
            guard case .refuse = machine.apply(.start) else {
                Issue.record("started a \(status) task")
                continue
            }
        }
    }
}
