import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Several `outpost server` replicas on one PostgreSQL database: whatever replica a
/// user reaches, and whatever replica an agent polls, the work is the same.
@Suite("Several hub replicas", .postgresAvailable, .serialized)
struct ReplicaTests {
    @Test("submitted on one replica, run by an agent on another, its log followed live on a third")
    func crossReplicaRunAndFollow() async throws {
        let set = try await ReplicaSet(count: 3)
        defer { set.terminate() }
        try await set.startAgent(name: "agent-on-zero", replicas: [0])
        _ = try await set.client(1).createTarget(Target(name: "local", integration: "bash"))
        let release = set.directory.file("release")
        let script = "echo first; while [ ! -e \(release) ]; do sleep 0.05; done; echo second; exit 7"
        let task = try await set.client(1).createTask(CreateTaskRequest(target: "local", script: script))

        // Replica 2 never saw the task queued, claimed or logged: it streams from the store, woken by events.
        let client2 = set.client(2)
        let sawFirst = await eventually(timeout: .seconds(30)) {
            String(decoding: (try? await client2.readLog(taskID: task.id).bytes) ?? [], as: UTF8.self) == "first\n"
        }
        #expect(sawFirst, "the first line reached replica 2 while the task still waited")
        #expect(try await client2.task(id: task.id).status == .running)
        try "".write(toFile: release, atomically: true, encoding: .utf8)
        let done = try await set.waitForTask(task.id, on: 2)
        #expect(done.status == .failed)
        #expect(done.exitCode == 7)
        #expect(done.agent == "agent-on-zero")
        let log = try await client2.readLog(taskID: task.id)
        #expect(String(decoding: log.bytes, as: UTF8.self) == "first\nsecond\n")
        // Replica 1 announced the task it queued: its /metrics counts the NOTIFY statements.
        let notified = try await ChaosSettledView.gauge("outpost_cluster_notify_statements_total", hub: set.replicas[1])
        #expect((notified ?? 0) >= 1, "replica 1 counted \(notified.map { "\($0)" } ?? "no series") NOTIFY statements")

        // The CLI, through replica 1, streams and exits with the task's own code.
        let run = try await set.cli(1, ["task", "run", "local", "--script", "printf 'a\\nb\\n'; exit 3"])
        #expect(run.code == 3, "\(run.stderr)")
        #expect(run.stdout == "a\nb\n")
    }

    @Test("a cancel through another replica reaches the agent; a wait on a third returns when the task ends")
    func crossReplicaCancelAndWait() async throws {
        let set = try await ReplicaSet(count: 3)
        defer { set.terminate() }
        try await set.startAgent(name: "holder-agent", replicas: [0])
        _ = try await set.client(0).createTarget(Target(name: "local", integration: "bash"))
        let task = try await set.client(1).createTask(CreateTaskRequest(target: "local", script: "echo started; sleep 120"))
        let client2 = set.client(2)
        let running = await eventually(timeout: .seconds(30)) {
            (try? await client2.task(id: task.id).status) == .running
        }
        #expect(running)
        async let waited = set.client(2).task(id: task.id, waitSeconds: 60)
        let clock = ContinuousClock()
        let started = clock.now
        _ = try await set.client(1).cancelTask(id: task.id)
        let ended = try await waited
        let took = clock.now - started
        #expect(ended.status == .cancelled, "the wait on replica 2 returned \(ended.status) after \(took)")
        // The agent got the cancel from replica 0's answer to its waiting poll, woken by
        // replica 1's event: well under the agent's kill grace plus a reconciliation.
        #expect(took < .seconds(10), "cancel took \(took)")
    }

