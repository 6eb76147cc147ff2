import Foundation
@testable import OutpostAgent
import OutpostCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `run_as`: tasks run as another user, who gets its task directory and files and
/// nothing else of the agent's.
@Suite("Tasks run as another user")
struct RunAsTests {
    @Test("an unknown user, root, or an agent that is not root is a clear error naming run_as")
    func resolveErrors() throws {
        let cases: [(String, UInt32, String)] = [
            ("no-such-user-outpost", 0, "agent run_as: no user \"no-such-user-outpost\" on this host"),
            ("root", 0, "agent run_as: \"root\" is root"),
            ("nobody", 1000, "needs the agent to run as root (it runs as uid 1000)"),
        ]
        for (user, euid, expected) in cases {
            #expect {
                try TaskIdentity.resolve(user: user, effectiveUID: euid)
            } throws: { error in
                guard let error = error as? AgentError else { return false }
                return error.code == .invalidConfiguration && error.message.contains(expected)
            }
        }
        let nobody = try TaskIdentity.resolve(user: "nobody", effectiveUID: 0)
        #expect(nobody.uid == 65534)
        #expect(try TaskIdentity.resolve(user: "65534", effectiveUID: 0).user == nobody.user)
        #expect(!nobody.groups.contains(0))
    }

    @Test(
        "a task runs as the run_as user with its own directory, files and HOME, and cannot read the agent's /proc entries, spool or work files",
        .enabled(if: getuid() == 0, "switching users needs root"))
    func taskRunsAsUser() async throws {
        var env = try TestEnvironment(
            integrations: IntegrationCatalog.builtIn.merging([
                Integration(
                    name: "with-file", program: "bash", arguments: ["--noprofile", "--norc", "{script}"],
                    scriptFileName: "script.sh", environment: ["CREDENTIALS": "{file:credentials}"],
                    files: [IntegrationFile(name: "credentials", content: "user=app")])
            ]))
        defer { env.remove() }
        env.configuration.runAs = try TaskIdentity.resolve(user: "nobody")
        env.configuration.name = "test-agent-01"
        let hub = FakeHub()
        let agent = AgentDaemon(configuration: env.configuration, hub: hub, environment: env.inheritedEnvironment, logger: testLogger)
        let assignment = env.assignment(
            """
            echo "uid $(id -u) groups $(id -G)"
            echo "dir $(stat -c '%u %a' .) script $(stat -c '%u %a' "$0") file $(stat -c '%u %a' "$CREDENTIALS")"
            cat "$CREDENTIALS"; echo
            echo "root $(stat -c '%a' "$WORK") tasks $(stat -c '%a' "$WORK/tasks")"
            ls "$WORK/spool" >/dev/null 2>&1 && echo spool-listed || echo spool-denied
            ls "$WORK/tasks" >/dev/null 2>&1 && echo tasks-listed || echo tasks-denied
            cat /proc/$PPID/environ >/dev/null 2>&1 && echo environ-read || echo environ-denied
            touch "$TMPDIR/x" && echo tmp-writable
            echo "home $HOME"
            """,
            integration: "with-file", env: ["WORK": env.paths.root])
        hub.enqueue(assignment)

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run

        let log = String(decoding: hub.state.value.logs[assignment.taskID] ?? [], as: UTF8.self)
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded, "\(log)")  // the log holds no secret
        let lines = log.split(separator: "\n").map(String.init)
        #expect(Array(lines.dropLast()) == [
            "uid 65534 groups 65534",
            "dir 65534 700 script 65534 600 file 65534 600",
            "user=app",
            "root 711 tasks 711",
            "spool-denied",
            "tasks-denied",
            "environ-denied",
            "tmp-writable",
        ])
        // nobody's home (/nonexistent) does not exist: HOME is the task's private tmp/.
        #expect(lines.last.map { $0.hasPrefix("home \(env.paths.tasks)/\(assignment.taskID)/tmp") } == true)
    }

    @Test(
        "a program the run_as user may not execute fails to launch with a message naming the user, the step and the reason",
        .enabled(if: getuid() == 0, "switching users needs root"))
    func launchFailureIsClear() throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hidden = env.scratch + "/hidden"
        try FileManager.default.createDirectory(atPath: hidden, withIntermediateDirectories: true)
        chmod(hidden, 0o700)
        try "#!/bin/sh\necho never\n".write(toFile: hidden + "/tool", atomically: true, encoding: .utf8)
        chmod(hidden + "/tool", 0o755)
        let request = LaunchRequest(
            executable: hidden + "/tool", arguments: [], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/",
            standardInput: nil, identity: try TaskIdentity.resolve(user: "nobody"))
        #expect {
            try ProcessLauncher.launch(request)
        } throws: { error in
            guard let error = error as? AgentError else { return false }
            return error.code == .launchFailed && error.message.contains("as nobody (uid 65534")
                && error.message.hasSuffix("execute: Permission denied")
        }
        // Launched as the agent's own user, the same request runs.
        var own = request
        own.identity = nil
        let launched = try ProcessLauncher.launch(own)
        var status: Int32 = 0
        #expect(waitpid(launched.pid, &status, 0) == launched.pid)
        close(launched.outputFD)
    }

    @Test(
        "launching as another user from many threads at once neither hangs nor mixes up results (the forked child takes no lock)",
        .enabled(if: getuid() == 0, "switching users needs root"))
    func concurrentLaunches() async throws {
        let identity = try TaskIdentity.resolve(user: "nobody")
        let started = ContinuousClock.now
        let codes = try await withThrowingTaskGroup(of: [Int32].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var codes: [Int32] = []
                    for round in 0..<25 {
                        let request = LaunchRequest(
                            executable: "/bin/sh", arguments: ["-c", "test \"$(id -u)\" = 65534 && exit \((worker + round) % 7)"],
                            environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/", standardInput: nil, identity: identity)
                        let launched = try ProcessLauncher.launch(request)
                        var status: Int32 = 0
                        while waitpid(launched.pid, &status, 0) < 0 && errno == EINTR {}
                        close(launched.outputFD)
                        codes.append((status >> 8) & 0xff == Int32((worker + round) % 7) ? 0 : 1)
                    }
                    return codes
                }
            }
            var all: [Int32] = []
            for try await codes in group { all += codes }
            return all
        }
        #expect(codes.count == 200)
        #expect(codes.allSatisfy { $0 == 0 }, "\(codes.filter { $0 != 0 }.count) launches ran as the wrong user or exited wrongly")
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
