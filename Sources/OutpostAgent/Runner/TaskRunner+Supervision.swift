import Logging
import OutpostCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension TaskRunner {
    /// Waits for the process to end — on its own, or stopped on timeout or
    /// request (SIGTERM to the group, `killGrace`, SIGKILL to the group) — then
    /// drains its output for at most `drainTimeout` and SIGKILLs the whole group
    /// so no descendant survives, reaps the leader and records the verdict.
    func supervise(_ process: TaskProcess, record: RunningTaskRecord) async {
        let clock = context.clock
        let timeout = assignment.timeoutSeconds
        let deadline = timeout > 0 ? clock.now() + .seconds(timeout) : nil

        _ = await state.wait(until: { $0.exited || $0.stop != nil }, deadline: deadline, clock: clock)
        var signalled: StopReason?
        if !state.value.exited {
            if state.value.stop == nil { requestStop(.timedOut) }
            let reason = state.value.stop ?? .timedOut
            signalled = reason
            logger.info("stopping the task's processes (\(reason.logText))")
            process.signalGroup(SIGTERM)
            let exited = await state.wait(until: { $0.exited }, deadline: clock.now() + context.killGrace, clock: clock)
            if !exited {
                logger.info("the task did not stop within the kill grace; killing its process group")
                process.signalGroup(SIGKILL)
                _ = await state.wait(until: { $0.exited })
            }
        }

        // Background processes may still hold the pipe and write: read on briefly.
        let closed = await state.wait(
            until: { $0.outputClosed }, deadline: clock.now() + context.drainTimeout, clock: clock)
        process.signalGroup(SIGKILL)
        if !closed {
            process.stopReading()
            _ = await state.wait(until: { $0.outputClosed })
        }
        // The leader is still an unreaped zombie, so its pid (the group and session id)
        // cannot be reused: the verdict goes out now and the sweep below runs beside it.
        let exitCode = state.value.exitCode ?? -1

        let final = state.value.stop == .abandoned ? .abandoned : signalled
        let verdict = Self.verdict(stop: final, exitCode: exitCode, timeoutSeconds: timeout)
        state.update {
            $0.verdict = verdict
            $0.processDone = true
        }
        // Also catches descendants that left the process group (setsid) but kept OUTPOST_TASK_ID.
        LeftoverProcesses.killProcesses(of: record)
        _ = process.reap()
        logger.info(
            "task process ended",
            metadata: ["exit_code": "\(exitCode)", "status": "\(verdict?.status.rawValue ?? "abandoned")"])
    }

    /// The status to report for a process that ended with `exitCode` after `stop` (if it was stopped).
    static func verdict(stop: StopReason?, exitCode: Int32, timeoutSeconds: Int) -> Verdict? {
        switch stop {
        case .abandoned:
            return nil
        case .timedOut:
            return Verdict(
                status: .timedOut, exitCode: exitCode,
                error: "timed out after \(DurationParser.format(Double(timeoutSeconds)))")
        case .cancelled:
            return Verdict(status: .cancelled, exitCode: exitCode, error: "cancelled on request")
        case .agentStopping:
            return Verdict(status: .cancelled, exitCode: exitCode, error: "the agent was stopped before the task finished")
        case nil:
            if exitCode == 0 { return Verdict(status: .succeeded, exitCode: 0, error: nil) }
            return Verdict(status: .failed, exitCode: exitCode, error: "exited with code \(exitCode)")
        }
    }
}

extension StopReason {
    var logText: String {
        switch self {
        case .cancelled: "cancelled"
        case .timedOut: "timed out"
        case .abandoned: "the hub no longer wants the task"
        case .agentStopping: "the agent is stopping"
        }
    }
}
