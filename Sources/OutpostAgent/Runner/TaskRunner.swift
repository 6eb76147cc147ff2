import Logging
import OutpostCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a task's process is stopped before it ends on its own.
enum StopReason: Sendable, Equatable {
    /// A user cancelled it (hub control `cancel`): report `cancelled`.
    case cancelled
    /// It ran past its `timeout_seconds`: report `timed_out`.
    case timedOut
    /// The hub no longer wants it (control `abandon`, or `task_finished`): stop it, report nothing.
    case abandoned
    /// The agent is being stopped (second signal): report `cancelled` if the hub can still be reached.
    case agentStopping
}

/// How a task ended, as the runner reports it to the hub.
struct Verdict: Sendable, Equatable {
    var status: TaskStatus
    var exitCode: Int32?
    var error: String?
}

/// Everything the runner's parts wait on.
struct RunnerState: Sendable {
    /// The first stop request (an `abandoned` one replaces any other).
    var stop: StopReason?
    /// The agent is stopping hard: reports get a bounded time once the process is gone.
    var agentStopping = false
    /// The process leader has exited.
    var exited = false
    /// Its exit code, read when it exited (the leader stays unreaped until the end).
    var exitCode: Int32?
    /// The output pipe reached end of file, or reading was stopped.
    var outputClosed = false
    /// The leader has exited and the output is read (or no process was ever started);
    /// the sweep for escaped descendants may still be running beside the report.
    var processDone = false
    /// What to report; set with `processDone`, `nil` when nothing is to be reported.
    var verdict: Verdict?
    /// What the agent verified about the submitter (user token, signature), reported
    /// with the start and the finish.
    var submitter = VerifiedSubmitter.none
}

/// Runs one assigned task from start to report: checks, process, log, finish.
///
/// `run()` returns once no process of the task is left, its log was delivered and
/// its finish acknowledged (or the hub said the task is no longer ours, or — when
/// the agent stops hard — a bounded reporting time ran out). Stop requests come
/// from outside through `requestStop(_:)`; Swift task cancellation is not used
/// for that, so teardown waits (kill grace, drain) always run in full.
final class TaskRunner: Sendable {
    /// What the runner does with its assignment.
    enum Plan: Sendable, Equatable {
        /// Run the script.
        case run
        /// Refuse it without running: report `rejected` with this reason.
        case reject(String)
        /// The hub asked to cancel a task this agent does not hold: report it `cancelled`.
        case reportCancelled
    }

    let taskID: String
    let assignment: TaskAssignment
    let plan: Plan
    let context: RunnerContext
    let logger: Logger
    let state = WatchedState(RunnerState())

    init(assignment: TaskAssignment, plan: Plan = .run, context: RunnerContext) {
        taskID = assignment.taskID
        self.assignment = assignment
        self.plan = plan
        self.context = context
        var logger = context.logger
        logger[metadataKey: "task"] = "\(assignment.taskID)"
        self.logger = logger
    }

    /// Asks the runner to stop the task. The first reason decides the report,
    /// except that `abandoned` always wins (the hub wants no report).
    func requestStop(_ reason: StopReason) {
        state.update { state in
            if reason == .agentStopping { state.agentStopping = true }
            if state.stop == nil || reason == .abandoned { state.stop = reason }
        }
    }

    /// Runs the plan to the end; see the type's documentation.
    func run() async {
        switch plan {
        case .run:
            await execute()
        case .reject(let reason):
            await reportWithoutProcess(Verdict(status: .rejected, exitCode: nil, error: reason))
        case .reportCancelled:
            await reportWithoutProcess(
                Verdict(status: .cancelled, exitCode: nil, error: "cancelled; this agent was not running the task"))
        }
    }

    private func reportWithoutProcess(_ verdict: Verdict) async {
        if verdict.status == .rejected { logger.notice("rejecting task: \(verdict.error ?? "")") }
        state.update {
            $0.processDone = true
            $0.verdict = verdict
        }
        await withReportBudget { await self.finish(verdict, logBytes: 0, spool: nil) }
    }

    private func execute() async {
        guard TaskWorkspace.isSafeTaskID(taskID) else {
            return await reportWithoutProcess(rejection("the task id \"\(taskID)\" is not a valid file name"))
        }
        if let stop = state.value.stop {
            // Stopped before it started (cancelled in the same poll answer, or the agent is stopping).
            if stop == .abandoned {
                state.update { $0.processDone = true }
                return
            }
            let text = stop == .agentStopping ? "the agent was stopped before the task started" : "cancelled before it started"
            return await reportWithoutProcess(Verdict(status: .cancelled, exitCode: nil, error: text))
        }
        let prepared: PreparedTask
        do {
            prepared = try await prepare()
        } catch {
            return await reportWithoutProcess(rejection(error.message))
        }
        defer {
            prepared.workspace.remove()
            prepared.writer.spool.remove()
        }

        let launched: LaunchedProcess
        do {
            launched = try OrphanAdoption.launching { () throws(AgentError) -> (LaunchedProcess, pid_t) in
                let launched = try ProcessLauncher.launch(prepared.launch)
                return (launched, launched.pid)
            }
        } catch {
            return await reportWithoutProcess(Verdict(status: .failed, exitCode: nil, error: error.message))
        }
        let record = RunningTaskRecord(
            taskID: taskID, pid: launched.pid, startTime: ProcStat.read(pid: launched.pid)?.startTime ?? 0)
        do {
            try LeftoverProcesses.record(record, in: context.paths.running)
        } catch {
            logger.warning("a restarted agent could not clean up after this task: \(error.message)")
        }
        defer { LeftoverProcesses.removeRecord(taskID: taskID, in: context.paths.running) }

        let writer = prepared.writer
        let state = self.state
        let process: TaskProcess
        do {
            process = try TaskProcess(
                launched, name: taskID,
                output: { writer.write($0) },
                outputEnded: {
                    writer.finish()
                    state.update { $0.outputClosed = true }
                },
                exited: { code in
                    state.update {
                        $0.exited = true
                        $0.exitCode = code
                    }
                })
        } catch {
            // Cannot watch it: do not let it run unwatched.
            _ = kill(-launched.pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(launched.pid, &status, 0)
            OrphanAdoption.leaderReaped(launched.pid)
            close(launched.outputFD)
            return await reportWithoutProcess(Verdict(status: .failed, exitCode: nil, error: error.message))
        }
        logger.info(
            "task started",
            metadata: ["pid": "\(launched.pid)", "integration": "\(assignment.target.integration)"])

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.supervise(process, record: record) }
            group.addTask { await self.withReportBudget { await self.deliver(writer.spool) } }
        }
    }

    private func rejection(_ reason: String) -> Verdict {
        Verdict(status: .rejected, exitCode: nil, error: reason)
    }
}
