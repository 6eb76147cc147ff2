import Foundation
import NIOCore
import OutpostClient
import OutpostCore
import Synchronization

/// An agent inside the bench process: it speaks the real agent protocol
/// (register, long poll, start, one log chunk, finish) over real sockets, by HTTP or
/// over the agent channel (`useChannel()`), but spawns nothing, so what is measured
/// is the hub.
struct SimulatedAgent: Sendable {
    let name: String
    let client: HubClient
    /// The agent's channel, when it talks over one.
    var channel: HubChannel?

    /// This agent, talking over its own agent channel from now on.
    func useChannel() async throws -> SimulatedAgent {
        var copy = self
        do {
            copy.channel = try await HubChannel.open(client: client)
        } catch {
            throw BenchError("\(name): cannot open the agent channel: \(error)")
        }
        return copy
    }

    /// The log every simulated task "prints".
    static let logLine = Array("simulated task output\n".utf8)

    static func register(hub: BenchHub, registrationToken: String, name: String, tags: TagSet = .empty) async throws -> SimulatedAgent {
        let client = HubClient(baseURL: hub.url, token: registrationToken, http: BenchHTTP.client, requestTimeout: .seconds(120))
        let response = try await client.register(RegisterRequest(
            name: name, tags: tags, version: "bench", os: "linux", concurrency: 1))
        return SimulatedAgent(name: response.name, client: client.withToken(response.agentToken))
    }

    /// Registers `count` agents, `parallel` registrations at a time.
    static func registerMany(
        hub: BenchHub, registrationToken: String, count: Int, parallel: Int = 32,
        name: @escaping @Sendable (Int) -> String, tags: @escaping @Sendable (Int) -> TagSet = { _ in .empty }
    ) async throws -> [SimulatedAgent] {
        try await withThrowingTaskGroup(of: [(Int, SimulatedAgent)].self) { group in
            for worker in 0 ..< parallel {
                group.addTask {
                    var agents: [(Int, SimulatedAgent)] = []
                    for index in stride(from: worker, to: count, by: parallel) {
                        agents.append((index, try await register(
                            hub: hub, registrationToken: registrationToken, name: name(index), tags: tags(index))))
                    }
                    return agents
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Polls and completes every task it gets until the surrounding task is
    /// cancelled. `received` is called for each assignment as it arrives.
    func work(received: @Sendable (TaskAssignment) -> Void = { _ in }, finished: @Sendable () -> Void = {}) async throws {
        while !Task.isCancelled {
            let answer: PollResponse
            do {
                answer = try await poll()
            } catch {
                if Task.isCancelled { return }
                throw BenchError("\(name): poll failed: \(error)")
            }
            for assignment in answer.assignments {
                received(assignment)
                do {
                    try await complete(assignment.taskID)
                } catch {
                    if Task.isCancelled { return }
                    throw BenchError("\(name): task \(assignment.taskID) failed: \(error)")
                }
                finished()
            }
        }
    }

    // MARK: The calls, over the channel or by HTTP

    /// One poll offering one free slot.
    private func poll() async throws -> PollResponse {
        let request = PollRequest(running: [], freeSlots: 1)
        guard let channel else { return try await client.poll(request, timeout: .seconds(90)) }
        var call = ChannelCall(id: 0, op: .poll)
        call.poll = request
        return try await Self.send(call, on: channel, timeout: .seconds(90)).poll ?? PollResponse()
    }

    /// Start, one log chunk, finish.
    private func complete(_ taskID: String) async throws {
        let finish = FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: Int64(Self.logLine.count))
        guard let channel else {
            _ = try await client.startTask(id: taskID)
            _ = try await client.appendLog(taskID: taskID, offset: 0, bytes: Self.logLine)
            _ = try await client.finishTask(id: taskID, finish)
            return
        }
        var start = ChannelCall(id: 0, op: .start)
        start.taskID = taskID
        _ = try await Self.send(start, on: channel)
        var log = ChannelCall(id: 0, op: .log)
        log.taskID = taskID
        log.offset = 0
        _ = try await Self.send(log, chunk: Self.logLine, on: channel)
        var end = ChannelCall(id: 0, op: .finish)
        end.taskID = taskID
        end.finish = finish
        _ = try await Self.send(end, on: channel)
    }

    /// A channel call; a failed one throws the error HTTP would have.
    private static func send(
        _ call: ChannelCall, chunk: [UInt8]? = nil, on channel: HubChannel, timeout: TimeAmount = .seconds(120)
    ) async throws -> ChannelReply {
        let reply = try await channel.send(call, chunk: chunk, timeout: timeout)
        if let fault = reply.error { throw HubChannel.error(of: fault) }
        return reply
    }
}

/// Counts finished tasks, and notes when the count reached a target.
final class CompletionCounter: Sendable {
    private struct State {
        var count = 0
        var reachedTargetAt: ContinuousClock.Instant?
    }

    private let target: Int
    private let state = Mutex(State())

    init(target: Int) { self.target = target }

    func increment() {
        state.withLock { state in
            state.count += 1
            if state.count == target { state.reachedTargetAt = .now }
        }
    }

    var count: Int { state.withLock { $0.count } }

    /// Waits (checking every 10 ms, so it never hangs) until the target is
    /// reached, and returns the exact instant it was.
    func waitForTarget(timeout: Duration, _ what: String) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let reached = state.withLock({ $0.reachedTargetAt }) { return reached }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchError("\(what): only \(count) of \(target) tasks finished within \(timeout)")
    }
}

/// When each task reached its agent, for tasks someone is timing.
final class ArrivalBoard: Sendable {
    private let arrived = Mutex([String: ContinuousClock.Instant]())

    func record(_ taskID: String) {
        let now = ContinuousClock.now
        arrived.withLock { $0[taskID] = now }
    }

    /// The instant the task reached its agent; checks every 0.2 ms (the
    /// instant itself is taken by the agent, so the checking adds no error).
    func arrival(of taskID: String, timeout: Duration = .seconds(60)) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let instant = arrived.withLock({ $0.removeValue(forKey: taskID) }) { return instant }
            try await Task.sleep(for: .microseconds(200))
        }
        throw BenchError("task \(taskID) reached no agent within \(timeout)")
    }
}
