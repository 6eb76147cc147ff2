import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// A task must not read the secrets of the agent that runs it: not from
/// `/proc/$PPID/environ` (every `OUTPOST_SECRET_*` of the env provider, other
/// targets' included), not from the agent's command line (`--token`), not
/// through `ps`. Issue 11, finding 3, replayed against real processes.
@Suite("The agent protects its own secrets", .serialized)
struct AgentSelfProtectionTests {
    static func canary(_ label: String) -> String {
        "cnry-\(label)-" + UUID().uuidString.lowercased().prefix(13)
    }

    /// Exactly the hostile tester's script, plus the command line and the process list.
    static let hostileScript = #"""
        tr "\0" "\n" </proc/$PPID/environ
        echo
        tr "\0" " " </proc/$PPID/cmdline
        echo
        cat /proc/$PPID/cmdline
        echo
        ps -eo args
        true

        """#

    static let envProviderConfig = """
        secrets:
          providers:
            - {name: env, type: env, prefix: OUTPOST_SECRET_}

        """

    @Test("a target without secret references reads /proc/$PPID and ps, and the log stored on the hub holds no secret of the agent")
    func hostileTaskFindsNothing() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let other = Self.canary("other-target")
        let keyed = Self.canary("db-password")
        let deploy = Self.canary("deploy-token")
        let storeToken = Self.canary("store-token")
        let configFile = cluster.directory.file("agent.yaml")
        // A provider credential in the config file, which a task of the agent's user can read.
        try (Self.envProviderConfig + """
                - {name: store, type: http, store_url: "http://127.0.0.1:9/{name}", token: \(storeToken)}

            """).write(toFile: configFile, atomically: true, encoding: .utf8)
        // AgentHarness passes the registration token with --token, as the hostile tester's agent had it.
        let agent = try await cluster.startAgent(
            name: "protected-agent-1", arguments: ["--kill-grace", "2s", "--config-file", configFile],
            environment: ChildProcess.baseEnvironment([
                "OUTPOST_SECRET_OTHER": other, "OUTPOST_SECRET_DB": #"{"PASSWORD": "\#(keyed)"}"#, "DEPLOY_TOKEN": deploy,
            ]))
        _ = try await cluster.client.createTarget(Target(name: "plain", integration: "bash"))

        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "plain", script: Self.hostileScript + "cat \(configFile)\n"))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        for (label, secret) in [
            ("another target's secret", other), ("a key of a JSON secret", keyed), ("the agent's DEPLOY_TOKEN", deploy),
            ("the registration token", cluster.registrationToken), ("a provider's token in the config file", storeToken),
        ] {
            expectAbsent(secret, in: log, "the stored log (\(label))")
        }
        // The script did run: the process list and the agent's command line are there.
        expectIn(log, "agent start")
        expectIn(log, "--token ***")
        if getuid() == 0 {
            // Root reads any /proc file, non-dumpable or not: masking is what holds here,
            // and the agent says so.
            expectIn(log, "OUTPOST_SECRET_OTHER=[SECURE]")
            #expect(agent.process.stderr.contains("run tasks as another user with --run-as USER"))
        }

        // What any user of the host sees: the argument is overwritten, the flag stays.
        let cmdline = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(agent.process.pid)/cmdline")), as: UTF8.self)
        expectAbsent(cluster.registrationToken, in: cmdline, "the agent's /proc/PID/cmdline")
        expectIn(cmdline, "--token\0***", "the agent's /proc/PID/cmdline")
        #expect(agent.process.stderr.contains("use --token-file"))
        expectIn(log, "token: [SECURE]")
    }

    @Test("a token given as --token=VALUE is overwritten in the command line too")
    func tokenWithEquals() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let process = try ChildProcess([
            "agent", "start", "--hub", cluster.hub.url, "--token=\(cluster.registrationToken)", "--name", "equals-agent-1",
            "--work-dir", cluster.directory.file("work"),
        ])
        defer { process.signal(SIGKILL) }
        try await AgentHarnessView(name: "equals-agent-1", process: process).waitUntilOnline(cluster.client)
        let cmdline = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.pid)/cmdline")), as: UTF8.self)
        expectAbsent(cluster.registrationToken, in: cmdline, "the agent's /proc/PID/cmdline")
        expectIn(cmdline, "\0--token=***", "the agent's /proc/PID/cmdline")
    }

    @Test(
        "an agent running as an ordinary user is non-dumpable: its task, of the same user, cannot read the agent's environment",
        .enabled(if: getuid() == 0, "needs root to start the agent as nobody"))
    func sameUserCannotReadEnviron() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let secret = Self.canary("nobody-secret")
        // The agent runs as nobody, from a directory only nobody can write.
        chmod(cluster.directory.path, 0o711)
        let home = cluster.directory.file("nobody")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let tokenFile = home + "/token"
        try cluster.registrationToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let configFile = home + "/agent.yaml"
        try Self.envProviderConfig.write(toFile: configFile, atomically: true, encoding: .utf8)
        for path in [home, tokenFile, configFile] {
            chown(path, 65534, 65534)
            chmod(path, path == home ? 0o700 : 0o600)
        }
        let process = try ChildProcess(
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", OutpostBinary.path, "agent", "start",
                "--hub", cluster.hub.url, "--token-file", tokenFile, "--name", "nobody-agent-1", "--work-dir", home + "/work",
                "--config-file", configFile,
            ],
            executable: "/usr/bin/setpriv",
            environment: ChildProcess.baseEnvironment(["OUTPOST_SECRET_X": secret, "HOME": home, "TMPDIR": home]))
        defer { process.signal(SIGKILL) }
        let agent = AgentHarnessView(name: "nobody-agent-1", process: process)
        try await agent.waitUntilOnline(cluster.client)
        _ = try await cluster.client.createTarget(Target(name: "plain", integration: "bash"))

        let script = #"""
            id -u
            if tr "\0" "\n" </proc/$PPID/environ; then echo READ-ENVIRON; else echo NO-ENVIRON; fi

