import Foundation
import OutpostClient
import OutpostCore
import OutpostSigning

/// `outpost-bench signing`: what signed tasks cost. The signer's and the verifier's
/// work alone (Ed25519 and ES256), then one hub with two real agents, one plain and
/// one requiring signatures (the check, the key file's stat and the replay journal's
/// fsync included), fed tasks one after another in alternation: signed submit →
/// result against unsigned submit → result, in the same run.
struct SignedTaskScenario: BenchScenario {
    let name = "signing"
    let summary = "sign + verify per task (Ed25519, ES256); 1 hub, a plain and a signature-requiring agent: signed vs unsigned submit -> result"

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        var rows = try cryptography(count: options.scaled(2000, minimum: 100))
        rows += try await BenchHub.with(options, scenario: name) { hub in
            try await endToEnd(hub, count: options.scaled(500, minimum: 20))
        }
        return rows
    }

    static let target = Target(
        name: "bench-signed", integration: "bash", tags: TagSet(["signed"]), env: ["MODE": "bench"],
        secrets: [SecretReference(provider: "env", path: "BENCH", mapping: ["A": "a"])])

    /// Signing and verifying alone, per task.
    private func cryptography(count: Int) throws -> [BenchRow] {
        var rows: [BenchRow] = []
        for algorithm in TaskKeyAlgorithm.allCases {
            let key = TaskSigningKey.generate(algorithm, kid: "bench")
            let signer = TaskSigner(key: key)
            let verifier = TaskSignatureVerifier(keys: TaskVerificationKeySet(keys: [key.publicKey]))
            let content = SignedTaskContent(
                taskID: "tsk_bench000000000000000001", target: Self.target, scriptSHA256: TaskSigner.scriptDigest("true"),
                timeoutSeconds: 60)
            var signing = Samples()
            var verifying = Samples()
            for _ in 0 ..< count {
                var envelope: SignedTaskEnvelope?
                signing.add(try measureSync { envelope = try signer.sign(content, now: Date()) })
                verifying.add(try measureSync {
                    guard case .success = verifier.verify(envelope, expected: content, now: Date()) else {
                        throw BenchError("a fresh signature did not verify")
                    }
                })
            }
            let us = 1_000_000.0
            rows.append(BenchRow(name, "\(algorithm.displayName): sign a task, p50", value: signing.p50 * us, unit: "µs",
                                 notes: "canonical JSON + signature; p99 \(formatFigure(signing.p99 * us)) µs"))
            rows.append(BenchRow(name, "\(algorithm.displayName): verify a task, p50", value: verifying.p50 * us, unit: "µs",
                                 notes: "signature, canonical re-check, content compare; p99 \(formatFigure(verifying.p99 * us)) µs"))
        }
        return rows
    }

    /// Signed and unsigned tasks through real processes, alternating.
    private func endToEnd(_ hub: BenchHub, count: Int) async throws -> [BenchRow] {
        let key = TaskSigningKey.generate(.ed25519, kid: "bench")
        let keys = hub.directory.file("verification-keys.json")
        try Data(TaskVerificationKeySet(keys: [key.publicKey]).json()).write(to: URL(fileURLWithPath: keys))
        let token = try await hub.registrationToken()
        var plainTarget = Self.target
        plainTarget.name = "bench-plain"
        plainTarget.tags = TagSet(["plain"])
        plainTarget.secrets = []
        var signedTarget = Self.target
        signedTarget.secrets = []
        _ = try await hub.admin.createTarget(plainTarget)
        _ = try await hub.admin.createTarget(signedTarget)
        try hub.startAgent(name: "bench-plain-agent", registrationToken: token, tags: TagSet(["plain"]))
        try hub.startAgent(
            name: "bench-signed-agent", registrationToken: token, tags: TagSet(["signed"]),
            arguments: ["--require-signed-tasks", "true", "--verification-keys", keys])
        try await hub.waitUntilOnline("bench-plain-agent")
        try await hub.waitUntilOnline("bench-signed-agent")

        let signer = TaskSigner(key: key)
        func signedRequest() throws -> CreateTaskRequest {
            let id = Identifiers.make(prefix: "tsk")
            let content = SignedTaskContent(
                taskID: id, target: signedTarget, scriptSHA256: TaskSigner.scriptDigest("true"), timeoutSeconds: 60)
            return CreateTaskRequest(
                target: signedTarget.name, script: "true", timeoutSeconds: 60, id: id,
                signature: try signer.sign(content, now: Date()))
        }
        /// Submit → result, and the hub's created → started (the agent's checks fall in it).
        func submitAndWait(_ request: CreateTaskRequest) async throws -> (total: Double, toStart: Double) {
            let start = ContinuousClock.now
            var task = try await hub.admin.createTask(request)
            while !task.status.isTerminal { task = try await hub.admin.task(id: task.id, waitSeconds: 30) }
            guard task.status == .succeeded else {
                throw BenchError("task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
            }
            if request.signature != nil, task.signedBy != "bench" {
                throw BenchError("task \(task.id) ran without its signature verified")
            }
            let toStart = task.startedAt.map { $0.timeIntervalSince(task.createdAt) } ?? .nan
            return ((ContinuousClock.now - start).seconds, toStart)
        }

        log("signing: warming up")
        for _ in 0 ..< 10 {
            _ = try await submitAndWait(CreateTaskRequest(target: plainTarget.name, script: "true", timeoutSeconds: 60))
            _ = try await submitAndWait(try signedRequest())
        }
        log("signing: \(count) unsigned and \(count) signed tasks, alternating")
        var plain = Samples()
        var signed = Samples()
        var plainToStart = Samples()
        var signedToStart = Samples()
        for i in 0 ..< count {
            let plainFirst = i % 2 == 0
            for signedTurn in plainFirst ? [false, true] : [true, false] {
                if signedTurn {
                    // The signature is made inside the timed span, as `task run --sign-key` would.
                    let start = ContinuousClock.now
                    let run = try await submitAndWait(try signedRequest())
                    signed.add((ContinuousClock.now - start).seconds)
                    signedToStart.add(run.toStart)
                } else {
                    let run = try await submitAndWait(
                        CreateTaskRequest(target: plainTarget.name, script: "true", timeoutSeconds: 60))
                    plain.add(run.total)
                    plainToStart.add(run.toStart)
                }
            }
        }
        let ms = 1000.0
        return [
            BenchRow(name, "baseline: unsigned submit -> result, p50", value: plain.p50 * ms, unit: "ms", ratio: 1,
                     notes: "p99 \(formatFigure(plain.p99 * ms)) ms"),
            BenchRow(name, "signed submit -> result, p50", value: signed.p50 * ms, unit: "ms",
                     ratio: signed.p50 / plain.p50,
                     notes: "signing, the agent's check and its journal fsync included; p99 \(formatFigure(signed.p99 * ms)) ms"),
            BenchRow(name, "unsigned: hub's created -> started, p50", value: plainToStart.p50 * ms, unit: "ms", ratio: 1,
                     notes: "dispatch, spawn and the start report, by the hub's clock"),
            BenchRow(name, "signed: hub's created -> started, p50", value: signedToStart.p50 * ms, unit: "ms",
                     ratio: signedToStart.p50 / plainToStart.p50, notes: "the agent's signature check and journal fsync fall in here"),
            BenchRow(name, "signed over unsigned, submit -> result p50", value: signed.p50 / plain.p50, unit: "x",
                     goal: .atMost(1.25), notes: "interleaved on one hub, one agent each; the journal fsync (~0.45 ms) is deliberate"),
        ]
    }

    private func measureSync(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start).seconds
    }
}
