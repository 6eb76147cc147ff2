import Synchronization
import Logging
import OutpostClient
import OutpostCore

extension TaskRunner {
    /// The result of a hub call retried until it is settled.
    enum CallOutcome: Sendable {
        case done
        /// The hub no longer wants this task from us.
        case gone
        /// A refusal that retrying will not fix.
        case failed(ClientError)
        case cancelled
    }

    /// Calls the hub until the call succeeds, retrying with backoff while the hub
    /// is unreachable or the session is being renewed.
    func callHub(
        _ what: String,
        _ call: @Sendable (any AgentHubAPI, String) async throws(ClientError) -> Void
    ) async -> CallOutcome {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await call(context.hub, context.credentials.current ?? "")
                if failures > 0 { logger.info("\(what) reached the hub after \(failures) failed attempt(s)") }
                return .done
            } catch {
                switch HubFailure(error) {
                case .retry, .sessionExpired:
                    failures += 1
                    if failures == 1 || failures % 10 == 0 {
                        logger.warning("\(what) failed, retrying: \(error.message)")
                    }
                    do {
                        try await context.clock.sleep(for: context.backoff.delay(attempt: failures))
                    } catch {
                        return .cancelled
                    }
                case .taskGone:
                    return .gone
                default:
                    return .failed(error)
                }
            }
        }
        return .cancelled
    }

    /// Tells the hub the task started, ships its whole log, waits for the
    /// process verdict and reports it. Stops the task if the hub says it is no
    /// longer ours.
    func deliver(_ spool: LogSpool) async {
        let taskID = self.taskID
        let report = state.value.submitter
        let started = await callHub("start") { hub, token throws(ClientError) in
            try await hub.startTask(id: taskID, report, agentToken: token)
        }
        switch started {
        case .done:
            break
        case .gone:
            logger.notice("the hub no longer wants this task; stopping it")
            requestStop(.abandoned)
            return
        case .failed(let error):
            logger.error("the hub refused to start the task; stopping it: \(error.message)")
            requestStop(.abandoned)
            return
        case .cancelled:
            return
        }

        let logBytes: Int64
        switch await ship(spool) {
        case .delivered(let bytes), .stopped(let bytes):
            logBytes = bytes
        case .taskGone:
            logger.notice("the hub no longer accepts this task's log; stopping it")
            requestStop(.abandoned)
            return
        case .cancelled:
            return
        }

        guard await state.wait(until: { $0.processDone }), let verdict = state.value.verdict else { return }
        await finish(verdict, logBytes: logBytes, spool: spool)
    }

    func ship(_ spool: LogSpool) async -> LogShipper.Outcome {
        let shipper = LogShipper(
            spool: spool,
            sink: HubLogSink(hub: context.hub, credentials: context.credentials, taskID: taskID),
            clock: context.clock, flushBytes: context.logFlushBytes, flushInterval: context.logFlushInterval,
            backoff: context.backoff, logger: logger)
        return await shipper.run()
    }

    /// Reports the verdict; `log_bytes` is the acknowledged log length. If the hub
    /// lost log bytes (`log_incomplete`), the log is shipped again from the spool.
    func finish(_ verdict: Verdict, logBytes: Int64, spool: LogSpool?) async {
        var logBytes = logBytes
        for _ in 0..<3 {
            let request = FinishRequest(
                status: verdict.status, exitCode: verdict.exitCode, error: verdict.error, logBytes: logBytes,
                submitter: state.value.submitter)
            let taskID = self.taskID
            let receipt = FinishReceipt()
            let outcome = await callHub("finish") { hub, token throws(ClientError) in
                receipt.pollTookSlot = try await hub.finishTask(id: taskID, request, agentToken: token)
            }
            switch outcome {
            case .done:
                logger.info("task finished", metadata: ["status": "\(verdict.status.rawValue)", "log_bytes": "\(logBytes)"])
                // The slot is free from now on, while this runner still tidies up.
                if receipt.pollTookSlot { context.slotTakenOver(taskID) }
                return
            case .gone:
                logger.notice("the hub no longer wants a report for this task")
                return
            case .cancelled:
                return
            case .failed(let error):
                guard HubFailure(error) == .logIncomplete, let spool else {
                    logger.error("the hub refused the task's report: \(error.message)")
                    return
                }
                logger.warning("the hub misses part of the log; sending it again from the spool")
                switch await ship(spool) {
                case .delivered(let bytes), .stopped(let bytes): logBytes = bytes
                case .taskGone, .cancelled: return
                }
            }
        }
        logger.error("giving up reporting the task: the hub keeps refusing its log length")
    }

    /// Runs `operation` (reporting to the hub) to its end, unless the agent is
    /// stopping hard: then it gets `stopReportTimeout` once the task's process is
    /// gone. Also ends it as soon as the hub abandoned the task and its process is gone.
    func withReportBudget(_ operation: @escaping @Sendable () async -> Void) async {
        let state = self.state
        let clock = context.clock
        let budget = context.stopReportTimeout
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await operation() }
            group.addTask {
                let ready = await state.wait(until: {
                    $0.processDone && ($0.agentStopping || $0.stop == .abandoned)
                })
                guard ready else { return }
                if state.value.agentStopping {
                    guard (try? await clock.sleep(for: budget)) != nil else { return }
                    logger.warning("could not report the task before the agent stopped; the hub will mark it lost")
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// What the hub's answer to a finish said beyond success, carried out of the call's closure.
private final class FinishReceipt: Sendable {
    private let tookSlot = Mutex(false)

    /// The agent's waiting poll took over the task's slot.
    var pollTookSlot: Bool {
        get { tookSlot.withLock { $0 } }
        set { tookSlot.withLock { $0 = newValue } }
    }
}
