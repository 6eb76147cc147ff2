import Foundation
import OutpostClient
import OutpostCore

/// `outpost-bench dispatch`: one real agent, tasks submitted one after
/// another through the real API. Measures submit → process started and
/// submit → result visible, against the floor: spawning `bash -c true`
/// directly plus two keep-alive HTTP round trips.
struct DispatchLatencyScenario: BenchScenario {
    let name = "dispatch"
    let summary =
        "1 agent, 1,000 sequential tasks: submit -> started and submit -> result; vs bash spawn + 2 round trips; again over TLS"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let count = options.scaled(1000, minimum: 20)
        let plain = try await BenchHub.with(options, scenario: name) { hub in
            try await measureSeries(hub, count: count, over: "")
        }
        // The same against a hub serving HTTPS (agent and client verify it with --hub-ca).
        let tls = try await BenchHub.with(options, scenario: name + "-tls", tls: true) { hub in
            try await measureSeries(hub, count: count, over: "TLS: ")
        }
        let ratio = tls.toResultP50 / plain.toResultP50
        return plain.rows + tls.rows + [
            BenchRow(name, "TLS over plain HTTP, submit -> result p50", value: ratio, unit: "x", goal: .atMost(1.1),
                     notes: "warm keep-alive connections; \(formatFigure(tls.toResultP50 * 1000)) vs \(formatFigure(plain.toResultP50 * 1000)) ms"),
        ]
    }

    private func measureSeries(_ hub: BenchHub, count: Int, over label: String) async throws -> (rows: [BenchRow], toResultP50: Double) {
        let token = try await hub.registrationToken()
        try await hub.createTarget("bench-latency")
        try hub.startAgent(name: "bench-latency-agent", registrationToken: token)
        try await hub.waitUntilOnline("bench-latency-agent")

        log("dispatch: baselines (bash -c true, GET /healthz)")
        let spawn = try Spawn.bashTrue(count: count).samples
        var roundTrip = Samples()
        for _ in 0 ..< count {
            roundTrip.add(try await measure { try await hub.admin.health() })
        }

        log("dispatch: warming up")
        for _ in 0 ..< 20 { _ = try await submitAndWait(hub, script: "true") }

        log("dispatch: \(count) sequential tasks running `true`")
        var toResult = Samples()
        var submitCall = Samples()
        for _ in 0 ..< count {
            let run = try await submitAndWait(hub, script: "true")
            toResult.add(run.total)
            submitCall.add(run.submit)
        }

        // $EPOCHREALTIME is a bash builtin: the script's first act stamps the wall clock.
        log("dispatch: \(count) sequential tasks printing $EPOCHREALTIME (submit -> process started)")
        var toStarted = Samples()
        var toResultWithLog = Samples()
        for _ in 0 ..< count {
            let run = try await submitAndWait(hub, script: "echo $EPOCHREALTIME")
            toResultWithLog.add(run.total)
            let page = try await hub.admin.readLog(taskID: run.task.id)
            let text = String(decoding: page.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let started = Double(text) else { throw BenchError("task \(run.task.id) printed \"\(text)\", not a time") }
            toStarted.add(started - run.submittedAt)
        }

        let floor = spawn.p50 + 2 * roundTrip.p50
        let ms = 1000.0
        let rows = [
            BenchRow(name, "baseline: spawn bash -c true, p50", value: spawn.p50 * ms, unit: "ms",
                     notes: "posix_spawn + waitpid, p99 \(formatFigure(spawn.p99 * ms)) ms"),
            BenchRow(name, "baseline: keep-alive GET /healthz, p50", value: roundTrip.p50 * ms, unit: "ms",
                     notes: "p99 \(formatFigure(roundTrip.p99 * ms)) ms"),
            BenchRow(name, "floor: spawn + 2 round trips", value: floor * ms, unit: "ms", ratio: 1),
            BenchRow(name, "submit -> result, true, p50", value: toResult.p50 * ms, unit: "ms",
                     ratio: toResult.p50 / floor, goal: .atMost(2),
                     notes: "ratio goal <= 1.5; submit call alone p50 \(formatFigure(submitCall.p50 * ms)) ms"),
            BenchRow(name, "submit -> result, true, p90", value: toResult.p90 * ms, unit: "ms", ratio: toResult.p90 / floor),
            BenchRow(name, "submit -> result, true, p99", value: toResult.p99 * ms, unit: "ms",
                     ratio: toResult.p99 / floor, goal: .atMost(10), notes: "max \(formatFigure(toResult.maximum * ms)) ms"),
            BenchRow(name, "submit -> process started, p50", value: toStarted.p50 * ms, unit: "ms",
                     ratio: toStarted.p50 / floor, notes: "bash's first builtin runs; \(count) tasks"),
            BenchRow(name, "submit -> process started, p90", value: toStarted.p90 * ms, unit: "ms", ratio: toStarted.p90 / floor),
            BenchRow(name, "submit -> process started, p99", value: toStarted.p99 * ms, unit: "ms", ratio: toStarted.p99 / floor),
            BenchRow(name, "submit -> result, one log line, p50", value: toResultWithLog.p50 * ms, unit: "ms",
                     ratio: toResultWithLog.p50 / floor, notes: "p99 \(formatFigure(toResultWithLog.p99 * ms)) ms"),
        ]
        return (rows.map { $0.labelled(label) }, toResult.p50)
    }

    private struct Run {
        var task: TaskRecord
        /// Wall-clock time just before the submit call, as seconds since 1970.
        var submittedAt: Double
        var submit: Double
        var total: Double
    }

    /// Submits one task and waits for its result; the task must succeed.
    private func submitAndWait(_ hub: BenchHub, script: String) async throws -> Run {
        let submittedAt = Date().timeIntervalSince1970
        let start = ContinuousClock.now
        let created = try await hub.submit("bench-latency", script: script)
        let submitted = ContinuousClock.now
        var task = created
        while !task.status.isTerminal { task = try await hub.admin.task(id: created.id, waitSeconds: 30) }
        let total = (ContinuousClock.now - start).seconds
        guard task.status == .succeeded else {
            throw BenchError("task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
        }
        return Run(task: task, submittedAt: submittedAt, submit: (submitted - start).seconds, total: total)
    }
}
