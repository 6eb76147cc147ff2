import Foundation
import Logging
import OutpostCore
import OutpostHub
import ServiceLifecycle

/// Fuzzes the hub through its real listener: the input picks a route and a token and
/// supplies the query string and body (or, for one route index, the raw request bytes).
///
/// Input layout: byte 0 picks the route, byte 1 the token, then the query string up to
/// the first 0x00 byte, then the body. Every 256 inputs, or when the agent token stops
/// working (a fuzzed deregister or drain), the harness registers a fresh agent that holds
/// a fresh task, so the task routes keep reaching a task the agent owns.
final class HTTPHarness: @unchecked Sendable {
    private struct Route {
        var method: String
        /// `{task}` is replaced by the current task's id or, by the token byte, a foreign id.
        var path: String
        var token: TokenChoice
        var contentType: String? = "application/json"
    }

    private enum TokenChoice { case admin, registration, agent, none }

    private static let routes: [Route] = [
        Route(method: "POST", path: "/api/v1/agent/tasks/{task}/log", token: .agent, contentType: "application/octet-stream"),
        Route(method: "POST", path: "/api/v1/agent/tasks/{task}/finish", token: .agent),
        Route(method: "POST", path: "/api/v1/agent/tasks/{task}/start", token: .agent),
        Route(method: "POST", path: "/api/v1/agent/poll", token: .agent),
        Route(method: "POST", path: "/api/v1/agent/register", token: .registration),
        Route(method: "POST", path: "/api/v1/agent/secret-listings/{task}", token: .agent),
        Route(method: "POST", path: "/api/v1/agent/deregister", token: .agent),
        Route(method: "POST", path: "/api/v1/tasks", token: .admin),
        Route(method: "GET", path: "/api/v1/tasks", token: .admin, contentType: nil),
        Route(method: "GET", path: "/api/v1/tasks/{task}", token: .admin, contentType: nil),
        Route(method: "GET", path: "/api/v1/tasks/{task}/log", token: .admin, contentType: nil),
        Route(method: "POST", path: "/api/v1/tasks/{task}/cancel", token: .admin),
        Route(method: "POST", path: "/api/v1/targets", token: .admin),
        Route(method: "GET", path: "/api/v1/agents", token: .admin, contentType: nil),
        Route(method: "GET", path: "/api/v1/agents/{agent}/secrets", token: .admin, contentType: nil),
        Route(method: "POST", path: "/api/v1/agent-types", token: .admin),
        Route(method: "GET", path: "/metrics", token: .none, contentType: nil),
    ]

    private let http: LoopbackHTTP
    /// For the harness's own calls, which must succeed: a fuzzed request the harness
    /// gave up on after 2 s may still keep a loaded hub busy, so these wait longer, and
    /// still less than libFuzzer's 20 s per input, which reports a hub that hangs.
    private let setupHTTP: LoopbackHTTP
    private let adminToken: String
    private let registrationToken: String
    private var agentToken = ""
    private var agentName = ""
    private var taskID = "tsk_none"
    private var inputs = 0
    private var refreshes = 0
    /// The last inputs and what the hub answered, printed when a set-up call fails.
    private var recent: [String] = []

    private func remember(_ request: String, _ answer: LoopbackHTTP.Answer?) {
        let outcome = answer.map { $0.status.map { "HTTP \($0)" } ?? "no HTTP answer" } ?? "no connection"
        recent.append("\(request) -> \(outcome)")
        if recent.count > 40 { recent.removeFirst() }
    }
    private static let runID = UInt64.random(in: 0...UInt64.max).description

    private init(port: Int, adminToken: String, registrationToken: String) {
        http = LoopbackHTTP(port: port)
        setupHTTP = LoopbackHTTP(port: port, readTimeoutSeconds: 15)
        self.adminToken = adminToken
        self.registrationToken = registrationToken
    }

    /// Starts a hub on a fresh data directory and a free loopback port, blocking until
    /// it listens and its fixtures (a target, an agent holding a task) exist.
    static func start() -> HTTPHarness {
        let box = ResultBox()
        Task.detached {
            do {
                box.set(.success(try await launchHub()))
            } catch {
                box.set(.failure(error))
            }
        }
        switch box.wait() {
        case .success(let harness):
            harness.refreshAgent()
            return harness
        case .failure(let error):
            FileHandle.standardError.write(Data("outpost-fuzz: the hub did not start: \(error)\n".utf8))
            exit(1)
        }
    }

