import Foundation
@testable import OutpostAgent
import OutpostCore
import Testing

/// A task's process as the user sees it: exit codes, output, environment, working directory.
@Suite("Running a task's process")
struct TaskProcessTests {
    /// Runs `assignment` to the end against a fake hub and returns what the hub received.
    func run(_ assignment: TaskAssignment, in env: TestEnvironment) async -> (FinishRequest?, String) {
        let hub = FakeHub()
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let state = hub.state.value
        #expect(state.violations.isEmpty)
        return (state.finishes[assignment.taskID], String(decoding: state.logs[assignment.taskID] ?? [], as: UTF8.self))
    }

    @Test(
        "the exit code is reported; killed by signal N reads 128+N",
        arguments: [
            ("echo ok", TaskStatus.succeeded, Int32(0)),
            ("exit 3", .failed, 3),
            ("kill -KILL $$", .failed, 137),
            ("kill -TERM $$", .failed, 143),
        ])
    func exitCodes(script: String, status: TaskStatus, code: Int32) async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let (finish, _) = await run(env.assignment(script), in: env)
        #expect(finish?.status == status)
        #expect(finish?.exitCode == code)
    }

    @Test("stdout and stderr arrive merged in the order they were written")
    func interleavedOutput() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let script = "for i in $(seq 1 300); do echo \"out $i\"; echo \"err $i\" >&2; done"
        let (finish, log) = await run(env.assignment(script), in: env)
        let expected = (1...300).map { "out \($0)\nerr \($0)\n" }.joined()
        #expect(log == expected)
        #expect(finish?.logBytes == Int64(expected.utf8.count))
    }

    @Test("the environment is minimal: PATH, HOME, LANG, TMPDIR, OUTPOST_TASK_ID and the target's, never the agent's tokens")
    func minimalEnvironment() async throws {
        let catalog = IntegrationCatalog.builtIn.merging([
            Integration(name: "printenv", program: "env", arguments: [], scriptFileName: "unused")
        ])
        var env = try TestEnvironment(integrations: catalog)
        defer { env.remove() }
        env.inheritedEnvironment["OUTPOST_AGENT_TOKEN"] = "agt-secret-value"
        env.inheritedEnvironment["AWS_SECRET_ACCESS_KEY"] = "aws-secret-value"
        env.inheritedEnvironment["HOME"] = "/home/agent"
        env.inheritedEnvironment["LANG"] = "en_US.UTF-8"
        let assignment = env.assignment("", integration: "printenv", env: ["GREETING": "hello"])
        let (finish, log) = await run(assignment, in: env)
        #expect(finish?.status == .succeeded)
        var variables: [String: String] = [:]
        for line in log.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            variables[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        #expect(Set(variables.keys) == ["PATH", "HOME", "LANG", "TMPDIR", "OUTPOST_TASK_ID", "GREETING", "SCRATCH"])
        #expect(variables["OUTPOST_TASK_ID"] == assignment.taskID)
        #expect(variables["HOME"] == "/home/agent")
        #expect(variables["LANG"] == "en_US.UTF-8")
        #expect(variables["TMPDIR"] == "\(env.paths.tasks)/\(assignment.taskID)/tmp")
        #expect(variables["GREETING"] == "hello")
        #expect(!log.contains("secret-value"))
        #expect(!log.contains("registration-token"))
    }

    @Test("each task gets a fresh private working directory that is removed afterwards, with its spool and record")
    func workingDirectory() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let assignment = env.assignment(#"pwd; ls -A | sort | tr '\n' ' '; echo; stat -c %a . script.sh; touch leftover"#)
        // Something left over from an earlier attempt at the same task must not be visible.
        try FileManager.default.createDirectory(
            atPath: "\(env.paths.tasks)/\(assignment.taskID)/stale", withIntermediateDirectories: true)
        let (finish, log) = await run(assignment, in: env)
        #expect(finish?.status == .succeeded)
        let directory = "\(env.paths.tasks)/\(assignment.taskID)"
        #expect(log == "\(directory)\nscript.sh tmp \n700\n600\n")
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(!FileManager.default.fileExists(atPath: "\(env.paths.spool)/\(assignment.taskID).log"))
        #expect(!FileManager.default.fileExists(atPath: "\(env.paths.running)/\(assignment.taskID).json"))
    }

    @Test("python and node scripts run through their integrations", arguments: [
        ("python", "import sys\nprint('py', sys.version_info[0])\n", "py 3\n"),
        ("node", "console.log('node', 1 + 1)\n", "node 2\n"),
        ("sh", "echo sh $((1 + 1))\n", "sh 2\n"),
    ])
    func otherIntegrations(integration: String, script: String, expected: String) async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let (finish, log) = await run(env.assignment(script, integration: integration), in: env)
        #expect(finish?.status == .succeeded)
        #expect(log == expected)
    }

    @Test("an integration that takes its script on standard input gets it there")
    func scriptOnStandardInput() async throws {
        let catalog = IntegrationCatalog.builtIn.merging([
            Integration(name: "sh-stdin", program: "sh", arguments: ["-s"], scriptFileName: "script.sh", scriptDelivery: .standardInput)
        ])
        let env = try TestEnvironment(integrations: catalog)
        defer { env.remove() }
        let (finish, log) = await run(env.assignment("echo from stdin", integration: "sh-stdin"), in: env)
        #expect(finish?.status == .succeeded)
        #expect(log == "from stdin\n")
    }

    @Test("a task without stdin reads end of file at once")
    func stdinIsDevNull() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let (finish, log) = await run(env.assignment("cat; echo \"read: $?\""), in: env)
        #expect(finish?.status == .succeeded)
        #expect(log == "read: 0\n")
    }

    @Test("an unknown integration is rejected with the integrations the agent knows")
    func unknownIntegration() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("echo", integration: "cobol")
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .rejected)
        #expect(finish?.error?.hasPrefix("unknown integration \"cobol\"; this agent knows bash, elixir, ") == true)
        #expect(hub.state.value.started[assignment.taskID] == nil)
    }

    @Test("an integration whose program is not on PATH is rejected naming the program")
    func missingProgram() async throws {
        let catalog = IntegrationCatalog.builtIn.merging([
            Integration(name: "ghost", program: "outpost-no-such-program", scriptFileName: "script")
        ])
        let env = try TestEnvironment(integrations: catalog)
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("x", integration: "ghost")
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .rejected)
        #expect(finish?.error == "integration ghost needs `outpost-no-such-program` on the agent's PATH")
    }

    @Test("a target with secret references is rejected while no provider is configured")
    func secretsNotConfigured() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        var assignment = env.assignment("echo")
        assignment.target.secrets = [SecretReference(provider: "vault", path: "db/prod")]
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .rejected)
        #expect(finish?.error?.contains("secret provider \"vault\"") == true)
    }

    @Test("the exit status decoding matches WIFEXITED/WTERMSIG", arguments: [
        (0, 0), (3 << 8, 3), (255 << 8, 255), (9, 137), (15, 143), (0x80 | 11, 139),
    ] as [(Int32, Int32)])
    func exitStatusDecoding(status: Int32, code: Int32) {
        #expect(TaskProcess.exitCode(status: status) == code)
    }
}
