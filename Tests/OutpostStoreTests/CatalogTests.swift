import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Targets, agent types and API tokens")
struct CatalogTests {
    @Test("targets are created, read, listed by name and deleted")
    func targetsCRUD() async throws {
        try await withStore { store in
            let db = Target(
                name: "orders-db", integration: "postgres", tags: TagSet(["prod", "eu"]), env: ["PGDATABASE": "orders"],
                secrets: [SecretReference(provider: "vault", path: "db/orders", mapping: ["PGPASSWORD": "password"])],
                timeoutSeconds: 120, createdAt: t0)
            let local = Target(name: "local", integration: "bash", createdAt: t0)
            try await store.insertTarget(db)
            try await store.insertTarget(local)

            #expect(try await store.target(named: "orders-db") == db)
            #expect(try await store.target(named: "missing") == nil)
            #expect(try await store.listTargets() == [local, db])

            #expect(try await store.deleteTarget(named: "orders-db"))
            #expect(try await !store.deleteTarget(named: "orders-db"))
            #expect(try await store.listTargets() == [local])
        }
    }

    @Test("a second target with the same name is a conflict naming it")
    func targetConflict() async throws {
        try await withStore { store in
            try await store.insertTarget(Target(name: "local", integration: "bash", createdAt: t0))
            let error = await expectStoreError(.conflict) {
                try await store.insertTarget(Target(name: "local", integration: "python", createdAt: t0))
            }
            #expect(error?.message == "target \"local\" already exists")
            #expect(try await store.target(named: "local")?.integration == "bash")
        }
    }

    @Test("deleting a target keeps its tasks and their snapshot")
    func deleteKeepsTasks() async throws {
        try await withStore { store in
            try await store.insertTarget(Target(name: "local", integration: "bash", createdAt: t0))
            let task = try await store.seedTask()
            #expect(try await store.deleteTarget(named: "local"))
            let agent = try await store.seedAgent()
            let assignment = try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0)
            #expect(assignment?.target.name == "local")
        }
    }

    @Test("agent types are found by name and by registration token hash")
    func agentTypes() async throws {
        try await withStore { store in
            let ci = AgentType(name: "ci", createdAt: t0, tokenRotatedAt: t0)
            let prod = AgentType(name: "prod", createdAt: t0, tokenRotatedAt: t0)
            try await store.insertAgentType(prod, registrationTokenHash: "hash-prod")
            try await store.insertAgentType(ci, registrationTokenHash: "hash-ci")
            #expect(try await store.agentType(named: "ci") == ci)
            #expect(try await store.agentType(registrationTokenHash: "hash-prod") == prod)
            #expect(try await store.agentType(registrationTokenHash: "other") == nil)
            #expect(try await store.listAgentTypes() == [ci, prod])

            let error = await expectStoreError(.conflict) {
                try await store.insertAgentType(ci, registrationTokenHash: "hash-ci-2")
            }
            #expect(error?.message == "agent type \"ci\" already exists")
        }
    }

    @Test("rotating a registration token: the new hash finds the type, the old one no longer does")
    func rotation() async throws {
        try await withStore { store in
            try await store.insertAgentType(
                AgentType(name: "ci", createdAt: t0, tokenRotatedAt: t0), registrationTokenHash: "old-hash")
            let rotated = try await store.rotateAgentTypeToken(named: "ci", newHash: "new-hash", at: t0.addingTimeInterval(60))
            #expect(rotated == AgentType(name: "ci", createdAt: t0, tokenRotatedAt: t0.addingTimeInterval(60)))
            #expect(try await store.agentType(registrationTokenHash: "old-hash") == nil)
            #expect(try await store.agentType(registrationTokenHash: "new-hash") == rotated)
            await expectStoreError(.notFound) {
                try await store.rotateAgentTypeToken(named: "missing", newHash: "h", at: t0)
            }
        }
    }

    @Test("API tokens are stored, counted and found by hash; a duplicate is a conflict that hides the hash")
    func apiTokens() async throws {
        try await withStore { store in
            #expect(try await store.countAPITokens() == 0)
            let admin = APITokenRow(id: "tok_1", name: "admin", hash: "secret-hash-1", role: "admin", createdAt: t0)
            try await store.insertAPIToken(admin)
            #expect(try await store.countAPITokens() == 1)
            #expect(try await store.apiToken(hash: "secret-hash-1") == admin)
            #expect(try await store.apiToken(hash: "other") == nil)

            var copy = admin
            copy.id = "tok_2"
            let error = await expectStoreError(.conflict) { try await store.insertAPIToken(copy) }
            #expect(error?.message.contains("secret-hash-1") == false)
        }
    }
}
