import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// `POST /api/v1/tasks?follow=true`: the created task, its log as it grows and the
/// terminal task, in one response (`TaskStream` holds the format). The task is
/// created before the response starts, so a refused submission is an ordinary API
/// error; once streaming, the hub stopping or the client going away ends the body
/// without `finished`, and the client resumes with the log and task calls.
enum TaskRunStreaming {
    /// Longest quiet spell before an `idle` event, shorter than common proxy timeouts.
    static let idleInterval: Duration = .seconds(30)

    static func respond(hub: Hub, task: TaskRecord, includeLog: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = TaskStream.contentType
        let body = ResponseBody { writer in
            let subscription = hub.watchers.subscribe(taskID: task.id, statusOnly: !includeLog)
            defer { hub.watchers.unsubscribe(subscription) }
            try await writer.write(event(.accepted(task)))
            // The request body was read to create the task, so Hummingbird cannot watch
            // for the client closing its side: a client that went away is noticed by
            // the next write failing (log bytes, or an `idle` event at the latest).
            let final =
                includeLog
                ? try await followLog(hub: hub, taskID: task.id, subscription: subscription, into: &writer)
                : try await waitForEnd(hub: hub, taskID: task.id, subscription: subscription, into: &writer)
            if let final { try await writer.write(event(.finished(final))) }
            try await writer.finish(nil)
        }
        return Response(status: .created, headers: headers, body: body)
    }

    /// Writes the log as it grows; the terminal task once the whole log was sent, or
    /// `nil` when the hub is stopping or the client went away.
    private static func followLog(
        hub: Hub, taskID: String, subscription: TaskWatchers.Subscription, into writer: inout any ResponseBodyWriter
    ) async throws -> TaskRecord? {
        var follower = TaskLogFollower(hub: hub, taskID: taskID, subscription: subscription, from: 0)
        var quietUntil = ContinuousClock.now + idleInterval
        while true {
            switch try await follower.next(wait: idleInterval) {
            case .bytes(let slice):
                let start = slice.nextOffset - Int64(slice.bytes.count)
                var buffer = ByteBuffer(bytes: TaskStream.headerLine(.log(offset: start, length: slice.bytes.count)))
                buffer.writeBytes(slice.bytes)
                try await writer.write(buffer)
                quietUntil = .now + idleInterval
            case .idle:
                // Also a wake-up for a status change: only a long silence earns an event.
                guard ContinuousClock.now >= quietUntil else { continue }
                try await writer.write(event(.idle))
                quietUntil = .now + idleInterval
            case .ended(let slice):
                guard slice.status.isTerminal else { return nil }
                return try await hub.store.task(id: taskID)
            }
        }
    }

    /// `?log=false`: only the terminal task (with `idle` events while it runs).
    private static func waitForEnd(
        hub: Hub, taskID: String, subscription: TaskWatchers.Subscription, into writer: inout any ResponseBodyWriter
    ) async throws -> TaskRecord? {
        var quietUntil = ContinuousClock.now + idleInterval
        while true {
            guard let task = try await hub.store.task(id: taskID) else { return nil }
            if task.status.isTerminal { return task }
            if hub.isShuttingDown || Task.isCancelled { return nil }
            if ContinuousClock.now >= quietUntil {
                try await writer.write(event(.idle))
                quietUntil = .now + idleInterval
            }
            await hub.watchers.wait(subscription, until: quietUntil)
        }
    }

    private static func event(_ header: TaskStreamHeader) -> ByteBuffer {
        ByteBuffer(bytes: TaskStream.headerLine(header))
    }
}