    private static func launchHub() async throws -> HTTPHarness {
        var logger = Logger(label: "outpost.fuzz")
        // OUTPOST_FUZZ_LOG_LEVEL=debug shows what the hub did (to stderr); quiet by default.
        logger.logLevel = ProcessInfo.processInfo.environment["OUTPOST_FUZZ_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        var configuration = HubConfiguration()
        configuration.port = 0
        configuration.dataDirectory = NSTemporaryDirectory() + "outpost-fuzz-\(getpid())"
        // Nothing a fuzzed request starts may wait long: polls, relays and sweeps are short.
        configuration.pollTimeout = .milliseconds(100)
        configuration.relayTimeout = .milliseconds(100)
        configuration.maxLogBytes = 1024 * 1024
        let runtime = try await HubRuntime.start(configuration: configuration, logger: logger)
        let group = ServiceGroup(services: runtime.services, logger: logger)
        Task.detached { try? await group.run() }
        guard let address = await runtime.listeningAddress(), let admin = runtime.firstStartAdminToken else {
            throw FuzzSetupError("the hub stopped before it listened")
        }
        let registration = try await runtime.ensureAgentType(named: "fuzz")
        let harness = HTTPHarness(port: address.port, adminToken: admin, registrationToken: registration)
        let target = Target(name: "fuzz", integration: "bash")
        _ = try harness.call("POST", "/api/v1/targets", token: admin, body: WireJSON.encoder().encode(target))
        return harness
    }

    func run(_ input: [UInt8]) {
        inputs += 1
        if inputs % 256 == 0 { refreshAgent() }
        guard input.count >= 2 else { return }
        let routeIndex = Int(input[0])
        let rest = Array(input[2...])
        if routeIndex % (Self.routes.count + 1) == Self.routes.count {
            // Raw bytes as the whole request: the HTTP parser itself.
            let answer = http.exchange(rest, halfClose: true)
            remember("raw \(rest.count) bytes", answer)
            return
        }
        let route = Self.routes[routeIndex % (Self.routes.count + 1)]
        let tokenByte = input[1]
        let token: String? =
            switch tokenByte % 5 {
            case 0, 1: token(for: route.token)
            case 2: adminToken
            case 3: agentToken
            default: nil
            }
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        let query = String(decoding: rest[..<split], as: UTF8.self)
        let body = split < rest.endIndex ? Array(rest[(split + 1)...]) : []
        var path = route.path
            .replacingOccurrences(of: "{task}", with: tokenByte & 0x80 == 0 ? taskID : "tsk_0000000000000000000000")
            .replacingOccurrences(of: "{agent}", with: agentName)
        if !query.isEmpty { path += "?" + query }
        let answer = http.exchange(
            LoopbackHTTP.request(method: route.method, target: path, token: token, contentType: route.contentType, body: body))
        remember("\(route.method) \(path.prefix(160)) (\(body.count) body bytes)", answer)
        // Only the agent's own token going stale calls for a new agent, not a request
        // that carried another token or none.
        if token == agentToken, answer?.status == 401 { refreshAgent() }
    }

    private func token(for choice: TokenChoice) -> String? {
        switch choice {
        case .admin: adminToken
        case .registration: registrationToken
        case .agent: agentToken
        case .none: nil
        }
    }

    /// Registers a fresh agent and gives it a fresh task.
    ///
    /// The agent's name and tag hold a random part the fuzzer cannot guess: fuzzed
    /// registrations create agents too, and the hub rightly refuses an agent whose tags a
    /// live agent with another provider layout already carries, or a taken name.
    private func refreshAgent() {
        refreshes += 1
        do {
            let unique = "fuzz-harness-\(Self.runID)-\(refreshes)"
            let register = RegisterRequest(
                name: unique, tags: TagSet([unique]), version: "fuzz", os: "linux", concurrency: 4)
            let registered = try WireJSON.decoder().decode(
                RegisterResponse.self,
                from: Data(try call("POST", "/api/v1/agent/register", token: registrationToken,
                    body: WireJSON.encoder().encode(register))))
            agentToken = registered.agentToken
            agentName = registered.name
            let task = try WireJSON.decoder().decode(
                TaskRecord.self,
                from: Data(try call("POST", "/api/v1/tasks", token: adminToken,
                    body: WireJSON.encoder().encode(CreateTaskRequest(target: "fuzz", script: "echo fuzz")))))
            taskID = task.id
            _ = try call("POST", "/api/v1/agent/poll", token: agentToken,
                body: WireJSON.encoder().encode(PollRequest(running: [], freeSlots: 4)))
        } catch {
            FileHandle.standardError.write(Data("outpost-fuzz: setting up an agent failed: \(error)\n".utf8))
            reportState()
            abort()
        }
    }

    /// What the hub did before a set-up call failed: the last inputs, and its gauges now.
    private func reportState() {
        var lines = ["outpost-fuzz: the last inputs, oldest first:"] + recent.map { "outpost-fuzz:   \($0)" }
        if let metrics = setupHTTP.exchange(LoopbackHTTP.request(method: "GET", target: "/metrics", token: adminToken, contentType: nil, body: [])) {
            let text = String(decoding: metrics.body, as: UTF8.self)
            lines += text.split(separator: "\n")
                .filter { !$0.hasPrefix("#") && ($0.contains("connections") || $0.contains("polls") || $0.hasPrefix("outpost_agents ") || $0.contains("queued_tasks ")) }
                .map { "outpost-fuzz: metrics: \($0)" }
        } else {
            lines.append("outpost-fuzz: /metrics did not answer either")
        }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// A set-up call that must succeed.
    @discardableResult
    private func call(_ method: String, _ path: String, token: String, body: Data) throws -> [UInt8] {
        let request = LoopbackHTTP.request(
            method: method, target: path, token: token, contentType: "application/json", body: Array(body))
        let started = ContinuousClock.now
        guard let answer = setupHTTP.exchange(request) else { throw FuzzSetupError("\(method) \(path): no connection") }
        let waited = ContinuousClock.now - started
        guard let status = answer.status, (200..<300).contains(status) else {
            throw FuzzSetupError(
                "\(method) \(path): "
                    + (answer.status.map { "HTTP \($0)" } ?? "no HTTP answer") + " after \(waited): "
                    + String(decoding: answer.body.prefix(500), as: UTF8.self))
        }
        return answer.body
    }
}

struct FuzzSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Hands an async result to the blocked libFuzzer thread.
private final class ResultBox: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var result: Result<HTTPHarness, any Error>?

    func set(_ value: Result<HTTPHarness, any Error>) {
        result = value
        semaphore.signal()
    }

    func wait() -> Result<HTTPHarness, any Error> {
        semaphore.wait()
        return result!
    }
}
