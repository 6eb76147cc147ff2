import Logging
import OutpostClient
import OutpostCore

/// Where shipped log chunks go: the hub's `appendLog` in production, a fake in tests.
protocol LogSink: Sendable {
    /// Stores `bytes` at `offset`; returns the offset the receiver expects next.
    func append(offset: Int64, bytes: [UInt8]) async throws(ClientError) -> Int64
}

/// Sends a spool's bytes to a sink, in order, exactly once from the receiver's
/// point of view.
///
/// Flush rule: a chunk goes out as soon as `flushBytes` are pending, or
/// `flushInterval` after the oldest unsent byte was spooled, whichever comes
/// first. A chunk carries everything pending up to `maxChunkBytes`, so a
/// backlog (fast output while the previous chunk was in flight) goes out in a
/// few large requests rather than many small ones. The shipper sleeps on the spool's
/// progress and on one timer — no polling. On failures it retries with backoff
/// while the task keeps running and the spool grows on disk; on `log_gap` it
/// resumes where the hub says.
struct LogShipper: Sendable {
    enum Outcome: Sendable, Equatable {
        /// Everything up to the end of the output was acknowledged.
        case delivered(bytes: Int64)
        /// The hub no longer wants this task's log (`task_finished`, unknown task).
        case taskGone
        /// The hub stopped accepting this log (its cap, or a refusal retries won't fix);
        /// `bytes` is what it acknowledged.
        case stopped(bytes: Int64)
        /// The shipper's task was cancelled.
        case cancelled
    }

    var spool: LogSpool
    var sink: any LogSink
    var clock: any AgentClock
    var flushBytes: Int
    var flushInterval: Duration
    var backoff: Backoff
    var logger: Logger
    /// Upper bound of one chunk; below the hub's 2 MiB request limit.
    var maxChunkBytes = 1 << 20

    func run() async -> Outcome {
        var shipped: Int64 = 0
        var failures = 0
        while !Task.isCancelled {
            let progress = spool.progress.value
            let pending = progress.spooled - shipped
            if pending <= 0 {
                if progress.closed { return .delivered(bytes: shipped) }
                let from = shipped
                guard await spool.progress.wait(until: { $0.spooled > from || $0.closed }) else { return .cancelled }
                continue
            }
            if failures == 0, pending < Int64(flushBytes), !progress.closed {
                let due = (progress.pendingSince ?? clock.now()) + flushInterval
                if clock.now() < due {
                    let from = shipped
                    let threshold = Int64(flushBytes)
                    _ = await spool.progress.wait(
                        until: { $0.spooled - from >= threshold || $0.closed }, deadline: due, clock: clock)
                    continue
                }
            }

            let count = Int(min(pending, Int64(max(flushBytes, maxChunkBytes))))
            let bytes: [UInt8]
            do {
                bytes = try spool.read(offset: shipped, count: count)
            } catch {
                logger.error("cannot read back the log spool; the rest of the log is lost: \(error.message)")
                return .stopped(bytes: shipped)
            }
            let end = shipped + Int64(bytes.count)
            // Everything spooled so far is now in flight: the flush timer restarts with the next byte.
            spool.progress.update { if end >= $0.spooled { $0.pendingSince = nil } }

            do {
                let next = try await sink.append(offset: shipped, bytes: bytes)
                if failures > 0 { logger.info("log delivery resumed at byte \(shipped)") }
                failures = 0
                // Trust the receiver's view of its stored length (it may already hold more after a retry).
                shipped = min(max(next, 0), spool.progress.value.spooled)
            } catch {
                switch HubFailure(error) {
                case .logGap(let expected):
                    logger.notice("the hub expects log byte \(expected), not \(shipped); resuming there")
                    shipped = min(max(expected, 0), spool.progress.value.spooled)
                case .taskGone:
                    return .taskGone
                case .logTooLarge:
                    logger.warning("the hub stores no more log for this task after byte \(shipped)")
                    return .stopped(bytes: shipped)
                case .permanent, .logIncomplete:
                    logger.error("the hub refused log bytes at \(shipped): \(error.message)")
                    return .stopped(bytes: shipped)
                case .retry, .sessionExpired:
                    failures += 1
                    let delay = backoff.delay(attempt: failures)
                    if failures == 1 || failures % 10 == 0 {
                        logger.warning("cannot deliver log at byte \(shipped), retrying (spooled on disk): \(error.message)")
                    }
                    do { try await clock.sleep(for: delay) } catch { return .cancelled }
                }
            }
        }
        return .cancelled
    }
}
