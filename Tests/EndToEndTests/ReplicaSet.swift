import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs when the test command's PostgreSQL server is up, and always on a full run (where it must be).
    static var postgresAvailable: Self {
        .enabled("no PostgreSQL server (OUTPOST_POSTGRES_*): run scripts/test") {
            TestPostgres.isAvailable || TestPostgres.isRequired
        }
    }
}

/// Several real `outpost server` replicas on one fresh PostgreSQL database, with
/// agents, all real processes on loopback, torn down by `terminate()`.
final class ReplicaSet: @unchecked Sendable {
    let directory: TemporaryDirectory
    let database: String
    let databaseURL: String
    private(set) var replicas: [HubHarness] = []
    let registrationToken: String
    private(set) var agents: [AgentHarness] = []
    private let hubArguments: [String]
    private let environment: [String: String]

    /// Starts `count` replicas one after the other (the first makes the admin token).
    init(
        count: Int, heartbeatTimeout: String = "4s", hubArguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws {
        directory = try TemporaryDirectory(prefix: "outpost-replicas")
        database = try await TestPostgres.createDatabase(prefix: "outpost_e2e")
        guard let url = TestPostgres.url(database: database) else { throw TestPostgres.Unavailable() }
        databaseURL = url
        self.hubArguments = ["--heartbeat-timeout", heartbeatTimeout, "--database", url] + hubArguments
        self.environment = ChildProcess.baseEnvironment(environment)
        var replicas: [HubHarness] = []
        for index in 0..<count {
            replicas.append(
                try await HubHarness(
                    dataDirectory: directory.file("replica-\(index)"), arguments: self.hubArguments,
                    environment: self.environment, adminToken: replicas.first?.adminToken))
        }
        self.replicas = replicas
        registrationToken = try await replicas[0].client.createAgentType(named: "default", allowedTags: ["*"])
            .registrationToken
    }

    /// The admin client of replica `index`.
    func client(_ index: Int) -> HubClient { replicas[index].client }

    /// Starts an agent talking to the given replicas (in that order of preference).
    @discardableResult
    func startAgent(
        name: String, replicas indexes: [Int], tags: String? = nil, concurrency: Int = 1,
        arguments: [String] = ["--kill-grace", "2s"], environment: [String: String] = [:]
    ) async throws -> AgentHarness {
        let hubs = indexes.map { replicas[$0].url }
        let extra = hubs.dropFirst().flatMap { ["--hub", $0] }
        let agent = try AgentHarness(
            hub: hubs[0], registrationToken: registrationToken, name: name,
            workDirectory: directory.file("agent-\(name)"), tags: tags, concurrency: concurrency,
            arguments: extra + arguments, environment: ChildProcess.baseEnvironment(environment))
        agents.append(agent)
        try await agent.waitUntilOnline(client(indexes[0]))
        return agent
    }

    /// Runs an `outpost` client command against replica `index` with the admin token.
    func cli(_ index: Int, _ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(120)) async throws
        -> (code: Int32?, stdout: String, stderr: String)
    {
        let process = try ChildProcess(
            arguments,
            environment: ChildProcess.baseEnvironment([
                "OUTPOST_HUB": replicas[index].url, "OUTPOST_TOKEN": replicas[index].adminToken,
            ]))
        if let stdin { process.send(stdin: stdin) } else { process.closeStdin() }
        let code = await process.waitForExit(timeout: timeout)
        if code == nil { await process.kill9() }
        return (code, process.stdout, process.stderr)
    }

    /// Waits until the task is terminal (asking replica `index`) and returns it.
    func waitForTask(_ id: String, on index: Int = 0, timeout: Duration = .seconds(60)) async throws -> TaskRecord {
        let client = client(index)
        var task = try await client.task(id: id)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !task.status.isTerminal, clock.now < deadline {
            task = try await client.task(id: id, waitSeconds: 5)
        }
        return task
    }

    /// The replica whose log says it leads now, if one does.
    func leaderIndex() -> Int? {
        replicas.indices.last { index in
            let log = replicas[index].process.stderr
            guard let gained = log.range(of: "this replica is now the leader", options: .backwards) else { return false }
            let lost = log.range(of: "no longer the leader replica", options: .backwards)
            return replicas[index].process.isRunning && (lost == nil || lost!.lowerBound < gained.lowerBound)
        }
    }

    /// Kills every process, removes the files and drops the database in the
    /// background. Synchronous and never blocking (a `defer` calls it on every path
    /// out of a test; blocking a thread of the shared pool would stall every test).
    func terminate() {
        for agent in agents { agent.process.signal(SIGKILL) }
        for replica in replicas { replica.process.signal(SIGKILL) }
        directory.remove()
        let database = database
        Task.detached { await TestPostgres.dropDatabase(database) }
    }
}
