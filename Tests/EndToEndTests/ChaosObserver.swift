import Foundation
import OutpostClient
import OutpostCore

/// Watches every task of the chaos test through the hub's task list while the hub
/// and agents are being broken: remembers each task's first terminal state and
/// records a violation when a terminal task changes afterwards or a task stays
/// non-terminal past its timeout plus the allowance.
actor ChaosObserver {
    private let client: HubClient
    private let plan: [String: ChaosTask]
    /// Seconds past a task's own timeout that it may still be non-terminal (kill
    /// grace, the hub's timeout grace, heartbeat timeout, a hub outage, a margin).
    private let allowance: TimeInterval
    /// Each task as the observer first saw it terminal.
    private(set) var firstTerminal: [String: TaskRecord] = [:]
    private(set) var violations: [String] = []
    /// Tasks not yet seen terminal (all of them until the first answer).
    private(set) var pending: Int
    /// Non-terminal tasks in the last answer, for the report should they never end.
    private(set) var open: [TaskRecord] = []
    private(set) var answered = 0
    private(set) var unanswered = 0
    /// Tasks already reported, so a lasting fault is reported once.
    private var reported: Set<String> = []

    init(client: HubClient, plan: [String: ChaosTask], allowance: TimeInterval) {
        self.client = client
        self.plan = plan
        self.allowance = allowance
        pending = plan.count
    }

    /// Reads every task once and checks it against what was seen before.
    /// - Returns: how many tasks are not terminal yet. A hub that does not answer
    ///   (killed, stopped) leaves the previous count.
    @discardableResult
    func sample() async -> Int {
        guard let tasks = try? await client.listTasks(limit: plan.count) else {
            unanswered += 1
            return pending
        }
        answered += 1
        let now = Date()
        var stillOpen: [TaskRecord] = []
        for record in tasks {
            guard let task = plan[record.id] else {
                report(record.id, "the hub lists task \(record.id), which the test never submitted")
                continue
            }
            if record.status.isTerminal {
                if let first = firstTerminal[record.id] {
                    if let change = Self.change(from: first, to: record) {
                        report(
                            record.id + "/changed",
                            "\(describe(task, record)) was \(first.status.rawValue), later \(change)")
                    }
                } else {
                    firstTerminal[record.id] = record
                }
                continue
            }
            stillOpen.append(record)
            if let first = firstTerminal[record.id] {
                report(
                    record.id + "/changed",
                    "\(describe(task, record)) was \(first.status.rawValue), later \(record.status.rawValue) again")
            }
            if let started = record.startedAt {
                let running = now.timeIntervalSince(started)
                if running > Double(task.timeoutSeconds) + allowance {
                    report(
                        record.id + "/overdue",
                        "\(describe(task, record)) is still \(record.status.rawValue) \(Int(running)) s after it started (timeout \(task.timeoutSeconds) s)"
                    )
                }
            }
        }
        if tasks.count != plan.count {
            report("count", "the hub lists \(tasks.count) tasks; \(plan.count) were submitted")
        }
        open = stillOpen
        pending = stillOpen.count + max(0, plan.count - tasks.count)
        return pending
    }

    /// What changed in a terminal task, or `nil`. The status never may; exit code,
    /// end time and log size are the agent's report and may not change either once
    /// it was accepted. A `lost` or hub-timed-out task may still learn its late
    /// report (issue 11, item 8), so for those only the status counts.
    static func change(from first: TaskRecord, to now: TaskRecord) -> String? {
        if first.status != now.status { return now.status.rawValue }
        guard first.status != .lost, first.status != .timedOut else { return nil }
        if first.exitCode != now.exitCode {
            return "exit code \(first.exitCode.map(String.init) ?? "none") → \(now.exitCode.map(String.init) ?? "none")"
        }
        if first.logBytes != now.logBytes { return "log of \(first.logBytes) → \(now.logBytes) bytes" }
        if first.finishedAt != now.finishedAt { return "another finish time" }
        return nil
    }

    private func describe(_ task: ChaosTask, _ record: TaskRecord) -> String {
        "task #\(task.index) \(record.id) (\(task.kind.rawValue), agent \(record.agent ?? "none"))"
    }

    private func report(_ key: String, _ message: String) {
        guard reported.insert(key).inserted else { return }
        violations.append(message)
    }
}
