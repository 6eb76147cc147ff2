import Foundation
import NIOCore
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// The agent's persistent channel (one WebSocket per agent) between real processes:
/// what it must survive, and the long poll where it is refused.
@Suite("The agent channel", .serialized)
struct AgentChannelTests {
    @Test("a channel lost mid-log resumes at the acknowledged offset: no byte twice, none missing")
    func channelLossMidLog() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let relay = try TCPRelay(upstreamPort: try port(of: cluster.hub.url))
        let agent = try await cluster.startAgent(name: "lossy-agent", hubURLs: [relay.url])
        #expect(await openedChannel(agent))
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))

        // Output keeps flowing while the channel is cut under it, twice.
        let script = "for i in $(seq 1 40); do seq $((i*1000)) $((i*1000+999)); sleep 0.05; done"
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: script))
        #expect(await eventually(timeout: .seconds(30)) { (try? await cluster.client.task(id: task.id).logBytes) ?? 0 > 50_000 })
        relay.dropConnections()
        try await Task.sleep(for: .milliseconds(400))
        relay.dropConnections()

        let done = try await cluster.waitForTask(task.id, timeout: .seconds(60))
        #expect(done.status == .succeeded, "\(done.status): \(done.error ?? "")")
        let expected = (1...40).flatMap { i in (i * 1000)...(i * 1000 + 999) }.map { "\($0)\n" }.joined()
        let log = try await wholeLog(cluster.client, task.id)
        #expect(log.count == expected.utf8.count, "log of \(log.count) bytes, expected \(expected.utf8.count)")
        #expect(String(decoding: log, as: UTF8.self) == expected, "the log differs from the output: a gap or a duplicate")
        // The agent found the channel gone and opened another: still one agent, never offline.
        let agents = try await cluster.client.listAgents().filter { $0.name == "lossy-agent" }
        #expect(agents.count == 1 && agents[0].status != .offline, "\(agents)")
    }

    @Test("a hub killed and restarted under an open channel: the agent reconnects and the task's log is whole")
    func hubRestartWithChannelOpen() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "10s")
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "steady-agent")
        #expect(await openedChannel(agent))
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "seq 1 5000; sleep 3; seq 5001 10000"))
        #expect(await eventually(timeout: .seconds(30)) { (try? await cluster.client.task(id: task.id).logBytes) ?? 0 > 0 })

        try await cluster.hub.killAndRestart()

        let done = try await cluster.waitForTask(task.id, timeout: .seconds(60))
        #expect(done.status == .succeeded, "\(done.status): \(done.error ?? "")")
        let log = try await wholeLog(cluster.client, task.id)
        #expect(String(decoding: log, as: UTF8.self) == (1...10000).map { "\($0)\n" }.joined())
        // New work reaches the agent over its new channel.
        let next = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: "echo again"))
        #expect(try await cluster.waitForTask(next.id).status == .succeeded)
    }

    @Test("a proxy that refuses the upgrade: the agent says so once and works by long poll")
    func proxyRefusingUpgrades() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let proxy = try TCPRelay(upstreamPort: try port(of: cluster.hub.url), refusingUpgrades: true)
        let agent = try await cluster.startAgent(name: "proxied-agent", hubURLs: [proxy.url])
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        for i in 1...5 {
            let task = try await cluster.client.createTask(CreateTaskRequest(target: "t", script: "echo run \(i)"))
            let done = try await cluster.waitForTask(task.id)
            #expect(done.status == .succeeded)
            #expect(String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self) == "run \(i)\n")
        }
        #expect(proxy.refusedUpgrades >= 1)
        let stderr = agent.process.stderr
        let notices = stderr.components(separatedBy: "refused the agent channel; using the long poll").count - 1
        #expect(notices == 1, "the fallback was logged \(notices) times:\n\(stderr)")
        #expect(stderr.contains("HTTP 403"), "the notice should say what the proxy answered:\n\(stderr)")
        #expect(!stderr.contains("opened the agent channel"))
    }

    @Test("an upgrade offering another channel version is refused with both versions named")
    func versionMismatch() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let response = try await rawUpgrade(
            hubURL: cluster.hub.url, token: cluster.registrationToken, protocols: "outpost-agent.v99")
        // A registration token is refused before the version is looked at: 401.
        #expect(response.hasPrefix("HTTP/1.1 401"), "\(response)")

        let registered = try await HubClient(baseURL: cluster.hub.url, token: cluster.registrationToken)
            .register(RegisterRequest(name: "raw-agent-1", tags: .empty, version: "test", os: "test", concurrency: 1))
        let refused = try await rawUpgrade(
            hubURL: cluster.hub.url, token: registered.agentToken, protocols: "outpost-agent.v99")
        #expect(refused.hasPrefix("HTTP/1.1 426"), "\(refused)")
        #expect(refused.contains("channel_unsupported"), "\(refused)")
        #expect(refused.contains("version 99") && refused.contains("outpost-agent.v1"), "both versions named: \(refused)")

        let accepted = try await rawUpgrade(
            hubURL: cluster.hub.url, token: registered.agentToken, protocols: "outpost-agent.v99, outpost-agent.v1")
        #expect(accepted.hasPrefix("HTTP/1.1 101"), "\(accepted)")
        #expect(accepted.lowercased().contains("sec-websocket-protocol: outpost-agent.v1"), "\(accepted)")
    }

    @Test("a poll cancelled right behind it is answered at once, not at its deadline (the cancel is never read first)")
    func cancelRightBehindPoll() async throws {
        // A heartbeat timeout of 60 s lets the hub hold a poll for its full 25 s.
        let cluster = try await Cluster(heartbeatTimeout: "60s")
        defer { cluster.terminate() }
        let registered = try await HubClient(baseURL: cluster.hub.url, token: cluster.registrationToken)
            .register(RegisterRequest(name: "raw-agent-2", tags: .empty, version: "test", os: "test", concurrency: 1))
        let client = HubClient(baseURL: cluster.hub.url, token: registered.agentToken)
        let channel: HubChannel
        do {
            channel = try await HubChannel.open(client: client)
        } catch {
            Issue.record("the channel did not open: \(error)")
            return
        }
        defer { channel.close() }
        // The hub holds a poll with no free slot for 25 s unless it is cancelled.
        for round in 1...20 {
            let started = ContinuousClock.now
            let poll = Task {
                var call = ChannelCall(id: 0, op: .poll)
                call.poll = PollRequest(running: [], freeSlots: 0)
                return try await channel.send(call, timeout: .seconds(60), cancelOnTaskCancellation: true)
            }
            poll.cancel()
            let reply = try await poll.value
            #expect(reply.error == nil, "round \(round): \(String(describing: reply.error))")
            let waited = ContinuousClock.now - started
            #expect(waited < .seconds(5), "round \(round): the cancelled poll was answered after \(waited)")
        }
    }

    @Test("1,000 tasks raced over 4 agents on their channels each run exactly once")
    func thousandTasksExactlyOnce() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        for i in 1...4 { try await cluster.startAgent(name: "channel-racer-\(i)", concurrency: 2) }
        _ = try await cluster.client.createTarget(Target(name: "race", integration: "sh"))
        let client = cluster.client
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    for _ in 0..<125 {
                        ids.append(try await client.createTask(CreateTaskRequest(target: "race", script: "echo \"$OUTPOST_TASK_ID\"")).id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == 1000)
        var perAgent: [String: Int] = [:]
        for id in ids {
            let task = try await cluster.waitForTask(id, timeout: .seconds(300))
            #expect(task.status == .succeeded, "task \(id) ended \(task.status): \(task.error ?? "")")
            perAgent[task.agent ?? "none", default: 0] += 1
            let log = try await client.readLog(taskID: id)
            #expect(String(decoding: log.bytes, as: UTF8.self) == id + "\n", "task \(id) ran other than exactly once")
        }
        #expect(perAgent.values.reduce(0, +) == 1000)
        #expect(perAgent.count == 4, "every agent took work: \(perAgent)")
    }

    @Test("a hub that stops reading never makes the agent drop log bytes or grow without bound")
    func backPressure() async throws {
        let cluster = try await Cluster(heartbeatTimeout: "30s")
        defer { cluster.terminate() }
        let agent = try await cluster.startAgent(name: "pressed-agent")
        #expect(await openedChannel(agent))
        _ = try await cluster.client.createTarget(Target(name: "t", integration: "bash"))
        // 48 MiB of output, as fast as head can write it.
        let size = 48 << 20
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "t", script: "head -c \(size) /dev/zero | tr '\\0' 'x'", timeoutSeconds: 300))
        #expect(await eventually(timeout: .seconds(30)) { (try? await cluster.client.task(id: task.id).logBytes) ?? 0 > 0 })
        let baseline = residentKiB(agent.process.pid)
        cluster.hub.process.signal(SIGSTOP)
        // The hub reads nothing for 4 s while the task writes its whole output.
        try await Task.sleep(for: .seconds(4))
        let whilePaused = residentKiB(agent.process.pid)
        cluster.hub.process.signal(SIGCONT)

        let done = try await cluster.waitForTask(task.id, timeout: .seconds(120))
        #expect(done.status == .succeeded, "\(done.status): \(done.error ?? "")")
        let log = try await wholeLog(cluster.client, task.id)
        #expect(log.count == size, "the hub holds \(log.count) of \(size) bytes")
        #expect(log.allSatisfy { $0 == UInt8(ascii: "x") })
        // Spooled to disk, not held in memory: the agent grew by far less than the output.
        let grown = (whilePaused ?? 0) - (baseline ?? 0)
        #expect(grown < 24 << 10, "the agent grew by \(grown) KiB while the hub was stopped (output: \(size >> 10) KiB)")
    }
}

