import Foundation
package import OutpostClient
import OutpostCore
package import OutpostTransport

/// A real `outpost server` process on a free loopback port, with its own data
/// directory, for end-to-end tests.
package final class HubHarness: @unchecked Sendable {
    package let dataDirectory: String
    package private(set) var process: ChildProcess
    package private(set) var url: String
    package let adminToken: String
    /// How `client` verifies an HTTPS hub (set it to the test CA for a hub serving TLS).
    package var trust: HubTrust = .system
    private let extraArguments: [String]
    private let environment: [String: String]

    /// Starts the hub and waits until it listens and has written its admin token
    /// (or, for a further replica of a shared database, takes `adminToken`: the
    /// replica that started first wrote it).
    package init(
        dataDirectory: String,
        arguments: [String] = ["--heartbeat-timeout", "3s"],
        environment: [String: String] = ChildProcess.baseEnvironment(),
        adminToken: String? = nil
    ) async throws {
        self.dataDirectory = dataDirectory
        self.extraArguments = arguments
        self.environment = environment
        let (process, url) = try await Self.launch(
            dataDirectory: dataDirectory, listen: "127.0.0.1:0", arguments: arguments, environment: environment)
        self.process = process
        self.url = url
        guard let token = adminToken ?? (try? String(contentsOfFile: dataDirectory + "/admin-token", encoding: .utf8))
        else {
            throw HarnessError("the hub wrote no admin-token file; stderr:\n\(process.stderr)")
        }
        self.adminToken = token.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A client with the admin token.
    package var client: HubClient { HubClient(baseURL: url, token: adminToken, trust: trust) }

    /// SIGKILLs the hub and starts it again on the same port and data directory.
    package func killAndRestart() async throws {
        await process.kill9()
        let port = url.split(separator: ":").last.map(String.init) ?? "0"
        let (process, url) = try await Self.launch(
            dataDirectory: dataDirectory, listen: "127.0.0.1:\(port)", arguments: extraArguments,
            environment: environment)
        self.process = process
        self.url = url
    }

    package func stop() async {
        if process.isRunning {
            process.signal(SIGTERM)
            if await process.waitForExit(timeout: .seconds(15)) == nil { await process.kill9() }
        }
    }

    private static func launch(
        dataDirectory: String, listen: String, arguments: [String], environment: [String: String]
    ) async throws -> (ChildProcess, String) {
        // The port may still be in TIME_WAIT or held a moment after a kill: retry briefly.
        var lastError = ""
        for _ in 0..<50 {
            let process = try ChildProcess(
                ["server", "--listen", listen, "--data-dir", dataDirectory] + arguments, environment: environment)
            if let line = await process.waitForLine(containing: "outpost hub listening on ", timeout: .seconds(20)) {
                guard let range = line.range(of: "http") else { break }
                return (process, String(line[range.lowerBound...]).trimmingCharacters(in: .whitespaces))
            }
            lastError = process.stderr
            await process.kill9()
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("the hub did not start listening; stderr:\n\(lastError)")
    }
}

/// A real `outpost agent start` process.
package final class AgentHarness: @unchecked Sendable {
    package let process: ChildProcess
    package let name: String
    package let workDirectory: String

    package init(
        hub: String,
        registrationToken: String,
        name: String,
        workDirectory: String,
        tags: String? = nil,
        concurrency: Int = 1,
        arguments: [String] = [],
        environment: [String: String] = ChildProcess.baseEnvironment()
    ) throws {
        var args = [
            "agent", "start", "--hub", hub, "--token", registrationToken, "--name", name, "--work-dir", workDirectory,
            "--concurrency", String(concurrency),
        ]
        if let tags { args += ["--tags", tags] }
        process = try ChildProcess(args + arguments, environment: environment)
        self.name = name
        self.workDirectory = workDirectory
    }

    /// Waits until the hub lists this agent as online.
    package func waitUntilOnline(_ client: HubClient, timeout: Duration = .seconds(30)) async throws {
        let online = await eventually(timeout: timeout) {
            let agents = (try? await client.listAgents()) ?? []
            return agents.contains { $0.name == self.name && $0.status != .offline }
        }
        if !online { throw HarnessError("agent \(name) did not come online; stderr:\n\(process.stderr)") }
    }
}

package struct HarnessError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
