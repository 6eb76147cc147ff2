import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Fleet lifecycle with real `outpost` processes: the hub decides when an agent
/// leaves, the agent deregisters and exits 0; admission refusals exit non-zero.
@Suite("Fleet lifecycle (processes)", .serialized)
struct FleetProcessTests {
    @Test("--disconnect-after-job: the agent runs one task, deregisters and exits 0 with the reason")
    func disconnectAfterJob() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let agent = try await cluster.startAgent(name: "ephemeral-1", arguments: ["--disconnect-after-job"])
        let first = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: "echo one"))
        let second = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: "echo two"))
        #expect(try await cluster.waitForTask(first.id).status == .succeeded)
        let code = await agent.process.waitForExit(timeout: .seconds(30))
        #expect(code == 0, "stderr:\n\(agent.process.stderr)")
        #expect(agent.process.stderr.contains("finished its job"))
        #expect(try await cluster.client.task(id: second.id).status == .queued, "the second task waits for another agent")
        let listed = try await cluster.client.listAgents(includeOffline: true)
        #expect(listed.first { $0.name == "ephemeral-1" }?.status == .offline)
    }

    @Test("--disconnect-after-idle-timeout: an idle agent deregisters and exits 0 with the reason")
    func idleTimeout() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "autoscaled-1", arguments: ["--disconnect-after-idle-timeout", "2s"])
        let code = await agent.process.waitForExit(timeout: .seconds(30))
        #expect(code == 0, "stderr:\n\(agent.process.stderr)")
        #expect(agent.process.stderr.contains("idle for 2s"))
    }

    @Test("outpost agents drain: the running task finishes, then the agent exits 0")
    func drain() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let agent = try await cluster.startAgent(name: "drained-1")
        let marker = cluster.directory.file("started")
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "touch \(marker); sleep 2; echo finished"))
        #expect(await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: marker) })

        let drain = try await cluster.cli(["agents", "drain", "drained-1"])
        #expect(drain.code == 0, "\(drain.stderr)")
        #expect(drain.stdout.contains("draining drained-1"))
        let listed = try await cluster.cli(["agents"])
        #expect(listed.stdout.contains("draining"))

        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "a drain never cuts a task short")
        let code = await agent.process.waitForExit(timeout: .seconds(30))
        #expect(code == 0, "stderr:\n\(agent.process.stderr)")
        #expect(agent.process.stderr.contains("drained by an operator"))
    }

    @Test("an exclusive type refuses a second agent with the same tags: it exits non-zero without learning the holder")
    func exclusive() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let created = try await cluster.cli(["agent-type", "create", "solo", "--exclusive", "--allowed-tags", "prod,db"])
        #expect(created.code == 0, "\(created.stderr)")
        let token = try #require(created.stdout.split(separator: "\n").last.map(String.init))

        let holder = try AgentHarness(
            hub: cluster.hub.url, registrationToken: token, name: "solo-holder",
            workDirectory: cluster.directory.file("holder"), tags: "prod,db")
        defer { holder.process.signal(SIGKILL) }
        try await holder.waitUntilOnline(cluster.client)

        let intruder = try AgentHarness(
            hub: cluster.hub.url, registrationToken: token, name: "solo-second",
            workDirectory: cluster.directory.file("second"), tags: "db,prod")
        defer { intruder.process.signal(SIGKILL) }
        let code = await intruder.process.waitForExit(timeout: .seconds(30))
        #expect(code != nil && code != 0, "stderr:\n\(intruder.process.stderr)")
        #expect(!intruder.process.stderr.contains("solo-holder"))
        #expect(intruder.process.stderr.contains("exclusive"))
    }
}

/// User tokens live in the hub's memory only.
@Suite("User tokens (processes)", .serialized)
struct UserTokenProcessTests {
    static let canary = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNhbmFyeSJ9.eyJzdWIiOiJjYW5hcnkifQ.Y2FuYXJ5LXNpZ25hdHVyZS05MTc0"

    @Test("a queued task's user token is lost in a hub restart: the task is rejected with that reason, and the token was never on disk")
    func restartRejects() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        _ = try await cluster.client.createTarget(Target(name: "nobody-runs-this", integration: "bash", tags: TagSet(["rare"])))
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "nobody-runs-this", script: "echo hi"), userToken: Self.canary)
        #expect(task.userTokenRequired)
        for file in DataDirectory.files(under: cluster.directory.file("hub")) {
            expectAbsent(Self.canary, in: file.contents, file.path)
        }

        try await cluster.hub.killAndRestart()
        let done = try await cluster.waitForTask(task.id, timeout: .seconds(30))
        #expect(done.status == .rejected)
        #expect(done.error?.contains("hub restarted") == true, "\(done.error ?? "")")
        for file in DataDirectory.files(under: cluster.directory.file("hub")) {
            expectAbsent(Self.canary, in: file.contents, "the user token was written to \(file.path)")
        }
        expectAbsent(Self.canary, in: cluster.hub.process.stderr, "cluster.hub.process.stderr")
    }
}

