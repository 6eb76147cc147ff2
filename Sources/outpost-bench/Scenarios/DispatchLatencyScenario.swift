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
        // Two hubs at once, one on plain HTTP and one serving HTTPS (agent and client
        // verify it with --hub-ca), measured task by task in alternation, so that the
        // machine's drift over the run weighs on both alike.
        return try await BenchHub.with(options, scenario: name) { plain in
            try await BenchHub.with(options, scenario: name + "-tls", tls: true) { tls in
                try await measureInterleaved(plain: plain, tls: tls, count: count)
            }
        }
    }

    /// What one hub's series collected.
    private struct Series {
        var roundTrip = Samples()
        var toResult = Samples()
        var submitCall = Samples()
        var toStarted = Samples()
        var toResultWithLog = Samples()
    }

    private func measureInterleaved(plain: BenchHub, tls: BenchHub, count: Int) async throws -> [BenchRow] {
        for hub in [plain, tls] {
            let token = try await hub.registrationToken()
            try await hub.createTarget("bench-latency")
            try hub.startAgent(name: "bench-latency-agent", registrationToken: token)
            try await hub.waitUntilOnline("bench-latency-agent")
        }
        var series = [Series(), Series()]
        let hubs = [plain, tls]
        /// Runs `body` for both hubs, the one going first alternating with `i`.
        func alternate(_ i: Int, _ body: (BenchHub, inout Series) async throws -> Void) async throws {
            for k in (i % 2 == 0 ? [0, 1] : [1, 0]) { try await body(hubs[k], &series[k]) }
        }

        log("dispatch: baselines (bash -c true, GET /healthz on each hub)")
        let spawn = try Spawn.bashTrue(count: count).samples
        for i in 0 ..< count {
            try await alternate(i) { hub, s in s.roundTrip.add(try await measure { try await hub.admin.health() }) }
        }

        log("dispatch: warming up")
        for i in 0 ..< 20 { try await alternate(i) { hub, _ in _ = try await submitAndWait(hub, script: "true") } }

        log("dispatch: \(count) sequential tasks running `true` on each hub, alternating")
        for i in 0 ..< count {
            try await alternate(i) { hub, s in
                let run = try await submitAndWait(hub, script: "true")
                s.toResult.add(run.total)
                s.submitCall.add(run.submit)
            }
        }

        // $EPOCHREALTIME is a bash builtin: the script's first act stamps the wall clock.
        log("dispatch: \(count) sequential tasks printing $EPOCHREALTIME on each hub (submit -> process started)")
        for i in 0 ..< count {
            try await alternate(i) { hub, s in
                let run = try await submitAndWait(hub, script: "echo $EPOCHREALTIME")
                s.toResultWithLog.add(run.total)
                let page = try await hub.admin.readLog(taskID: run.task.id)
                let text = String(decoding: page.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let started = Double(text) else { throw BenchError("task \(run.task.id) printed \"\(text)\", not a time") }
                s.toStarted.add(started - run.submittedAt)
            }
        }

        let ratio = series[1].toResult.p50 / series[0].toResult.p50
        return rows(series[0], spawn: spawn, label: "") + rows(series[1], spawn: spawn, label: "TLS: ") + [
            BenchRow(name, "TLS over plain HTTP, submit -> result p50", value: ratio, unit: "x", goal: .atMost(1.1),
                     notes: "interleaved, warm keep-alive connections; \(formatFigure(series[1].toResult.p50 * 1000)) vs \(formatFigure(series[0].toResult.p50 * 1000)) ms"),
            BenchRow(name, "TLS over plain HTTP, submit -> process started p50",
                     value: series[1].toStarted.p50 / series[0].toStarted.p50, unit: "x"),
        ]
    }

    private func rows(_ s: Series, spawn: Samples, label: String) -> [BenchRow] {
        let floor = spawn.p50 + 2 * s.roundTrip.p50
        let ms = 1000.0
        let rows = [
            BenchRow(name, "baseline: spawn bash -c true, p50", value: spawn.p50 * ms, unit: "ms",
                     notes: "posix_spawn + waitpid, p99 \(formatFigure(spawn.p99 * ms)) ms"),
            BenchRow(name, "baseline: keep-alive GET /healthz, p50", value: s.roundTrip.p50 * ms, unit: "ms",
                     notes: "p99 \(formatFigure(s.roundTrip.p99 * ms)) ms"),
            BenchRow(name, "floor: spawn + 2 round trips", value: floor * ms, unit: "ms", ratio: 1),
            BenchRow(name, "submit -> result, true, p50", value: s.toResult.p50 * ms, unit: "ms",
                     ratio: s.toResult.p50 / floor, goal: .atMost(2),
                     notes: "ratio goal <= 1.5; submit call alone p50 \(formatFigure(s.submitCall.p50 * ms)) ms"),
            BenchRow(name, "submit -> result, true, p90", value: s.toResult.p90 * ms, unit: "ms", ratio: s.toResult.p90 / floor),
            BenchRow(name, "submit -> result, true, p99", value: s.toResult.p99 * ms, unit: "ms",
                     ratio: s.toResult.p99 / floor, goal: .atMost(10), notes: "max \(formatFigure(s.toResult.maximum * ms)) ms"),
            BenchRow(name, "submit -> process started, p50", value: s.toStarted.p50 * ms, unit: "ms",
                     ratio: s.toStarted.p50 / floor, notes: "bash's first builtin runs; \(s.toStarted.count) tasks"),
            BenchRow(name, "submit -> process started, p90", value: s.toStarted.p90 * ms, unit: "ms", ratio: s.toStarted.p90 / floor),
            BenchRow(name, "submit -> process started, p99", value: s.toStarted.p99 * ms, unit: "ms", ratio: s.toStarted.p99 / floor),
            BenchRow(name, "submit -> result, one log line, p50", value: s.toResultWithLog.p50 * ms, unit: "ms",
                     ratio: s.toResultWithLog.p50 / floor, notes: "p99 \(formatFigure(s.toResultWithLog.p99 * ms)) ms"),
        ]
        return rows.map { $0.labelled(label) }
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
