import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// The README's five-minute walk-through, done by real processes.
@Suite("Newcomer walk-through", .serialized)
struct WalkthroughTests {
    @Test("outpost dev runs a script on its local agent and the CLI exits with the script's exit code")
    func devWalkthrough() async throws {
        let dir = try TemporaryDirectory(prefix: "outpost-dev")
        defer { dir.remove() }
        let dev = try ChildProcess(["dev", "--listen", "127.0.0.1:0", "--data-dir", dir.path])
        defer { dev.signal(SIGKILL) }
        let tokenLine = await dev.waitForLine(containing: "OUTPOST_TOKEN=", timeout: .seconds(60))
        #expect(tokenLine != nil, "outpost dev printed no OUTPOST_TOKEN line; stderr: \(dev.stderr)")
        let hubLine = try #require(dev.stdout.split(separator: "\n").first { $0.hasPrefix("OUTPOST_HUB=") })

        // DIR/env holds exactly the two lines it printed.
        let envFile = try String(contentsOfFile: dir.file("env"), encoding: .utf8)
        let envLines = envFile.split(separator: "\n").map(String.init)
        #expect(envLines.count == 2)
        #expect(envLines.first == String(hubLine))
        #expect(envLines.last == tokenLine)

        var environment = ChildProcess.baseEnvironment()
        for line in envLines {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            environment[parts[0]] = parts[1]
        }
        let client = HubClient(baseURL: environment["OUTPOST_HUB"]!, token: environment["OUTPOST_TOKEN"]!)
        #expect(await eventually(timeout: .seconds(30)) { ((try? await client.listAgents()) ?? []).count == 1 })

        let run = try ChildProcess(
            ["task", "run", "local", "--script", "echo hello from outpost; echo to stderr >&2; exit 3"],
            environment: environment)
        run.closeStdin()
        let code = await run.waitForExit(timeout: .seconds(60))
        #expect(code == 3, "stderr: \(run.stderr)")
        #expect(run.stdout == "hello from outpost\nto stderr\n")

        let succeeded = try ChildProcess(["task", "run", "local", "--file", "-"], environment: environment)
        succeeded.send(stdin: "echo \"task $OUTPOST_TASK_ID\"\n")
        #expect(await succeeded.waitForExit(timeout: .seconds(60)) == 0)
        #expect(succeeded.stdout.hasPrefix("task tsk_"))

        let list = try ChildProcess(["task", "list", "--json"], environment: environment)
        list.closeStdin()
        #expect(await list.waitForExit() == 0)
        let tasks = try WireJSON.decoder().decode(ListResponse<TaskRecord>.self, from: Data(list.stdout.utf8)).items
        #expect(tasks.map(\.status) == [.succeeded, .failed])
        #expect(tasks.last?.exitCode == 3)

        // Graceful stop: SIGTERM ends the process with 0.
        dev.signal(SIGTERM)
        #expect(await dev.waitForExit(timeout: .seconds(30)) == 0)
    }

    @Test("a second start of outpost dev reuses its data and prints the same token")
    func devRestartKeepsData() async throws {
        let dir = try TemporaryDirectory(prefix: "outpost-dev")
        defer { dir.remove() }
        var tokens: [String] = []
        for _ in 0..<2 {
            let dev = try ChildProcess(["dev", "--listen", "127.0.0.1:0", "--data-dir", dir.path])
            let line = await dev.waitForLine(containing: "OUTPOST_TOKEN=", timeout: .seconds(60))
            tokens.append(line ?? "missing: \(dev.stderr)")
            dev.signal(SIGTERM)
            #expect(await dev.waitForExit(timeout: .seconds(30)) == 0)
        }
        #expect(tokens[0] == tokens[1])
    }
}
