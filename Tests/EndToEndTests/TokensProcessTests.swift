import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Issue 11, finding 7, through the `outpost tokens` commands and a real hub.
@Suite("API tokens (processes)", .serialized)
struct TokensProcessTests {
    @Test("tokens create/list/rotate/revoke: roles hold, created_by is the token's name, revoked and rotated tokens stop working")
    func lifecycle() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        /// Runs a client command with another token than the admin's.
        func cli(_ arguments: [String], token: String) async throws -> (code: Int32?, stdout: String, stderr: String) {
            let process = try ChildProcess(
                arguments, environment: ChildProcess.baseEnvironment(["OUTPOST_HUB": cluster.hub.url, "OUTPOST_TOKEN": token]))
            process.closeStdin()
            let code = await process.waitForExit(timeout: .seconds(60))
            if code == nil { await process.kill9() }
            return (code, process.stdout, process.stderr)
        }
        func lastLine(_ text: String) throws -> String { try #require(text.split(separator: "\n").last.map(String.init)) }

        let createdCI = try await cluster.cli(["tokens", "create", "ci-deploy", "--role", "operator"])
        #expect(createdCI.code == 0, "\(createdCI.stderr)")
        let ci = try lastLine(createdCI.stdout)
        let createdViewer = try await cluster.cli(["tokens", "create", "viewer", "--role", "reader"])
        let viewer = try lastLine(createdViewer.stdout)
        let badRole = try await cluster.cli(["tokens", "create", "x", "--role", "root"])
        #expect(badRole.code == 2 && badRole.stderr.contains("--role must be one of reader, operator, admin"), "\(badRole.stderr)")

        _ = try await cluster.client.createTarget(Target(name: "local", integration: "bash"))
        try await cluster.startAgent(name: "tokens-agent")

        let refused = try await cli(["task", "run", "local", "--script", "echo hi"], token: viewer)
        #expect(refused.code == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("has the role reader"), "\(refused.stderr)")

        let ran = try await cli(["task", "run", "local", "--script", "echo ran by ci"], token: ci)
        #expect(ran.code == 0, "\(ran.stderr)")
        #expect(ran.stdout.contains("ran by ci"))
        let tasks = try await cluster.client.listTasks()
        #expect(tasks.map(\.createdBy) == ["ci-deploy"])
        #expect(try await cli(["task", "list"], token: viewer).code == 0)

        let listed = try await cluster.cli(["tokens", "list"])
        #expect(listed.code == 0)
        for expected in ["admin", "ci-deploy", "operator", "viewer", "reader"] {
            #expect(listed.stdout.contains(expected), "\(listed.stdout)")
        }
        for secret in [ci, viewer, cluster.hub.adminToken] {
            #expect(!listed.stdout.contains(secret), "tokens list printed a token")
        }

        #expect(try await cluster.cli(["tokens", "revoke", "ci-deploy"]).code == 0)
        let revoked = try await cli(["task", "list"], token: ci)
        #expect(revoked.code == 1 && revoked.stderr.contains("unknown or revoked"), "\(revoked.stderr)")

        let lastAdmin = try await cluster.cli(["tokens", "revoke", "admin"])
        #expect(lastAdmin.code == 1 && lastAdmin.stderr.contains("last admin token"), "\(lastAdmin.stderr)")

        let rotated = try await cluster.cli(["tokens", "rotate", "admin"])
        #expect(rotated.code == 0, "\(rotated.stderr)")
        let fresh = try lastLine(rotated.stdout)
        #expect(fresh.hasPrefix("opa_") && fresh != cluster.hub.adminToken)
        #expect(try await cluster.cli(["tokens", "list"]).code == 1, "the old admin token still works")
        #expect(try await cli(["tokens", "list"], token: fresh).code == 0)
    }
}
