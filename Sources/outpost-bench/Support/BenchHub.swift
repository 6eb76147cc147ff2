import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostClient
import OutpostCore
import OutpostTransport

/// A real `outpost server` (release build) on a free loopback port, with its
/// own data directory, and the bench's admin client for it.
final class BenchHub: @unchecked Sendable {
    let process: BenchProcess
    let url: String
    let admin: HubClient
    /// The admin API token (`admin`'s), which further replicas of a shared database take.
    let adminToken: String
    let directory: ScratchDirectory
    let options: BenchOptions
    /// The CA file agents are given (`--hub-ca`) when the hub serves HTTPS.
    let caFile: String?
    private(set) var agents: [BenchProcess] = []

    /// Starts the hub and waits until it listens. `environment` adds `OUTPOST_SERVER_*` settings
    /// and `arguments` flags (`--database URL`); with `tls`, the hub serves HTTPS with a
    /// certificate from a CA made for the run. A further replica of a shared database is
    /// given the first one's `adminToken` (only the first writes the file).
    static func start(
        _ options: BenchOptions, in directory: ScratchDirectory, environment: [String: String] = [:], tls: Bool = false,
        arguments extra: [String] = [], adminToken: String? = nil
    ) async throws -> BenchHub {
        let data = try directory.subdirectory("hub-data")
        var arguments = ["server", "--listen", "127.0.0.1:0", "--data-dir", data] + extra
        var caFile: String?
        if tls {
            let files = try BenchCertificates.make(in: directory)
            caFile = files.ca
            arguments += ["--tls-cert", files.certificate, "--tls-key", files.key]
        }
        let process = try BenchProcess(
            options.outpostBinary, arguments, environment: childEnvironment(environment), outputPath: directory.file("hub.log"))
        let line = try await process.waitForLine(containing: "outpost hub listening on ")
        guard let range = line.range(of: "http") else { throw BenchError("cannot read the hub's address: \(line)") }
        let url = line[range.lowerBound...].split(separator: " ").first.map(String.init) ?? ""
        let token = try (adminToken ?? String(contentsOfFile: data + "/admin-token", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let trust = try caFile.map { try HubTrust(caFile: $0, pinSHA256: nil) } ?? .system
        let admin = HubClient(baseURL: url, token: token, trust: trust, http: BenchHTTP.client, requestTimeout: .seconds(120))
        return BenchHub(
            process: process, url: url, admin: admin, adminToken: token, directory: directory, options: options,
            caFile: caFile)
    }

    /// Runs `body` with a fresh hub in a fresh scratch directory, and stops
    /// the hub and its agents (and removes the directory) however `body` ends.
    static func with<T>(
        _ options: BenchOptions, scenario: String, environment: [String: String] = [:], tls: Bool = false,
        _ body: (BenchHub) async throws -> T
    ) async throws -> T {
        let directory = try ScratchDirectory(scenario)
        defer { directory.remove() }
        let hub = try await start(options, in: directory, environment: environment, tls: tls)
        do {
            let result = try await body(hub)
            await hub.stop()
            return result
        } catch {
            await hub.stop()
            log("\(scenario): hub output (last lines):\n" + hub.process.output().suffix(1500))
            throw error
        }
    }

    private init(
        process: BenchProcess, url: String, admin: HubClient, adminToken: String, directory: ScratchDirectory,
        options: BenchOptions, caFile: String?
    ) {
        self.process = process
        self.url = url
        self.admin = admin
        self.adminToken = adminToken
        self.directory = directory
        self.options = options
        self.caFile = caFile
    }

    /// The environment every `outpost` child gets: enough to run, plus `extra`.
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        let current = ProcessInfo.processInfo.environment
        var environment: [String: String] = ["OUTPOST_LOG_LEVEL": current["OUTPOST_BENCH_LOG_LEVEL"] ?? "info"]
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] { environment[key] = current[key] }
        // glibc malloc tuning passes through, for experiments.
        for (key, value) in current where key.hasPrefix("MALLOC_") { environment[key] = value }
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// Creates an agent type whose agents may carry any tag and returns its registration token.
    func registrationToken(forNewType name: String = "bench") async throws -> String {
        try await admin.createAgentType(named: name, allowedTags: ["*"]).registrationToken
    }

    /// Creates a `bash` target.
    func createTarget(_ name: String, tags: TagSet = .empty) async throws {
        _ = try await admin.createTarget(Target(name: name, integration: "bash", tags: tags))
    }

    /// Starts a real `outpost agent start` process; `waitUntilOnline` to know it registered.
    @discardableResult
    func startAgent(
        name: String, registrationToken: String, tags: TagSet = .empty, concurrency: Int = 1,
        environment: [String: String] = [:], arguments extra: [String] = []
    ) throws -> BenchProcess {
        let work = try directory.subdirectory("agent-\(name)")
        var arguments = [
            "agent", "start", "--hub", url, "--token", registrationToken, "--name", name, "--work-dir", work,
            "--concurrency", String(concurrency),
        ]
        if !tags.isEmpty { arguments += ["--tags", tags.description] }
        if let caFile { arguments += ["--hub-ca", caFile] }
        arguments += extra
        let agent = try BenchProcess(
            options.outpostBinary, arguments, environment: Self.childEnvironment(environment),
            outputPath: directory.file("agent-\(name).log"))
        agents.append(agent)
        return agent
    }

    /// Waits until the hub lists an online agent called `name`, and returns its record.
    @discardableResult
    func waitUntilOnline(_ name: String, timeout: Duration = .seconds(30)) async throws -> AgentRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let agent = try await admin.listAgents().first(where: { $0.name == name && $0.status != .offline }) {
                return agent
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw BenchError("agent \(name) did not come online")
    }

    /// Fetches `/metrics` whole: how long it took and how many bytes it had.
    func scrape() async throws -> (seconds: Double, bytes: Int) {
        let start = ContinuousClock.now
        let response = try await BenchHTTP.client.execute(HTTPClientRequest(url: url + "/metrics"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        return ((ContinuousClock.now - start).seconds, body.readableBytes)
    }

    /// One unlabelled figure from the hub's `/metrics` (Prometheus text).
    func metric(_ name: String) async throws -> Double? {
        let response = try await BenchHTTP.client.execute(HTTPClientRequest(url: url + "/metrics"), timeout: .seconds(30))
        // A fleet of distinct tag sets has tens of thousands of series (several MiB).
        let body = String(buffer: try await response.body.collect(upTo: 64 << 20))
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// Stops the real agents started so far (graceful: they deregister).
    func stopAgents() async {
        for agent in agents { await agent.stop() }
        agents = []
    }

    /// Submits a task and returns its record.
    func submit(_ target: String, script: String, timeoutSeconds: Int? = nil) async throws -> TaskRecord {
        try await admin.createTask(CreateTaskRequest(target: target, script: script, timeoutSeconds: timeoutSeconds))
    }

    /// Submits a task and follows it to its end in one request, as `outpost task run`
    /// does; the terminal task and its log.
    func run(_ target: String, script: String, includeLog: Bool = true) async throws -> (TaskRecord, [UInt8]) {
        var log: [UInt8] = []
        let end = try await admin.runTask(
            CreateTaskRequest(target: target, script: script), includeLog: includeLog) { log += $0 }
        switch end {
        case .finished(let task): return (task, log)
        case .interrupted(let task, _, let error): throw BenchError("the stream of task \(task.id) broke: \(error.message)")
        }
    }

    /// Submits `count` tasks from `parallel` callers at once; returns their ids.
    func submitMany(_ target: String, script: String, count: Int, parallel: Int = 16) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0 ..< parallel {
                group.addTask {
                    var ids: [String] = []
                    for _ in stride(from: worker, to: count, by: parallel) {
                        ids.append(try await self.submit(target, script: script).id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Waits until the task is terminal and returns it.
    func result(_ id: String, timeout: Duration = .seconds(600)) async throws -> TaskRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let task = try await admin.task(id: id, waitSeconds: 30)
            if task.status.isTerminal { return task }
        }
        throw BenchError("task \(id) did not finish within \(timeout)")
    }

    func stop() async {
        await stopAgents()
        await process.stop()
    }
}

/// The bench's one HTTP client: a connection pool big enough for ten thousand
/// simulated agents each holding a long poll.
enum BenchHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 20_000)
        configuration.timeout = .init(connect: .seconds(30))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
