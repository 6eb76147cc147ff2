import Foundation
import NIOCore
import OutpostClient
import OutpostCore

/// `outpost-bench logs`: a task writes 256 MiB to standard output; the agent
/// masks, spools and ships it (over its channel, and over HTTP by long poll) and
/// the hub stores it. Compared with the same command writing to /dev/null, also
/// run as a task. The stored log is read
/// back and checked byte for byte.
struct LogStreamingScenario: BenchScenario {
    let name = "logs"
    let summary = "a task writes 256 MiB to stdout: wall time and agent CPU vs the same task writing to /dev/null"

    /// What the task prints, over and over: a typical log line.
    static let line = "2026-11-22T04:51:16.123Z INFO  worker-3 batch 1234 done in 12 ms, rows=4096, status=ok\n"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let size = Int64(options.sizeMiB) << 20
        let cap = ["OUTPOST_SERVER_MAX_LOG_BYTES": String(size * 2)]
        let agentCap = ["OUTPOST_AGENT_MAX_LOG_BYTES": String(size * 2)]
        return try await BenchHub.with(options, scenario: name, environment: cap) { hub in
            let token = try await hub.registrationToken()
            // One agent ships over its channel, the other (`--long-poll`) over HTTP requests.
            var agents: [BenchProcess] = []
            for (label, extra) in [("channel", [String]()), ("long-poll", ["--long-poll"])] {
                try await hub.createTarget("bench-logs-\(label)", tags: TagSet(["logs-\(label)"]))
                agents.append(
                    try hub.startAgent(
                        name: "bench-logs-\(label)", registrationToken: token, tags: TagSet(["logs-\(label)"]),
                        environment: agentCap, arguments: extra))
                try await hub.waitUntilOnline("bench-logs-\(label)")
            }
            let producer = "yes '\(Self.line.dropLast())' | head -c \(size)"

            var quiet: Run?
            var loud: [Run?] = [nil, nil]
            for round in 1 ... options.runs {
                log("logs: round \(round) of \(options.runs): \(options.sizeMiB) MiB to /dev/null, then to the log (channel, long poll)")
                let q = try await runTask(hub, target: "bench-logs-channel", agent: agents[0], script: producer + " > /dev/null")
                if quiet == nil || q.seconds < quiet!.seconds { quiet = q }
                for (k, target) in ["bench-logs-channel", "bench-logs-long-poll"].enumerated() {
                    let l = try await runTask(hub, target: target, agent: agents[k], script: producer)
                    if loud[k] == nil || l.seconds < loud[k]!.seconds { loud[k] = l }
                    guard l.task.logBytes == size else {
                        throw BenchError("the hub holds \(l.task.logBytes) bytes of log, not \(size)")
                    }
                    try await verify(hub, taskID: l.task.id, size: size)
                }
            }
            guard let quiet, let channel = loud[0], let longPoll = loud[1] else { throw BenchError("no rounds ran") }
            let megabytes = Double(size) / 1e6
            var rows = [
                BenchRow(name, "baseline: same task, output to /dev/null", value: quiet.seconds, unit: "s", ratio: 1,
                         notes: "agent CPU \(formatFigure(quiet.agentCPU)) s"),
            ]
            for (label, loud) in [("", channel), (" over long poll", longPoll)] {
                rows += [
                    BenchRow(name, "\(options.sizeMiB) MiB log\(label): submit -> result", value: loud.seconds, unit: "s",
                             ratio: loud.seconds / quiet.seconds, goal: nil,
                             notes: "overhead \(formatFigure((loud.seconds / quiet.seconds - 1) * 100)) % (goal <= 20 %); "
                                 + "\(formatFigure(megabytes / loud.seconds)) MB/s end to end; best of \(options.runs)"),
                    BenchRow(name, "\(options.sizeMiB) MiB log\(label): agent CPU", value: loud.agentCPU, unit: "CPU s",
                             notes: "reading, masking, spooling, shipping; \(formatFigure(quiet.agentCPU)) s without output"),
                    BenchRow(name, "\(options.sizeMiB) MiB log\(label): hub CPU", value: loud.hubCPU, unit: "CPU s",
                             notes: "receiving and storing in SQLite"),
                ]
            }
            rows.append(BenchRow(name, "stored log verified byte for byte", value: Double(size) / Double(1 << 20), unit: "MiB"))
            return rows
        }
    }

    private struct Run {
        var task: TaskRecord
        var seconds: Double
        var agentCPU: Double
        var hubCPU: Double
    }

    private func runTask(_ hub: BenchHub, target: String, agent: BenchProcess, script: String) async throws -> Run {
        let agentCPU = agent.probe.cpuSeconds()
        let hubCPU = hub.process.probe.cpuSeconds()
        let start = ContinuousClock.now
        let created = try await hub.submit(target, script: script)
        let task = try await hub.result(created.id)
        let seconds = (ContinuousClock.now - start).seconds
        guard task.status == .succeeded else {
            throw BenchError("task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
        }
        return Run(
            task: task, seconds: seconds, agentCPU: agent.probe.cpuSeconds() - agentCPU,
            hubCPU: hub.process.probe.cpuSeconds() - hubCPU)
    }

    /// Reads the stored log back and compares every byte with what the task printed.
    private func verify(_ hub: BenchHub, taskID: String, size: Int64) async throws {
        let line = Array(Self.line.utf8)
        var offset: Int64 = 0
        var mismatch: Int64?
        _ = try await hub.admin.followLog(taskID: taskID) { buffer in
            buffer.withUnsafeReadableBytes { bytes in
                for byte in bytes {
                    if mismatch == nil && byte != line[Int(offset % Int64(line.count))] { mismatch = offset }
                    offset += 1
                }
            }
        }
        if let mismatch { throw BenchError("the stored log differs from the output at byte \(mismatch)") }
        guard offset == size else { throw BenchError("read \(offset) bytes of log back, expected \(size)") }
    }
}
