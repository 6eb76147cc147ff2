import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Two agents on one host, started from one directory without --work-dir, both run.
@Suite("Agents sharing a host", .serialized)
struct AgentWorkDirectoryTests {
    @Test("a second `outpost agent start --name other` in the same directory works, and so do unnamed agents")
    func twoAgentsOneDirectory() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let host = cluster.directory.file("host")
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        let tokenFile = cluster.directory.file("token")
        try cluster.registrationToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        var processes: [ChildProcess] = []
        defer { for process in processes { process.signal(SIGKILL) } }
        for name in ["first-agent-1", "other-agent-1", nil] as [String?] {
            let process = try ChildProcess(
                ["agent", "start", "--hub", cluster.hub.url, "--token-file", tokenFile] + (name.map { ["--name", $0] } ?? []),
                currentDirectory: host)
            processes.append(process)
            if let name { try await AgentHarnessView(name: name, process: process).waitUntilOnline(cluster.client) }
        }
        let allOnline = await eventually(timeout: .seconds(30)) {
            ((try? await cluster.client.listAgents()) ?? []).filter { $0.status != .offline }.count == 3
        }
        #expect(allOnline, "stderr of the agents: \(processes.map(\.stderr).joined(separator: "\n---\n"))")
        for directory in ["first-agent-1", "other-agent-1", "unnamed/1"] {
            #expect(FileManager.default.fileExists(atPath: "\(host)/outpost-agent/\(directory)/agent.lock"), "\(directory)")
        }
        // And work runs.
        _ = try await cluster.client.createTarget(Target(name: "plain", integration: "bash"))
        let task = try await cluster.client.createTask(CreateTaskRequest(target: "plain", script: "echo ran"))
        #expect(try await cluster.waitForTask(task.id).status == .succeeded)
    }
}