            """#
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "plain", script: script))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        expectIn(String(log.prefix(6)), "65534\n")
        expectIn(log, "NO-ENVIRON")
        expectIn(log, "READ-ENVIRON", present: false)
        expectIn(log, "Permission denied")
        expectAbsent(secret, in: log, "the stored log")
        // A token read from a file is no argument to hide: no warning.
        #expect(!process.stderr.contains("use --token-file"))
    }

    @Test(
        "with --run-as, the hostile task runs as that user: the agent's environ, config file and token file are out of its reach",
        .enabled(if: getuid() == 0, "switching users needs root"))
    func runAsKeepsTheAgentOutOfReach() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let secret = Self.canary("run-as-secret")
        let configFile = cluster.directory.file("agent.yaml")
        try Self.envProviderConfig.write(toFile: configFile, atomically: true, encoding: .utf8)
        let tokenFile = cluster.directory.file("token")
        try cluster.registrationToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        // Even a directory anyone may traverse does not open the agent's files.
        chmod(cluster.directory.path, 0o755)
        let process = try ChildProcess(
            [
                "agent", "start", "--hub", cluster.hub.url, "--token-file", tokenFile, "--name", "run-as-agent-1",
                "--work-dir", cluster.directory.file("work"), "--config-file", configFile, "--run-as", "nobody",
            ],
            environment: ChildProcess.baseEnvironment(["OUTPOST_SECRET_X": secret]))
        defer { process.signal(SIGKILL) }
        try await AgentHarnessView(name: "run-as-agent-1", process: process).waitUntilOnline(cluster.client)
        _ = try await cluster.client.createTarget(Target(name: "plain", integration: "bash"))

        let script = Self.hostileScript + """
            id -un
            cat \(tokenFile) || echo NO-TOKEN-FILE
            tr "\\0" "\\n" </proc/$PPID/environ || echo NO-ENVIRON

