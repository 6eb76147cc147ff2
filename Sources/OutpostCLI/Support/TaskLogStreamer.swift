import Foundation
import NIOCore
import OutpostClient
import OutpostCore

/// Streams a task's log to standard output until the task ends, picking up
/// where it left off when the connection to the hub drops (a hub restart does
/// not lose or repeat a byte).
struct TaskLogStreamer {
    let hub: HubClient
    let taskID: String
    /// How long to keep trying while the hub is unreachable.
    var patience: Duration = .seconds(300)

    func stream(from start: Int64) async throws {
        var offset = start
        var backoff = Backoff()
        let clock = ContinuousClock()
        var unreachableSince: ContinuousClock.Instant? = nil
        while true {
            do {
                offset = try await hub.followLog(taskID: taskID, from: offset) { chunk in
                    FileHandle.standardOutput.write(Data(chunk.readableBytesView))
                }
                return
            } catch {
                if let reached = error.expectedOffset, error.code == .unreachable { offset = reached }
                guard error.isRetryable else { throw CLIExit(code: CLIExit.Code.failure, message: error.message) }
                let since = unreachableSince ?? clock.now
                unreachableSince = since
                if clock.now - since > patience {
                    throw CLIExit(code: CLIExit.Code.failure, message: "\(error.message) (gave up after \(patience))")
                }
                try await Task.sleep(for: backoff.next())
            }
        }
    }
}

/// Waits for a task to reach a terminal state, riding out hub restarts.
struct TaskWaiter {
    let hub: HubClient
    var patience: Duration = .seconds(300)

    func waitUntilTerminal(_ id: String) async throws -> TaskRecord {
        var backoff = Backoff()
        let clock = ContinuousClock()
        var unreachableSince: ContinuousClock.Instant? = nil
        while true {
            do {
                let task = try await hub.task(id: id, waitSeconds: 30)
                unreachableSince = nil
                if task.status.isTerminal { return task }
            } catch {
                guard error.isRetryable else { throw CLIExit(code: CLIExit.Code.failure, message: error.message) }
                let since = unreachableSince ?? clock.now
                unreachableSince = since
                if clock.now - since > patience {
                    throw CLIExit(code: CLIExit.Code.failure, message: error.message)
                }
                try await Task.sleep(for: backoff.next())
            }
        }
    }
}

/// Exponential backoff with full jitter: 100 ms doubling to 5 s.
struct Backoff {
    private var attempt = 0

    mutating func next() -> Duration {
        let cap = min(5.0, 0.1 * pow(2.0, Double(attempt)))
        attempt += 1
        return .milliseconds(Int64(Double.random(in: (cap / 2)...cap) * 1000))
    }
}
