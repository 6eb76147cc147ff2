import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing


/// `outpost server migrate-store` as an operator runs it: a SQLite hub stopped,
/// its database copied, a hub started on PostgreSQL with the same data.
@Suite("Moving a hub from SQLite to PostgreSQL")
struct MigrateStoreProcessTests {
    /// Prints one line of text, then bytes no text handling keeps, then enough to fill several log chunks.
    static let script = #"printf 'moving day\n'; printf '\000\001\177\200\376\377\n'; seq 1 20000; exit 3"#

    @Test("a task and its log, run on SQLite, read back the same from a hub on the copied PostgreSQL database",
        .postgresAvailable)
    func sqliteHubMovesToPostgres() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "moving-agent")
        _ = try await cluster.client.createTarget(Target(name: "plain", integration: "bash", env: ["WHERE": "sqlite"]))
        let submitted = try await cluster.client.createTask(CreateTaskRequest(target: "plain", script: Self.script))
        let before = try await cluster.waitForTask(submitted.id)
        #expect(before.status == .failed && before.exitCode == 3, "task ended \(before.status): \(before.error ?? "")")
        let log = try await Self.wholeLog(cluster.client, before.id)
        #expect(log.starts(with: Array("moving day\n".utf8) + [0, 1, 0x7F, 0x80, 0xFE, 0xFF, 0x0A]))

        // The operator stops the agent and the hub, then copies.
        agent.process.signal(SIGTERM)
        #expect(await agent.process.waitForExit(timeout: .seconds(30)) == 0)
        await cluster.hub.stop()
        let database = try await TestPostgres.createDatabase(prefix: "outpost_migrate")
        do {
            let url = try #require(TestPostgres.url(database: database))
            let password = try #require(ProcessInfo.processInfo.environment["OUTPOST_POSTGRES_PASSWORD"])
            let sqlite = cluster.hub.dataDirectory + "/outpost.sqlite"

            let copy = try await Self.outpost(["server", "migrate-store", "--from", sqlite, "--to", url])
            #expect(copy.code == 0, "stderr: \(copy.stderr)")
            #expect(copy.stdout.contains("tasks            1 row"), "\(copy.stdout)")
            #expect(copy.stdout.contains("task_log_chunks"))
            #expect(copy.stdout.contains("copied "))
            #expect(!(copy.stdout + copy.stderr).contains(password), "the password is never printed")

            // A second copy into the now filled database is refused, naming what is there.
            let again = try await Self.outpost(["server", "migrate-store", "--from", sqlite, "--to", url])
            #expect(again.code == 2)
            #expect(again.stderr.contains("tasks (1 row)"), "\(again.stderr)")

            // The same data directory and the copied database: the admin token the first hub
            // wrote to admin-token is accepted, its hash having moved with the rest.
            let hub = try await HubHarness(
                dataDirectory: cluster.hub.dataDirectory, arguments: ["--heartbeat-timeout", "3s", "--database", url])
            defer { hub.process.signal(SIGKILL) }
            #expect(try await hub.client.task(id: before.id) == before)
            #expect(try await Self.wholeLog(hub.client, before.id) == log)
            #expect(try await hub.client.target(named: "plain").env == ["WHERE": "sqlite"])
            let environment = ChildProcess.baseEnvironment(["OUTPOST_HUB": hub.url, "OUTPOST_TOKEN": hub.adminToken])
            let shown = try await Self.outpost(["task", "logs", before.id], environment: environment)
            #expect(shown.code == 0, "stderr: \(shown.stderr)")
            #expect(Array(shown.stdoutData) == log)

            // The agent type's registration token was copied as its hash: the agent comes back and works.
            let back = try AgentHarness(
                hub: hub.url, registrationToken: cluster.registrationToken, name: "moving-agent",
                workDirectory: cluster.directory.file("agent-moving-agent"))
            defer { back.process.signal(SIGKILL) }
            try await back.waitUntilOnline(hub.client)
            let run = try await Self.outpost(
                ["task", "run", "plain", "--script", "echo on postgres: $WHERE"], environment: environment)
            #expect(run.code == 0, "stderr: \(run.stderr)")
            #expect(run.stdout == "on postgres: sqlite\n")
            await hub.stop()
        } catch {
            await TestPostgres.dropDatabase(database)
            throw error
        }
        await TestPostgres.dropDatabase(database)
    }

    @Test(
        "a wrong source, URL or server ends with exit 2 and a message naming it, never the password",
        arguments: [
            (["--from", "/nonexistent/outpost.sqlite"], "/nonexistent/outpost.sqlite: no such file"),
            (["--to", "mysql://outpost:sekrit-pw@db/outpost"], "is not a postgres:// URL"),
            (
                ["--to", "postgres://outpost:sekrit-pw@127.0.0.1:{port}/outpost?sslmode=disable"],
                "cannot connect to postgres://outpost@127.0.0.1:"
            ),
        ])
    func wrongInputs(arguments: [String], expected: String) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-migrate")
        defer { directory.remove() }
        let refusing = try RefusingPort()
        // A real hub database as the source, so only the input under test is wrong.
        let hub = try await HubHarness(dataDirectory: directory.file("hub"))
        await hub.stop()
        var flags = [
            "--from": directory.file("hub/outpost.sqlite"),
            "--to": "postgres://outpost:sekrit-pw@127.0.0.1:\(refusing.port)/outpost?sslmode=disable",
        ]
        flags[arguments[0]] = arguments[1].replacingOccurrences(of: "{port}", with: "\(refusing.port)")
        let result = try await Self.outpost(
            ["server", "migrate-store", "--from", flags["--from"]!, "--to", flags["--to"]!])
        #expect(result.code == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("sekrit-pw"))
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/outpost.sqlite"))
    }

    private static func outpost(
        _ arguments: [String], environment: [String: String] = ChildProcess.baseEnvironment()
    ) async throws -> (code: Int32?, stdout: String, stdoutData: Data, stderr: String) {
        let process = try ChildProcess(arguments, environment: environment)
        process.closeStdin()
        let code = await process.waitForExit(timeout: .seconds(120))
        if code == nil { await process.kill9() }
        return (code, process.stdout, process.stdoutData, process.stderr)
    }

    /// The stored log from the start, page by page.
    private static func wholeLog(_ client: HubClient, _ id: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let page = try await client.readLog(taskID: id, offset: Int64(bytes.count))
            if page.bytes.isEmpty { return bytes }
            bytes += page.bytes
        }
    }
}