    @Test("secret names are listed through any replica, relayed to the one the agent polls")
    func crossReplicaSecretListing() async throws {
        let set = try await ReplicaSet(count: 2)
        defer { set.terminate() }
        let config = set.directory.file("agent.yaml")
        try "secrets:\n  providers:\n    - {name: env, type: env, prefix: OUTPOST_SECRET_}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        try await set.startAgent(
            name: "keeper-agent", replicas: [0], arguments: ["--config-file", config],
            environment: ["OUTPOST_SECRET_RELAYED": "canary-relay-value-4471"])
        let listing = try await set.cli(1, ["secrets", "ls", "--agent", "keeper-agent", "--json"])
        #expect(listing.code == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("OUTPOST_SECRET_RELAYED"))
        #expect(!listing.stdout.contains("canary-relay-value-4471"))
    }

    @Test("with NOTIFY off (a PgBouncer in transaction mode), work still crosses replicas through the store")
    func withoutNotifications() async throws {
        let set = try await ReplicaSet(count: 2, environment: ["OUTPOST_SERVER_CLUSTER_NOTIFY": "false"])
        defer { set.terminate() }
        try await set.startAgent(name: "quiet-agent", replicas: [0])
        _ = try await set.client(1).createTarget(Target(name: "local", integration: "bash"))
        for index in 0..<3 {
            let task = try await set.client(1).createTask(CreateTaskRequest(target: "local", script: "echo n\(index)"))
            let done = try await set.waitForTask(task.id, on: 1, timeout: .seconds(30))
            #expect(done.status == .succeeded)
            #expect(String(decoding: try await set.client(0).readLog(taskID: task.id).bytes, as: UTF8.self) == "n\(index)\n")
        }
    }

    @Test("replicas serving HTTPS share no agent CA of their own: mutual TLS needs agent_ca_cert, and says so")
    func agentCAMustBeShared() async throws {
        let database = try await TestPostgres.createDatabase(prefix: "outpost_tls")
        defer { Task.detached { await TestPostgres.dropDatabase(database) } }
        let setup = try await HubTLSTests.Setup(extraArguments: ["--database", try #require(TestPostgres.url(database: database))])
        defer { setup.directory.remove() }
        var request = CreateAgentTypeRequest(name: "strict")
        request.requireClientCertificate = true
        do {
            _ = try await setup.hub.client.createAgentType(request)
            Issue.record("an mTLS agent type was created without a shared agent CA")
        } catch {
            #expect(error.message.contains("agent_ca_cert and agent_ca_key"), "\(error.message)")
        }
        #expect(!FileManager.default.fileExists(atPath: setup.directory.file("hub") + "/ca"), "no CA of its own")
        await setup.hub.stop()
    }

    @Test("/readyz says not ready once the database is gone, so a load balancer takes the replica out")
    func readinessFollowsTheDatabase() async throws {
        let set = try await ReplicaSet(count: 1)
        defer { set.terminate() }
        let port = try #require(set.replicas[0].url.split(separator: ":").last.flatMap { Int($0) })
        func readyz() async -> String {
            guard let socket = try? await RawSocket.open(port: port) else { return "" }
            _ = socket.send("GET /readyz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
            return await socket.response(timeout: .seconds(10)) ?? ""
        }
        #expect(await readyz().hasPrefix("HTTP/1.1 200"))
        await TestPostgres.dropDatabase(set.database)
        var last = ""
        let unready = await eventually(timeout: .seconds(20)) {
            last = await readyz()
            return last.hasPrefix("HTTP/1.1 503")
        }
        #expect(unready, "\(last)")
        #expect(last.contains("the database does not answer"), "\(last)")
    }

    @Test("one leader at a time; when it is SIGKILLed another replica leads within 15 s")
    func leaderFailover() async throws {
        let set = try await ReplicaSet(count: 3)
        defer { set.terminate() }
        let first = await eventually(timeout: .seconds(15)) { set.leaderIndex() != nil }
        #expect(first)
        let leader = try #require(set.leaderIndex())
        let leaders = set.replicas.indices.filter { set.replicas[$0].process.stderr.contains("this replica is now the leader") }
        #expect(leaders == [leader], "exactly one replica ever led")
        await set.replicas[leader].process.kill9()
        let clock = ContinuousClock()
        let killed = clock.now
        let next = await eventually(timeout: .seconds(15)) {
            if let index = set.leaderIndex(), index != leader { return true }
            return false
        }
        #expect(next, "no replica took over within 15 s")
        let took = clock.now - killed
        #expect(took < .seconds(15))
    }
}

/// User tokens cross replicas sealed, and never reach the database in clear.
@Suite("User tokens across replicas", .postgresAvailable, .serialized)
struct ReplicaUserTokenTests {
    @Test("a token submitted to one replica reaches the agent on another, sealed; no token byte is in any table or the WAL")
    func sealedAcrossReplicas() async throws {
        let fixtures = try await JWTFixtures.current()
        let keys = FakeJWKSServer(jwks: fixtures.jwks)
        try await keys.run { url in
            let keyDirectory = try TemporaryDirectory(prefix: "outpost-cluster-key")
            defer { keyDirectory.remove() }
            let keyFile = keyDirectory.file("cluster.key")
            try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                .write(toFile: keyFile, atomically: true, encoding: .utf8)
            let set = try await ReplicaSet(count: 2, hubArguments: [], environment: ["OUTPOST_SERVER_CLUSTER_KEY_FILE": keyFile])
            defer { set.terminate() }
            try await set.startAgent(
                name: "guarded-replica-agent", replicas: [0], arguments: ["--kill-grace", "2s", "--jwk-url", url],
                environment: ["OUTPOST_AGENT_JWT_ISSUER": fixtures.issuer, "OUTPOST_AGENT_JWT_AUDIENCE": fixtures.audience])
            _ = try await set.client(1).createTarget(Target(name: "guarded", integration: "bash"))
            let token = try fixtures.token("valid RS256")
            // Submitted to replica 1, handed out by replica 0: only the sealed copy can get it there.
            // The script lands in the tasks table: the WAL scan below must find it, or it could not find a token either.
            let marker = "wal-visible-\(UUID().uuidString)"
            let task = try await set.client(1).createTask(
                CreateTaskRequest(target: "guarded", script: "echo \(marker) >/dev/null"), userToken: token)
            let done = try await set.waitForTask(task.id, on: 1)
            #expect(done.status == .succeeded, "\(done.error ?? "")")
            #expect(done.userSubject == fixtures.subject)

            let parts = token.split(separator: ".").map(String.init).filter { $0.count >= 16 }
            let rows = try await TestPostgres.allRows(database: set.database)
            #expect(rows.contains { $0.table == "tasks" })
            for (table, row) in rows where parts.contains(where: row.contains) {
                Issue.record("a part of the user token is in a row of table \(table)")
            }
            // The WAL holds every row version ever written, deleted ones too.
            try await TestPostgres.execute("CHECKPOINT")
            if let segments = TestPostgres.writeAheadLog() {
                #expect(segments.contains { $0.bytes.contains(subsequence: Array(marker.utf8)) }, "the WAL scan sees row data")
                for segment in segments where parts.contains(where: { segment.bytes.contains(subsequence: Array($0.utf8)) }) {
                    Issue.record("a part of the user token is in the write-ahead log segment \(segment.file)")
                }
            } else if TestPostgres.isRequired {
                Issue.record("OUTPOST_POSTGRES_DATA is not set: scripts/services/postgres should export it")
            }
            for replica in set.replicas {
                #expect(!parts.contains(where: replica.process.stderr.contains), "a token part was logged")
            }
        }
    }

    @Test("replicas without a cluster key refuse a task with a user token, saying what to configure")
    func refusedWithoutKey() async throws {
        let set = try await ReplicaSet(count: 1)
        defer { set.terminate() }
        _ = try await set.client(0).createTarget(Target(name: "guarded", integration: "bash"))
        do {
            _ = try await set.client(0).createTask(
                CreateTaskRequest(target: "guarded", script: "echo hi"), userToken: UserTokenProcessTests.canary)
            Issue.record("accepted a user token it cannot hand between replicas")
        } catch {
            #expect(error.message.contains("cluster_key_file"), "\(error.message)")
        }
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes (Foundation's search: WAL segments are 16 MiB each).
    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        !needle.isEmpty && Data(self).range(of: Data(needle)) != nil
    }
}
