import Foundation
import OutpostCore
import SQLKit

/// Task logs: chunks keyed by (task, byte offset), appended at an explicit offset so
/// a retried or overlapping chunk is never stored twice.
extension SQLHubStore {
    /// With `length` the bytes stored so far and `end = offset + bytes.count`:
    /// `offset == length` appends; `end <= length` is a retry of bytes already stored
    /// (nothing written); `offset < length < end` stores only the new tail;
    /// `offset > length` (or a negative offset) is a gap.
    /// - Returns: the stored length afterwards: the offset the agent sends next.
    /// - Throws: `.logGap(expected: length)`, `.notFound`, `.forbidden` (another
    ///   agent's task), `.conflict` when the task is terminal.
    package func appendLog(taskID: String, agentID: String, offset: Int64, bytes: [UInt8]) async throws(StoreError)
        -> Int64
    {
        try await write("appending to the log of task \(taskID)") { db in
            let task = try await Self.loadReportingTask(db, id: taskID, agentID: agentID, lock: dialect.lockRowsSuffix)
            let acceptance = task.machine.logAcceptance
            guard acceptance != .closed else {
                throw StoreError(.conflict, "task \(taskID) is already \(task.record.status.rawValue); its log is closed")
            }
            let length = task.record.logBytes
            guard offset >= 0, offset <= length else {
                throw StoreError(
                    .logGap(expected: length),
                    "log of task \(taskID) has \(length) bytes; an append at offset \(offset) would leave a gap")
            }
            // No overflow: offset <= length, a stored length far below Int64.max.
            let end = offset + Int64(bytes.count)
            guard end > length else { return length }
            let tail = Data(bytes[Int(length - offset)...])
            try await db.raw(
                """
                INSERT INTO task_log_chunks (task_id, byte_offset, size, data)
                VALUES (\(bind: taskID), \(bind: length), \(bind: tail.count), \(bind: tail))
                """
            ).run()
            if acceptance == .late {
                // The first byte that arrived after the task was lost: where its late part begins.
                try await db.raw(
                    "UPDATE tasks SET late_log_offset = COALESCE(late_log_offset, \(bind: length)) WHERE id = \(bind: taskID)"
                ).run()
            }
            // Guarded by the length read, like status changes: a concurrent appender
            // that got in first makes this one fail rather than corrupt the count.
            guard
                try await db.raw(
                    """
                    UPDATE tasks SET log_bytes = \(bind: end)
                    WHERE id = \(bind: taskID) AND log_bytes = \(bind: length) RETURNING id
                    """
                ).first() != nil
            else {
                throw StoreError(.conflict, "log of task \(taskID) changed while appending; retry")
            }
            return end
        }
    }

    /// - Throws: `.notFound`.
    package func markLogTruncated(taskID: String) async throws(StoreError) {
        try await write("marking the log of task \(taskID) truncated") { db in
            guard
                try await db.raw("UPDATE tasks SET log_truncated = 1 WHERE id = \(bind: taskID) RETURNING id").first()
                    != nil
            else {
                throw StoreError(.notFound, "task \(taskID) does not exist")
            }
        }
    }

    /// Bytes `[offset, min(offset + limit, stored length))`, from the chunks that overlap it.
    /// An offset at or past the end gives no bytes and `nextOffset == offset`.
    /// - Throws: `.notFound`.
    package func readLog(taskID: String, offset: Int64, limit: Int) async throws(StoreError) -> LogSlice {
        try await read("reading the log of task \(taskID)") { db in
            guard
                let row = try await db.raw(
                    "SELECT status, log_bytes, log_truncated FROM tasks WHERE id = \(bind: taskID)"
                ).first()
            else {
                throw StoreError(.notFound, "task \(taskID) does not exist")
            }
            let total = try row.column("log_bytes", as: Int64.self)
            let start = max(0, offset)
            // Clamped before adding: a caller's offset may be near Int64.max.
            let end = start >= total ? start : min(total, start + Int64(max(0, min(limit, Int(total - start)))))
            var bytes: [UInt8] = []
            if start < end {
                bytes.reserveCapacity(Int(end - start))
                // The chunk holding `start` begins at the greatest offset <= start; from
                // there on, the primary key index walks the chunks in order.
                let chunks = try await db.raw(
                    """
                    SELECT byte_offset, data FROM task_log_chunks
                    WHERE task_id = \(bind: taskID) AND byte_offset < \(bind: end)
                        AND byte_offset >= COALESCE((
                            SELECT MAX(byte_offset) FROM task_log_chunks
                            WHERE task_id = \(bind: taskID) AND byte_offset <= \(bind: start)
                        ), 0)
                    ORDER BY byte_offset
                    """
                ).all()
                for chunk in chunks {
                    let chunkStart = try chunk.column("byte_offset", as: Int64.self)
                    let data = try chunk.column("data", as: Data.self)
                    let from = Int(max(start, chunkStart) - chunkStart)
                    let to = Int(min(end, chunkStart + Int64(data.count)) - chunkStart)
                    if from < to { bytes.append(contentsOf: data[data.startIndex + from..<data.startIndex + to]) }
                }
            }
            return LogSlice(
                bytes: bytes, nextOffset: start + Int64(bytes.count), totalBytes: total,
                truncated: try row.flag("log_truncated"), status: try row.taskStatus())
        }
    }
}
