import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport

/// A hub plus agents, all real `outpost` processes on loopback, torn down by `terminate()`.
final class Cluster: @unchecked Sendable {
    let directory: TemporaryDirectory
    let hub: HubHarness
    let registrationToken: String
    private(set) var agents: [AgentHarness] = []

    init(heartbeatTimeout: String = "3s", hubArguments: [String] = []) async throws {
        directory = try TemporaryDirectory(prefix: "outpost-e2e")
        hub = try await HubHarness(
            dataDirectory: directory.file("hub"),
            arguments: ["--heartbeat-timeout", heartbeatTimeout] + hubArguments)
        registrationToken = try await hub.client.createAgentType(named: "default", allowedTags: ["*"]).registrationToken
    }

    var client: HubClient { hub.client }

    /// Starts an agent and waits until the hub sees it online.
    /// - Parameter hubURLs: the agent's `--hub` flags, in order. Default: this hub's URL.
    @discardableResult
    func startAgent(
        name: String, tags: String? = nil, concurrency: Int = 1, workDirectory: String? = nil, hubURLs: [String]? = nil,
        arguments: [String] = ["--kill-grace", "2s"], environment: [String: String] = ChildProcess.baseEnvironment()
    ) async throws -> AgentHarness {
        let urls = hubURLs ?? [hub.url]
        let agent = try AgentHarness(
            hub: urls[0], registrationToken: registrationToken, name: name,
            workDirectory: workDirectory ?? directory.file("agent-\(name)"), tags: tags, concurrency: concurrency,
            arguments: urls.dropFirst().flatMap { ["--hub", $0] } + arguments, environment: environment)
        agents.append(agent)
        try await agent.waitUntilOnline(client)
        return agent
    }

    /// Runs an `outpost` client command against this hub with the admin token.
    func cli(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(120)) async throws -> (
        code: Int32?, stdout: String, stderr: String
    ) {
        let process = try ChildProcess(
            arguments,
            environment: ChildProcess.baseEnvironment([
                "OUTPOST_HUB": hub.url, "OUTPOST_TOKEN": hub.adminToken,
                // `task run --sign-key` records the targets it signed for: here, not in the user's home.
                "OUTPOST_KNOWN_TARGETS": directory.file("known_targets.json"),
            ]))
        if let stdin { process.send(stdin: stdin) } else { process.closeStdin() }
        let code = await process.waitForExit(timeout: timeout)
        if code == nil { await process.kill9() }
        return (code, process.stdout, process.stderr)
    }

    /// Waits until the task is terminal and returns it.
    func waitForTask(_ id: String, timeout: Duration = .seconds(60)) async throws -> TaskRecord {
        var task = try await client.task(id: id)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !task.status.isTerminal, clock.now < deadline {
            task = try await client.task(id: id, waitSeconds: 5)
        }
        return task
    }

    /// Kills every process of the cluster and removes its files. Synchronous so
    /// that a `defer` can call it on every path out of a test.
    func terminate() {
        for agent in agents { agent.process.signal(SIGKILL) }
        hub.process.signal(SIGKILL)
        directory.remove()
    }
}

/// `true` while a process with this pid exists (and is not a zombie).
func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    // A zombie still answers kill(0); /proc tells it apart.
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}
