import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// `GET /api/v1/tasks/{id}/log`: the stored log from an offset, or a live follow.
extension RouteTable {
    /// Bytes read from the store per step while streaming.
    static let logReadChunk = 256 * 1024

    mutating func addTaskLogRoutes(hub: Hub) {
        add(.get, "/api/v1/tasks/{id}/log", auth: .reader) { request, context in
            let id = try context.pathParameter("id")
            let offset = try request.queryInt("offset", in: 0...Int64.max) ?? 0
            let follow = try request.queryBool("follow")
            guard let task = try await hub.store.task(id: id) else {
                throw HubError.notFound("no task with id \"\(id)\"")
            }
            guard offset <= task.logBytes else {
                throw HubError.invalid("offset \(offset) is past the end of the log (\(task.logBytes) bytes so far)")
            }
            if follow {
                return LogStreaming.follow(hub: hub, request: request, task: task, from: offset)
            }
            return LogStreaming.snapshot(hub: hub, task: task, from: offset)
        }
    }
}

/// The two ways of sending a log.
enum LogStreaming {
    static let nextOffsetHeader = HTTPField.Name("Outpost-Next-Offset")!
    static let statusHeader = HTTPField.Name("Outpost-Task-Status")!
    static let truncatedHeader = HTTPField.Name("Outpost-Log-Truncated")!

    static func headers(nextOffset: Int64, status: TaskStatus, truncated: Bool) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[nextOffsetHeader] = String(nextOffset)
        headers[statusHeader] = status.rawValue
        headers[truncatedHeader] = truncated ? "true" : "false"
        return headers
    }

    /// The log from `offset` to `end` (default: what is stored now), streamed in
    /// chunks with a known length.
    static func snapshot(hub: Hub, task: TaskRecord, from offset: Int64, to end: Int64? = nil) -> Response {
        let end = min(end ?? task.logBytes, task.logBytes)
        var headers = headers(nextOffset: end, status: task.status, truncated: task.logTruncated)
        headers[.contentLength] = String(end - offset)
        let body = ResponseBody(contentLength: Int(end - offset)) { writer in
            var next = offset
            while next < end {
                let limit = Int(min(Int64(RouteTable.logReadChunk), end - next))
                let slice = try await hub.store.readLog(taskID: task.id, offset: next, limit: limit)
                guard !slice.bytes.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: slice.bytes))
                next = slice.nextOffset
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Sends what is stored, then new bytes as they arrive, and ends once the task is
    /// terminal and its whole log was sent. Wakes on watcher events (log append,
    /// status change), never on a timer; a client that goes away cancels it.
    static func follow(hub: Hub, request: Request, task: TaskRecord, from offset: Int64) -> Response {
        let headers = headers(nextOffset: offset, status: task.status, truncated: task.logTruncated)
        let body = ResponseBody { writer in
            let subscription = hub.watchers.subscribe(taskID: task.id)
            defer { hub.watchers.unsubscribe(subscription) }
            let last = try await request.body.consumeWithCancellationOnInboundClose { _ in
                try await pump(hub: hub, taskID: task.id, from: offset, subscription: subscription, into: &writer)
            }
            var trailers = HTTPFields()
            trailers[nextOffsetHeader] = String(last.nextOffset)
            trailers[statusHeader] = last.status.rawValue
            trailers[truncatedHeader] = last.truncated ? "true" : "false"
            try await writer.finish(trailers)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Writes the log from `offset` as it grows until the task is terminal and drained
    /// (or the hub stops, or the request is cancelled). Returns the last slice read.
    private static func pump(
        hub: Hub, taskID: String, from offset: Int64, subscription: TaskWatchers.Subscription,
        into writer: inout any ResponseBodyWriter
    ) async throws -> LogSlice {
        var follower = TaskLogFollower(hub: hub, taskID: taskID, subscription: subscription, from: offset)
        while true {
            switch try await follower.next(wait: .seconds(30)) {
            case .bytes(let slice): try await writer.write(ByteBuffer(bytes: slice.bytes))
            case .idle: continue
            case .ended(let slice): return slice
            }
        }
    }
}