            """
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "plain", script: script))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        expectAbsent(secret, in: log, "the stored log")
        expectAbsent(cluster.registrationToken, in: log, "the stored log")
        expectIn(log, "nobody\n")
        expectIn(log, "NO-TOKEN-FILE")
        expectIn(log, "NO-ENVIRON")
        expectIn(log, "OUTPOST_SECRET_X=", present: false)
        #expect(!process.stderr.contains("--run-as USER"))
    }

    @Test("an unreadable or empty token file stops the agent at once with exit 2, naming the file")
    func badTokenFile() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-token")
        defer { directory.remove() }
        let empty = directory.file("empty")
        _ = FileManager.default.createFile(atPath: empty, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600])
        for (path, expected) in [
            (directory.file("missing"), "cannot read the token file \(directory.file("missing"))"),
            (empty, "the token file \(empty) is empty"),
        ] {
            let started = ContinuousClock.now
            let process = try ChildProcess(["agent", "start", "--hub", "http://127.0.0.1:9", "--token-file", path])
            let code = await process.waitForExit(timeout: .seconds(10))
            #expect(code == 2, "\(process.stderr)")
            #expect(process.stderr.contains("flag --token-file: token_file: \(expected)"), "\(process.stderr)")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }
}

extension AgentSelfProtectionTests {
    @Test("--run-as naming no user stops the agent at once with exit 2, naming run_as and the user")
    func runAsUnknownUser() async throws {
        let started = ContinuousClock.now
        let directory = try TemporaryDirectory(prefix: "outpost-run-as")
        defer { directory.remove() }
        let token = directory.file("token")
        _ = FileManager.default.createFile(atPath: token, contents: Data("oprt_x".utf8), attributes: [.posixPermissions: 0o600])
        let agent = try ChildProcess([
            "agent", "start", "--hub", "http://127.0.0.1:9", "--token-file", token, "--run-as", "no-such-user-outpost",
            "--work-dir", directory.file("work"),
        ])
        #expect(await agent.waitForExit(timeout: .seconds(10)) == 2, "\(agent.stderr)")
        #expect(agent.stderr.contains("run_as: no user \"no-such-user-outpost\" on this host"), "\(agent.stderr)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }


    @Test("in outpost dev, a task that reads the data directory, the process's environ and cmdline cannot print the admin token")
    func devAdminTokenStaysHidden() async throws {
        let dir = try TemporaryDirectory(prefix: "outpost-dev")
        defer { dir.remove() }
        let dev = try ChildProcess(["dev", "--listen", "127.0.0.1:0", "--data-dir", dir.path])
        defer { dev.signal(SIGKILL) }
        let tokenLine = try #require(await dev.waitForLine(containing: "OUTPOST_TOKEN=", timeout: .seconds(60)))
        let hubLine = try #require(dev.stdout.split(separator: "\n").first { $0.hasPrefix("OUTPOST_HUB=") })
        let adminToken = String(tokenLine.dropFirst("OUTPOST_TOKEN=".count))
        let client = HubClient(baseURL: String(hubLine.dropFirst("OUTPOST_HUB=".count)), token: adminToken)
        #expect(await eventually(timeout: .seconds(30)) { ((try? await client.listAgents()) ?? []).count == 1 })

        // The task's directory is DATA_DIR/agent/tasks/<id>.
        let script = #"""
            cat ../../../admin-token; echo
            cat ../../../env
            tr "\0" "\n" </proc/$PPID/environ
            tr "\0" " " </proc/$PPID/cmdline; echo

            """#
        let task = try await client.createTask(CreateTaskRequest(target: "local", script: script))
        var record = try await client.task(id: task.id)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while !record.status.isTerminal, clock.now < deadline { record = try await client.task(id: task.id, waitSeconds: 5) }
        #expect(record.status == .succeeded, "task ended \(record.status): \(record.error ?? "")")
        let log = String(decoding: try await client.readLog(taskID: task.id).bytes, as: UTF8.self)
        expectAbsent(adminToken, in: log, "the stored log")
        expectIn(log, "OUTPOST_TOKEN=[SECURE]")
        expectIn(String(log.prefix(9)), "[SECURE]\n")
    }
}

/// Waits for an agent the test started by hand (here under another user) to come online.
struct AgentHarnessView {
    let name: String
    let process: ChildProcess

    func waitUntilOnline(_ client: HubClient, timeout: Duration = .seconds(30)) async throws {
        let online = await eventually(timeout: timeout) {
            let agents = (try? await client.listAgents()) ?? []
            return agents.contains { $0.name == name && $0.status != .offline }
        }
        if !online { throw HarnessError("agent \(name) did not come online; stderr:\n\(process.stderr)") }
    }
}

/// `text` holds `needle`; a failure names the needle only, never the text (it may hold secrets).
private func expectIn(
    _ text: String, _ needle: String, _ place: String = "the log", present: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if text.contains(needle) != present {
        Issue.record("\(place) \(present ? "lacks" : "holds") \"\(needle)\"", sourceLocation: sourceLocation)
    }
}
