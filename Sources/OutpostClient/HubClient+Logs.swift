import AsyncHTTPClient
import NIOHTTP1
package import NIOCore
package import OutpostCore
import OutpostTransport

/// Reading a task's log, once or live.
extension HubClient {
    /// A piece of log and where to continue.
    package struct LogPage: Sendable {
        package var bytes: [UInt8]
        package var nextOffset: Int64
        /// The task's status when the hub read the log.
        package var status: TaskStatus?
        package var truncated: Bool
    }

    /// Reads the stored log from `offset` as it is now.
    package func readLog(taskID: String, offset: Int64 = 0) async throws(ClientError) -> LogPage {
        let (head, body) = try await send(.GET, "/api/v1/tasks/\(Self.segment(taskID))/log?offset=\(offset)")
        let bytes = Array(body.readableBytesView)
        let next = head.headers.first(name: "Outpost-Next-Offset").flatMap(Int64.init) ?? offset + Int64(bytes.count)
        return LogPage(
            bytes: bytes,
            nextOffset: next,
            status: head.headers.first(name: "Outpost-Task-Status").flatMap(TaskStatus.init(rawValue:)),
            truncated: head.headers.first(name: "Outpost-Log-Truncated") == "true")
    }

    /// Streams the log live from `offset` to `sink` until the task is terminal
    /// and its whole log was delivered. Returns the offset reached.
    ///
    /// If the connection drops mid-way the caller may call again from the
    /// returned offset: no byte is delivered twice or skipped.
    package func followLog(
        taskID: String,
        from offset: Int64 = 0,
        sink: (ByteBuffer) async throws -> Void
    ) async throws(ClientError) -> Int64 {
        let path = "/api/v1/tasks/\(Self.segment(taskID))/log?offset=\(offset)&follow=true"
        let request = try await makeRequest(.GET, path, body: nil, contentType: "")
        var reached = offset
        do {
            // A follow lasts as long as the task; the task's own timeout bounds it.
            let response = try await http.execute(request, timeout: .hours(24 * 7))
            if response.status.code >= 400 {
                let body = try await response.body.collect(upTo: 1 << 20)
                throw Self.apiError(status: Int(response.status.code), body: body, path: path)
            }
            for try await chunk in response.body {
                try await sink(chunk)
                reached += Int64(chunk.readableBytes)
            }
            return reached
        } catch let error as ClientError {
            throw error
        } catch {
            var failure = await connection.failure(
                error, baseURL: baseURL, context: "lost the log stream from \(baseURL) at byte \(reached)")
            failure.expectedOffset = reached
            throw failure
        }
    }
}
