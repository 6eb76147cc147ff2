import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport

/// The chaos test's final reading: every task and its log read once, the hub
/// SIGKILLed and started again, everything read a second time. Each task must
/// read the same both times and in the task list, agree with what the observer
/// saw first, and match what its script prints.
struct ChaosAudit {
    private(set) var counts: [TaskStatus: Int] = [:]
    private(set) var violations: [String] = []
    /// Tasks that ended `lost` although the monkey did not harm their agent while they ran.
    private(set) var lostUnharmed = 0
    /// The most any task ran past its own timeout before it ended (negative: none reached it).
    private(set) var worstOverrun: TimeInterval = -.infinity

    /// - Parameter afterRestart: called once the hub runs again (to track its new process).
    static func run(
        hub: HubHarness, ids: [String], plan: [String: ChaosTask], firstTerminal: [String: TaskRecord],
        harm: [String: [Date]], allowance: TimeInterval, afterRestart: () -> Void
    ) async throws -> ChaosAudit {
        var first: [String: (record: TaskRecord, log: HubClient.LogPage)] = [:]
        for id in ids {
            first[id] = (try await hub.client.task(id: id), try await hub.client.readLog(taskID: id))
        }
        // What the hub said must be what it stored: it reads the same after a SIGKILL.
        try await hub.killAndRestart()
        afterRestart()
        let listed = Dictionary(
            try await hub.client.listTasks(limit: ids.count).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var audit = ChaosAudit()
        for id in ids {
            guard let task = plan[id], let entry = first[id] else { continue }
            let (record, log) = entry
            let again = try await hub.client.task(id: id)
            let logAgain = try await hub.client.readLog(taskID: id)
            audit.counts[record.status, default: 0] += 1
            audit.check(
                task, record, log: log, again: again, logAgain: logAgain, listed: listed[id], seen: firstTerminal[id],
                harmed: Self.harmed(record, harm), allowance: allowance)
        }
        return audit
    }

    private mutating func check(
        _ task: ChaosTask, _ record: TaskRecord, log: HubClient.LogPage, again: TaskRecord, logAgain: HubClient.LogPage,
        listed: TaskRecord?, seen: TaskRecord?, harmed: Bool, allowance: TimeInterval
    ) {
        let name = "task #\(task.index) \(record.id) (\(task.kind.rawValue), agent \(record.agent ?? "none"))"
        func fail(_ message: String) { violations.append("\(name): \(message)") }

        guard record.status.isTerminal else { return fail("never ended: still \(record.status.rawValue)") }
        if let change = ChaosObserver.change(from: record, to: again) {
            fail("read \(record.status.rawValue), after a hub restart \(change)")
        }
        if record.status != .lost, log.bytes != logAgain.bytes {
            fail("its log read differently after a hub restart (\(log.bytes.count) then \(logAgain.bytes.count) bytes)")
        }
        if let listed, let change = ChaosObserver.change(from: again, to: listed) {
            fail("reads \(again.status.rawValue) alone but the task list says \(change)")
        } else if listed == nil {
            fail("missing from the task list")
        }
        if let seen, let change = ChaosObserver.change(from: seen, to: record) {
            fail("was first seen \(seen.status.rawValue), at the end \(change)")
        }
        if Int64(log.bytes.count) != record.logBytes {
            fail("log_bytes says \(record.logBytes) but the log has \(log.bytes.count) bytes")
        }
        if let status = log.status, status != record.status {
            fail("the log says the task is \(status.rawValue), the task says \(record.status.rawValue)")
        }
        if let startedAt = record.startedAt, let finishedAt = record.finishedAt {
            worstOverrun = max(worstOverrun, finishedAt.timeIntervalSince(startedAt) - Double(task.timeoutSeconds))
        }
        if let startedAt = record.startedAt, let finishedAt = record.finishedAt,
            finishedAt.timeIntervalSince(startedAt) > Double(task.timeoutSeconds) + allowance
        {
            fail(
                "ended \(Int(finishedAt.timeIntervalSince(startedAt))) s after it started (timeout \(task.timeoutSeconds) s)"
            )
        }

        // Each start of the script appended a line: a task runs at most once, and
        // one whose result the hub holds ran exactly once.
        let runs = (try? String(contentsOfFile: task.runsFile, encoding: .utf8))?.split(separator: "\n").count ?? 0
        if runs > 1 || (runs == 0 && [.succeeded, .failed].contains(record.status)) {
            fail("its script ran \(runs) times, and the task ended \(record.status.rawValue)")
        }

        if record.status == .lost, !harmed { lostUnharmed += 1 }
        // A killed agent's old session can outlive the task's timeout when the hub
        // keeps restarting (each restart gives every agent a full heartbeat timeout):
        // then the hub's own timeout ends the task first. Only then.
        var acceptable = task.acceptableStatuses
        if harmed { acceptable.insert(.timedOut) }
        guard acceptable.contains(record.status) else {
            return fail(
                "ended \(record.status.rawValue) (\(record.error ?? "no error")), expected one of \(acceptable.map(\.rawValue).sorted())"
            )
        }
        switch record.status {
        case .succeeded, .failed:
            if record.exitCode != task.exitCode {
                fail(
                    "exit code \(record.exitCode.map(String.init) ?? "none"), the script exits \(task.exitCode.map(String.init) ?? "none")"
                )
            }
            if let difference = Self.difference(log.bytes, task.expectedLog) { fail("log differs: \(difference)") }
        case .timedOut:
            // Killed mid-sleep: what it printed before, possibly followed by nothing else.
            if !log.bytes.starts(with: task.expectedLog) && !task.expectedLog.starts(with: log.bytes) {
                fail(
                    "log is not what the script printed before its timeout: \(Self.difference(log.bytes, task.expectedLog) ?? "")"
                )
            }
        default:
            // Lost: whatever arrived must be the start of the script's output, never other bytes.
            if !task.expectedLog.starts(with: log.bytes)
                && !(task.kind == .hangs && log.bytes.starts(with: task.expectedLog))
            {
                fail(
                    "lost with a log that is not a prefix of the script's output: \(Self.difference(log.bytes, task.expectedLog) ?? "")"
                )
            }
        }
    }

    /// Whether the task's agent was killed or stopped past the heartbeat timeout while it held the task.
    static func harmed(_ record: TaskRecord, _ harm: [String: [Date]]) -> Bool {
        guard let agent = record.agent, let finishedAt = record.finishedAt else { return false }
        // Claimed but not started: the claim is as old as the start would be, give or take a poll.
        let from = (record.startedAt ?? record.createdAt).addingTimeInterval(-1)
        return harm[agent, default: []].contains { (from...finishedAt).contains($0) }
    }

    /// Where two logs first differ, with a few bytes of each, or `nil` if equal.
    static func difference(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
        guard actual != expected else { return nil }
        let at =
            zip(actual, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
            ?? min(actual.count, expected.count)
        func excerpt(_ bytes: [UInt8]) -> String {
            String(decoding: bytes[at..<min(bytes.count, at + 60)], as: UTF8.self).debugDescription
        }
        return
            "\(actual.count) bytes, expected \(expected.count); first difference at byte \(at): got \(excerpt(actual)), expected \(excerpt(expected))"
    }
}

extension Duration {
    /// The duration in seconds, for arithmetic with `TimeInterval`s.
    var seconds: TimeInterval {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