/// Every file under a directory, read as text (binary bytes decoded leniently), to
/// prove a canary value was never written.
enum DataDirectory {
    struct File {
        var path: String
        var contents: String
    }

    static func files(under root: String) -> [File] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [File] = []
        for case let relative as String in walker {
            let path = "\(root)/\(relative)"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            files.append(File(path: path, contents: String(decoding: data, as: UTF8.self)))
        }
        return files
    }
}

/// An agent with `--jwk-url` runs only tasks whose user token verifies; tokens
/// are signed by an independent implementation (Python `cryptography`).
@Suite("User-token enforcement (processes)", .serialized)
struct UserTokenEnforcementTests {
    @Test("valid RS256 and ES256 tokens run and record the subject; every bad token is rejected with its reason and never stored")
    func enforcement() async throws {
        let fixtures = try await JWTFixtures.current()
        let keys = FakeJWKSServer(jwks: fixtures.jwks)
        try await keys.run { url in
            let cluster = try await Cluster()
            defer { cluster.terminate() }
            try await cluster.startAgent(
                name: "guarded-agent-1", arguments: ["--kill-grace", "2s", "--jwk-url", url],
                environment: ChildProcess.baseEnvironment([
                    "OUTPOST_AGENT_JWT_ISSUER": fixtures.issuer, "OUTPOST_AGENT_JWT_AUDIENCE": fixtures.audience,
                ]))
            _ = try await cluster.client.createTarget(Target(name: "guarded", integration: "bash"))
            let marker = cluster.directory.file("ran")

            let cases: [(token: String?, expected: TaskStatus, reason: String)] = [
                ("valid RS256", .succeeded, ""),
                ("valid ES256", .succeeded, ""),
                ("expired", .rejected, "user token expired at"),
                ("not yet valid", .rejected, "not valid before"),
                ("unknown kid", .rejected, "key id \"k9\" is not in the key set"),
                ("no kid", .rejected, "no key id"),
                ("alg none", .rejected, "only RS256 and ES256"),
                ("HS256 with the RSA public key", .rejected, "only RS256 and ES256"),
                ("wrong aud", .rejected, "does not include \"\(fixtures.audience)\""),
                ("tampered payload", .rejected, "signature does not verify"),
                (nil, .rejected, "carries no user token"),
            ]
            var tokens: [String] = []
            for entry in cases {
                let token = try entry.token.map { try fixtures.token($0) }
                if let token { tokens.append(token) }
                let name = entry.token ?? "no token"
                let submitted = try await cluster.client.createTask(
                    CreateTaskRequest(target: "guarded", script: "echo ran >> \(marker)"), userToken: token)
                let done = try await cluster.waitForTask(submitted.id)
                #expect(done.status == entry.expected, "case \(name): \(done.error ?? "")")
                if entry.expected == .succeeded {
                    #expect(done.userSubject == fixtures.subject, "case \(name)")
                } else {
                    #expect(done.error?.hasPrefix("user token refused: ") == true, "case \(name): \(done.error ?? "")")
                    #expect(done.error?.contains(entry.reason) == true, "case \(name): \(done.error ?? "")")
                    #expect(done.userSubject == nil)
                }
            }
            // Only the two valid tokens ran anything.
            let ran = (try? String(contentsOfFile: marker, encoding: .utf8)) ?? ""
            #expect(ran.split(separator: "\n").count == 2)

            // No token, nor any of its three parts, in the hub's files or either process's output.
            let files = DataDirectory.files(under: cluster.directory.file("hub"))
                + DataDirectory.files(under: cluster.directory.file("agent-guarded-agent-1"))
            let outputs = [cluster.hub.process.stderr, cluster.hub.process.stdout]
                + cluster.agents.flatMap { [$0.process.stderr, $0.process.stdout] }
            for token in tokens {
                let parts = token.split(separator: ".").map(String.init).filter { $0.count >= 16 }
                for file in files where parts.contains(where: file.contents.contains) {
                    Issue.record("a user token part was written to \(file.path)")
                }
                let logged = outputs.contains { text in parts.contains(where: text.contains) }
                #expect(!logged, "a user token part was logged")
            }
        }
    }
}
