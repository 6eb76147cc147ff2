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

    func stream(from start: Int64) async throws {
        var offset = start
        try await HubRetry.untilDone { () async throws(ClientError) -> Bool in
            do throws(ClientError) {
                offset = try await hub.followLog(taskID: taskID, from: offset) { chunk in
                    FileHandle.standardOutput.write(Data(chunk.readableBytesView))
                }
                return true
            } catch {
                // The stream broke after some bytes: continue from there.
                if error.code == .unreachable, let reached = error.expectedOffset { offset = reached }
                throw error
            }
        }
    }
}

/// Waits for a task to reach a terminal state, riding out hub restarts.
struct TaskWaiter {
    let hub: HubClient

    func waitUntilTerminal(_ id: String) async throws -> TaskRecord {
        var final: TaskRecord?
        try await HubRetry.untilDone { () async throws(ClientError) -> Bool in
            let task = try await hub.task(id: id, waitSeconds: 30)
            final = task
            return task.status.isTerminal
        }
        return final!
    }
}

/// Repeats a hub call until it reports done; retryable failures (the hub is
/// restarting, a proxy hiccup) back off and try again for up to `patience`.
enum HubRetry {
    static let patience: Duration = .seconds(300)

    static func untilDone(_ attempt: () async throws(ClientError) -> Bool) async throws {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        let clock = ContinuousClock()
        var failures = 0
        var failingSince: ContinuousClock.Instant?
        while true {
            do {
                if try await attempt() { return }
                failures = 0
                failingSince = nil
            } catch {
                guard error.isRetryable else { throw CLIExit(code: CLIExit.Code.failure, message: error.message) }
                let since = failingSince ?? clock.now
                failingSince = since
                guard clock.now - since < patience else {
                    throw CLIExit(code: CLIExit.Code.failure, message: "\(error.message) (gave up after \(patience))")
                }
                failures += 1
                try await Task.sleep(for: backoff.delay(attempt: failures))
            }
        }
    }
}
