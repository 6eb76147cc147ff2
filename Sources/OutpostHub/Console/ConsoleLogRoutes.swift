import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// The log as the task page reads it: a part or the whole as text (`log.txt`), and
/// live as Server-Sent Events (`log/events`). The page loads only the tail of a big
/// log and follows from there, so a 64 MiB log costs the browser 256 KiB.
extension Console {
    /// Largest part `log.txt?limit=` returns at once.
    static let logPartLimit: Int64 = 16 * 1024 * 1024
    /// An idle event stream sends a comment this often, so proxies keep it open.
    static let eventKeepAlive: Duration = .seconds(15)

    func addTaskLogRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/tasks/{id}/log.txt", role: .reader) { visit in
            let id = try visit.parameter("id")
            guard let task = try await hub.store.task(id: id) else { throw HubError.notFound("no task with id \"\(id)\"") }
            let offset = try visit.request.queryInt("offset", in: 0...Int64.max) ?? 0
            guard offset <= task.logBytes else {
                throw HubError.invalid("offset \(offset) is past the end of the log (\(task.logBytes) bytes so far)")
            }
            let limit = try visit.request.queryInt("limit", in: 1...Self.logPartLimit)
            var response = LogStreaming.snapshot(hub: hub, task: task, from: offset, to: limit.map { offset + $0 })
            if visit.form["download"] == "1" {
                response.headers[.contentDisposition] = "attachment; filename=\"outpost-task-\(task.id).log\""
            }
            return .response(response)
        }

        on(router, .get, "/tasks/{id}/log/events", role: .reader) { visit in
            let id = try visit.parameter("id")
            guard let task = try await hub.store.task(id: id) else { throw HubError.notFound("no task with id \"\(id)\"") }
            // A reconnecting EventSource says where it got to.
            let resume = visit.request.headers[.lastEventID].flatMap { Int64($0) }
            let offset = try resume ?? visit.request.queryInt("offset", in: 0...Int64.max) ?? 0
            guard (0...task.logBytes).contains(offset) else {
                throw HubError.invalid("offset \(offset) is past the end of the log (\(task.logBytes) bytes so far)")
            }
            return .response(LogEvents(hub: hub, taskID: id).response(request: visit.request, from: offset))
        }
    }
}

/// One task's log as an event stream: `log` events carry text (cut at UTF-8
/// character boundaries, `id:` the byte offset after it), `status` events the task's
/// state when it changes, and `end` once the task is terminal and the whole log was
/// sent; then the stream closes. Woken by the hub's watchers, not by polling.
struct LogEvents: Sendable {
    let hub: Hub
    let taskID: String

    func response(request: Request, from offset: Int64) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let body = ResponseBody { writer in
            let subscription = hub.watchers.subscribe(taskID: taskID)
            defer { hub.watchers.unsubscribe(subscription) }
            try await request.body.consumeWithCancellationOnInboundClose { _ in
                try await pump(from: offset, subscription: subscription, into: &writer)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    private func pump(
        from offset: Int64, subscription: TaskWatchers.Subscription, into writer: inout any ResponseBodyWriter
    ) async throws {
        var follower = TaskLogFollower(hub: hub, taskID: taskID, subscription: subscription, from: offset)
        var sentStatus: TaskStatus?
        // A character cut by the end of what is stored waits for its other bytes.
        var held = 0
        // Tells the browser how long to wait before reconnecting after a network error.
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        while true {
            let step = try await follower.next(wait: Console.eventKeepAlive, minimumBytes: held + 1)
            let slice: LogSlice
            switch step {
            case .bytes(let read), .idle(let read), .ended(let read): slice = read
            }
            if slice.status != sentStatus, let task = try await hub.store.task(id: taskID) {
                try await writer.write(ByteBuffer(string: Self.event("status", data: Self.summary(task))))
                sentStatus = slice.status
            }
            switch step {
            case .bytes(let slice):
                let start = slice.nextOffset - Int64(slice.bytes.count)
                var complete = UTF8Boundary.completePrefix(slice.bytes)
                if slice.status.isTerminal { complete = slice.bytes.count }
                held = slice.bytes.count - complete
                follower.offset = start + Int64(complete)
                guard complete > 0 else { continue }
                let text = String(decoding: slice.bytes[..<complete], as: UTF8.self)
                try await writer.write(ByteBuffer(string: Self.event("log", id: follower.offset, data: JSONText.string(text))))
            case .idle:
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
            case .ended(let slice):
                guard slice.status.isTerminal else { return }  // the hub stops or the browser left
                let task = try await hub.store.task(id: taskID)
                try await writer.write(ByteBuffer(string: Self.event("end", data: task.map(Self.summary) ?? "{}")))
                return
            }
        }
    }

    static func event(_ name: String, id: Int64? = nil, data: String) -> String {
        var text = "event: \(name)\n"
        if let id { text += "id: \(id)\n" }
        return text + "data: \(data)\n\n"
    }

    /// What the page shows of a task outside its log, as JSON.
    static func summary(_ task: TaskRecord) -> String {
        var fields = [
            "\"status\":\(JSONText.string(task.status.rawValue))",
            "\"terminal\":\(task.status.isTerminal)",
            "\"log_bytes\":\(task.logBytes)",
        ]
        if let exit = task.exitCode { fields.append("\"exit_code\":\(exit)") }
        if let agent = task.agent { fields.append("\"agent\":\(JSONText.string(agent))") }
        if let error = task.error { fields.append("\"error\":\(JSONText.string(error))") }
        if let started = task.startedAt { fields.append("\"started_at\":\(JSONText.string(ConsoleFormat.plain(started)))") }
        if let finished = task.finishedAt { fields.append("\"finished_at\":\(JSONText.string(ConsoleFormat.plain(finished)))") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// Where a byte buffer stops holding only whole UTF-8 characters.
enum UTF8Boundary {
    /// The length of the longest prefix that does not end inside a multi-byte
    /// character (invalid bytes count as whole: the decoder replaces them).
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var index = bytes.count
        // A character is at most 4 bytes: look back at most 3 for its lead byte.
        for back in 1...min(3, max(1, bytes.count)) where bytes.count >= back {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 == 0x80 { continue }  // a continuation byte: keep looking
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if length > back { index = bytes.count - back }
            return index
        }
        return index
    }
}

/// JSON string literals, written directly (a log may be megabytes of text).
enum JSONText {
    static func string(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!
}
