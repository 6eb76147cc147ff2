import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Named API tokens")
struct APITokenStoreTests {
    private func token(_ name: String, role: String, hash: String) -> APITokenRow {
        APITokenRow(id: "tok_\(name)", name: name, hash: hash, role: role, createdAt: t0)
    }

    @Test("rotation replaces the hash in place; the old hash finds nothing")
    func rotate() async throws {
        try await withStore { store in
            try await store.insertAPIToken(token("ci", role: "operator", hash: "h-old"))
            let rotated = try await store.rotateAPIToken(named: "ci", newHash: "h-new")
            #expect(rotated.name == "ci" && rotated.role == "operator" && rotated.hash == "h-new")
            #expect(try await store.apiToken(hash: "h-old") == nil)
            #expect(try await store.apiToken(hash: "h-new")?.name == "ci")
            await expectStoreError(.notFound) { try await store.rotateAPIToken(named: "nobody", newHash: "h") }
        }
    }

    @Test("a revoked token is never found or listed, and its name is free again")
    func revoke() async throws {
        try await withStore { store in
            try await store.insertAPIToken(token("admin", role: "admin", hash: "h-admin"))
            try await store.insertAPIToken(token("ci", role: "operator", hash: "h-ci"))
            _ = try await store.revokeAPIToken(named: "ci", at: t0)
            #expect(try await store.apiToken(hash: "h-ci") == nil)
            #expect(try await store.listAPITokens().map(\.name) == ["admin"])
            await expectStoreError(.notFound) { try await store.revokeAPIToken(named: "ci", at: t0) }
            await expectStoreError(.notFound) { try await store.rotateAPIToken(named: "ci", newHash: "h-x") }

            var again = token("ci", role: "reader", hash: "h-ci-2")
            again.id = "tok_ci_2"
            try await store.insertAPIToken(again)
            #expect(try await store.listAPITokens().map(\.name) == ["admin", "ci"])
            var twin = again
            twin.id = "tok_ci_3"
            twin.hash = "h-ci-3"
            await expectStoreError(.conflict) { try await store.insertAPIToken(twin) }
        }
    }

    @Test("the last live admin token cannot be revoked; another admin makes it possible")
    func lastAdmin() async throws {
        try await withStore { store in
            try await store.insertAPIToken(token("admin", role: "admin", hash: "h1"))
            try await store.insertAPIToken(token("ops", role: "operator", hash: "h2"))
            let refused = await expectStoreError(.conflict) { try await store.revokeAPIToken(named: "admin", at: t0) }
            #expect(refused?.message.contains("last admin token") == true)
            try await store.insertAPIToken(token("admin2", role: "admin", hash: "h3"))
            _ = try await store.revokeAPIToken(named: "admin", at: t0)
            await expectStoreError(.conflict) { try await store.revokeAPIToken(named: "admin2", at: t0) }
            #expect(try await store.apiToken(hash: "h3")?.name == "admin2")
        }
    }

    @Test("last use only moves forward")
    func lastUse() async throws {
        try await withStore { store in
            try await store.insertAPIToken(token("ci", role: "operator", hash: "h"))
            #expect(try await store.apiToken(hash: "h")?.lastUsedAt == nil)
            try await store.recordAPITokenUse(id: "tok_ci", at: t0.addingTimeInterval(60))
            try await store.recordAPITokenUse(id: "tok_ci", at: t0)
            #expect(try await store.apiToken(hash: "h")?.lastUsedAt == t0.addingTimeInterval(60))
        }
    }
}
