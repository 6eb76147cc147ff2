import Foundation

/// `POST /api/v1/tasks?follow=true`: submit a task and follow it to its end in one
/// response (docs/api.md, "Submit and follow"), so `outpost task run` needs one request
/// where it needed three (submit, follow the log, wait for the result).
///
/// The body is a sequence of events. Each starts with one line of JSON (a
/// `TaskStreamHeader`, ended by `\n`); a `log` event's line is followed by exactly
/// `length` raw bytes of the log, which may be anything (no escaping, no base64), so a
/// 256 MiB log costs no more than the plain log stream. In order:
///
///     {"event":"accepted","task":{...}}          the task as created (always first)
///     {"event":"log","length":6,"offset":0}      then 6 bytes of log
///     {"event":"idle"}                           nothing new for a while (keeps proxies from timing out)
///     {"event":"finished","task":{...}}          the terminal task (always last)
///
/// A stream that ends without `finished` was cut (the hub stopped, the connection
/// broke): the client knows the task and the log offset it reached, and resumes with
/// the ordinary log and task calls.
package enum TaskStream {
    package static let contentType = "application/vnd.outpost.task-stream"
    /// Longest header line a reader accepts: a task record holds its script, which the
    /// hub caps (`max_script_bytes`, default 1 MiB) well below this.
    package static let maxHeaderBytes = 64 * 1024 * 1024

    /// The header line of an event, `\n` included.
    package static func headerLine(_ header: TaskStreamHeader) -> [UInt8] {
        // Encoding a plain Codable value with no custom encoder closures cannot fail
        // except on non-finite floats, which no field here holds.
        var bytes = [UInt8]((try? WireJSON.encoder().encode(header)) ?? Data("{\"event\":\"idle\"}".utf8))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}

/// The JSON line that starts each event of a task stream.
package struct TaskStreamHeader: Codable, Sendable, Equatable {
    package enum Event: String, Codable, Sendable {
        case accepted, log, idle, finished
    }

    package var event: Event
    /// `accepted`, `finished`: the task.
    package var task: TaskRecord?
    /// `log`: where in the task's log the bytes that follow start.
    package var offset: Int64?
    /// `log`: how many raw bytes follow the line.
    package var length: Int?

    package init(event: Event, task: TaskRecord? = nil, offset: Int64? = nil, length: Int? = nil) {
        self.event = event
        self.task = task
        self.offset = offset
        self.length = length
    }

    package static func accepted(_ task: TaskRecord) -> Self { Self(event: .accepted, task: task) }
    package static func finished(_ task: TaskRecord) -> Self { Self(event: .finished, task: task) }
    package static func log(offset: Int64, length: Int) -> Self { Self(event: .log, offset: offset, length: length) }
    package static let idle = Self(event: .idle)
}

/// What a reader of a task stream sees, log bytes as they arrive: one `log` event of
/// the wire may come out as several `.log` pieces (each with its own offset), so a
/// reader never holds a whole chunk it could already have written.
package enum TaskStreamEvent: Sendable, Equatable {
    case accepted(TaskRecord)
    case log(offset: Int64, bytes: [UInt8])
    case idle
    case finished(TaskRecord)
}

/// Reads a task stream fed in pieces of any size, without I/O (the client and the
/// fuzzer use it). Guarantee: the events come out in order whatever the piece
/// boundaries, each log byte exactly once with its offset; anything that is not a
/// well-formed stream is a `WireDecodingError` naming what was wrong, never a value
/// from the stream.
package struct TaskStreamDecoder: Sendable {
    /// The header line read so far.
    private var line: [UInt8] = []
    /// A `log` event whose bytes are still arriving.
    private var pendingLog: (offset: Int64, remaining: Int)?
    private var sawAccepted = false
    package private(set) var isFinished = false

    package init() {}

    /// Decodes what `piece` completes; `handle` sees each event in order.
    package mutating func feed<Piece: RandomAccessCollection<UInt8>>(
        _ piece: Piece, _ handle: (TaskStreamEvent) throws -> Void
    ) throws {
        var index = piece.startIndex
        while index < piece.endIndex {
            if isFinished {
                throw WireDecodingError(.malformed, field: "", "the task stream goes on after its \"finished\" event")
            }
            if let log = pendingLog {
                let available = piece.distance(from: index, to: piece.endIndex)
                let take = min(available, log.remaining)
                let end = piece.index(index, offsetBy: take)
                try handle(.log(offset: log.offset, bytes: Array(piece[index..<end])))
                index = end
                pendingLog = log.remaining == take ? nil : (log.offset + Int64(take), log.remaining - take)
                continue
            }
            guard let newline = piece[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                try appendToLine(piece[index...])
                return
            }
            try appendToLine(piece[index..<newline])
            index = piece.index(after: newline)
            let header = line
            line.removeAll(keepingCapacity: true)
            if let event = try decodeHeader(header) { try handle(event) }
        }
    }

    /// Checks that the stream ended where an event ends; `false` when it was cut
    /// before its `finished` event (the caller resumes the task another way).
    package func endedComplete() -> Bool { isFinished && line.isEmpty && pendingLog == nil }

    private mutating func appendToLine(_ bytes: some Collection<UInt8>) throws(WireDecodingError) {
        guard line.count + bytes.count <= TaskStream.maxHeaderBytes else {
            throw WireDecodingError(
                .malformed, field: "", "a task stream header line is longer than \(TaskStream.maxHeaderBytes) bytes")
        }
        line.append(contentsOf: bytes)
    }

    /// The event a header line starts; a `log` header's bytes come in later pieces.
    private mutating func decodeHeader(_ bytes: [UInt8]) throws -> TaskStreamEvent? {
        let header: TaskStreamHeader
        do {
            header = try WireJSON.decoder().decode(TaskStreamHeader.self, from: Data(bytes))
        } catch {
            throw Self.headerError(error)
        }
        if !sawAccepted, header.event != .accepted {
            throw WireDecodingError(
                .invalidValue, field: "event", "a task stream must start with \"accepted\", not \"\(header.event.rawValue)\"")
        }
        switch header.event {
        case .accepted:
            guard !sawAccepted else {
                throw WireDecodingError(.invalidValue, field: "event", "a task stream has \"accepted\" twice")
            }
            sawAccepted = true
            return .accepted(try Self.required(header.task, "task"))
        case .log:
            let offset = try Self.required(header.offset, "offset")
            let length = try Self.required(header.length, "length")
            guard offset >= 0, length >= 0 else {
                throw WireDecodingError(.outOfRange, field: offset < 0 ? "offset" : "length", "a log event's offset and length are never negative")
            }
            if length > 0 { pendingLog = (offset, length) }
            return nil
        case .idle:
            return .idle
        case .finished:
            isFinished = true
            return .finished(try Self.required(header.task, "task"))
        }
    }

    /// Names the field of a header line that did not decode, never its value (the
    /// stream carries task records, which hold scripts).
    private static func headerError(_ error: any Error) -> WireDecodingError {
        let prefix = "a task stream header line"
        switch error as? DecodingError {
        case .keyNotFound(let key, let context):
            let field = WireDecodingError.fieldName(context.codingPath + [key])
            return WireDecodingError(.missingField, field: field, "\(prefix) lacks field \"\(field)\"")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = WireDecodingError.fieldName(context.codingPath)
            return WireDecodingError(.typeMismatch, field: field, "\(prefix) has the wrong type in field \"\(field)\"")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            let field = WireDecodingError.fieldName(context.codingPath)
            return WireDecodingError(.invalidValue, field: field, "\(prefix) has an invalid value in field \"\(field)\"")
        default:
            return WireDecodingError(.malformed, field: "", "\(prefix) is not JSON")
        }
    }

    private static func required<Value>(_ value: Value?, _ field: String) throws(WireDecodingError) -> Value {
        guard let value else { throw WireDecodingError(.missingField, field: field, "missing field \"\(field)\"") }
        return value
    }
}