/// Whether the agent logged that it opened its channel (logs go to stderr).
private func openedChannel(_ agent: AgentHarness) async -> Bool {
    await eventually(timeout: .seconds(30)) { agent.process.stderr.contains("opened the agent channel") }
}

/// The whole stored log of a task, page by page.
private func wholeLog(_ client: HubClient, _ id: String) async throws -> [UInt8] {
    var bytes: [UInt8] = []
    while true {
        let page = try await client.readLog(taskID: id, offset: Int64(bytes.count))
        if page.bytes.isEmpty { return bytes }
        bytes += page.bytes
    }
}

private func port(of url: String) throws -> Int {
    guard let port = url.split(separator: ":").last.flatMap({ Int($0) }) else { throw HarnessError("no port in \(url)") }
    return port
}

/// The resident set of a process in KiB (`VmRSS`), or `nil`.
private func residentKiB(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}

/// Sends a WebSocket upgrade for the agent channel and returns the hub's whole answer head (and body, if any).
private func rawUpgrade(hubURL: String, token: String, protocols: String) async throws -> String {
    let socket = try await RawSocket.open(port: try port(of: hubURL))
    let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    _ = socket.send(
        "GET /api/v1/agent/channel HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: \(protocols)\r\n\r\n")
    return await socket.response(timeout: .seconds(5)) ?? "no answer"
}
