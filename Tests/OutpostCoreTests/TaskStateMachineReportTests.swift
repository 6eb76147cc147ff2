import OutpostCore
import Testing

/// The `report` event: an agent's verdict with its exit code, including late ones.
@Suite("Task state machine: agent reports")
struct TaskStateMachineReportTests {
    typealias Verdict = TaskStateMachine.Verdict

    @Test("a report ends a running task and records the exit code")
    func ends() {
        var machine = TaskStateMachine(status: .running)
        #expect(machine.apply(.report(Verdict(status: .failed, exitCode: 2))) == .transition(to: .failed))
        #expect(machine.exitCode == 2)
    }

    @Test(
        "after the end, the same verdict is idempotent and any other is refused",
        arguments: [(TaskStatus.failed, Int32?(2), true), (.failed, 3, false), (.succeeded, 2, false), (.failed, nil, false)]
            as [(TaskStatus, Int32?, Bool)])
    func repeats(status: TaskStatus, exitCode: Int32?, same: Bool) {
        var machine = TaskStateMachine(status: .failed, exitCode: 2)
        let action = machine.apply(.report(Verdict(status: status, exitCode: exitCode)))
        if same {
            #expect(action == .none)
        } else {
            guard case .refuse = action else {
                Issue.record("expected a refusal, got \(action)")
                return
            }
        }
        #expect(machine.status == .failed)
    }

    @Test("a report for a lost task is its late result, once; the status stays lost")
    func late() {
        var machine = TaskStateMachine(status: .lost)
        #expect(machine.logAcceptance == .late)
        let verdict = Verdict(status: .succeeded, exitCode: 0)
        #expect(machine.apply(.report(verdict)) == .recordLateResult(verdict))
        #expect(machine.status == .lost)
        #expect(machine.logAcceptance == .closed)
        #expect(machine.apply(.report(verdict)) == .none)
        guard case .refuse = machine.apply(.report(Verdict(status: .failed, exitCode: 1))) else {
            Issue.record("a different late verdict must be refused")
            return
        }
        var fresh = TaskStateMachine(status: .lost)
        guard case .refuse = fresh.apply(.report(Verdict(status: .lost, exitCode: nil))) else {
            Issue.record("an agent may not report lost")
            return
        }
    }

    @Test("a lost task may still be said to have started, until its late result is in")
    func lateStart() {
        var machine = TaskStateMachine(status: .lost)
        #expect(machine.apply(.start) == .none)
        var done = TaskStateMachine(status: .lost, lateVerdict: Verdict(status: .succeeded, exitCode: 0))
        guard case .refuse = done.apply(.start) else {
            Issue.record("a start after the late result must be refused")
            return
        }
    }

    @Test("log is taken while the task runs, late after lost, never once it ended otherwise",
        arguments: TaskStatus.allCases)
    func logAcceptance(status: TaskStatus) {
        let expected: TaskStateMachine.LogAcceptance =
            switch status {
            case .assigned, .running: .open
            case .lost: .late
            default: .closed
            }
        #expect(TaskStateMachine(status: status).logAcceptance == expected)
    }
}
