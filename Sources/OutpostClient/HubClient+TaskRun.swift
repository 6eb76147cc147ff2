import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
package import OutpostCore

/// Submitting a task and following it to its end in one request (`TaskStream`).
extension HubClient {
    /// How far `runTask` got.
    package enum TaskRunEnd: Sendable {
        /// The task ended; every log byte was delivered (when asked for).
        case finished(TaskRecord)
        /// The stream broke after the hub accepted the task: the task goes on at the
        /// hub. Resume with `followLog(taskID:from: logOffset)` and `task(id:waitSeconds:)`.
        case interrupted(TaskRecord, logOffset: Int64, ClientError)
    }

    /// Submits `request` and follows it over the same response: log bytes to `sink`
    /// as they arrive (when `includeLog`), then the terminal task.
    /// - Throws: `ClientError` when the hub did not accept the task (an API error, or no
    ///   answer before it did); once accepted, a broken stream is `.interrupted`.
    package func runTask(
        _ request: CreateTaskRequest, userToken: String? = nil, includeLog: Bool = true,
        sink: ([UInt8]) async throws -> Void
    ) async throws(ClientError) -> TaskRunEnd {
        let path = "/api/v1/tasks?follow=true" + (includeLog ? "" : "&log=false")
        let body: [UInt8]
        do {
            body = Array(try WireJSON.encoder().encode(request))
        } catch {
            throw ClientError(.invalidRequest, "cannot encode the request body: \(error)")
        }
        var httpRequest = try await makeRequest(.POST, path, body: body, contentType: "application/json")
        if let userToken { httpRequest.headers.add(name: "X-Outpost-User-Token", value: userToken) }
        var reader = TaskRunReader()
        do {
            // A run lasts as long as its task; the task's own timeout bounds it.
            let response = try await http.execute(httpRequest, timeout: .hours(24 * 7))
            if response.status.code >= 400 {
                throw Self.apiError(status: Int(response.status.code), body: try await response.body.collect(upTo: 1 << 20), path: path)
            }
            guard response.headers.first(name: "Content-Type") == TaskStream.contentType else {
                throw ClientError(
                    .invalidResponse,
                    "the hub answered \(path) without a task stream (HTTP \(response.status.code)); is it older than this client?")
            }
            for try await piece in response.body {
                if let final = try await reader.feed(piece.readableBytesView, sink: sink) { return .finished(final) }
            }
            return try reader.cut(ClientError(.unreachable, "the hub ended the task stream of \(path) before the task did"))
        } catch let error as ClientError {
            return try reader.cut(error)
        } catch let error as WireDecodingError {
            return try reader.cut(ClientError(.invalidResponse, "the hub's task stream is malformed: \(error.message)"))
        } catch {
            let failure = await connection.failure(
                error, baseURL: baseURL, context: "lost the task stream from \(baseURL) at log byte \(reader.logOffset)")
            return try reader.cut(failure)
        }
    }
}

/// The reading side of one task stream: which task, how much log was delivered.
private struct TaskRunReader {
    private var decoder = TaskStreamDecoder()
    private(set) var task: TaskRecord?
    private(set) var logOffset: Int64 = 0

    /// Feeds one piece of the body; the terminal task once `finished` arrived.
    mutating func feed(_ piece: ByteBufferView, sink: ([UInt8]) async throws -> Void) async throws -> TaskRecord? {
        var events: [TaskStreamEvent] = []
        try decoder.feed(piece) { events.append($0) }
        for event in events {
            switch event {
            case .accepted(let accepted): task = accepted
            case .log(let offset, let bytes):
                guard offset == logOffset else {
                    throw ClientError(
                        .invalidResponse, "the hub's task stream skipped from log byte \(logOffset) to \(offset)")
                }
                try await sink(bytes)
                logOffset += Int64(bytes.count)
            case .idle: continue
            case .finished(let final): return final
            }
        }
        return nil
    }

    /// The end of a stream that broke: `.interrupted` once the task was accepted,
    /// else the error itself (the task may or may not exist; nothing to resume).
    func cut(_ error: ClientError) throws(ClientError) -> HubClient.TaskRunEnd {
        guard let task else { throw error }
        return .interrupted(task, logOffset: logOffset, error)
    }
}
