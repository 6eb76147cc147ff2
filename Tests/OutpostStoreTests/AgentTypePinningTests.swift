import Foundation
import OutpostCore
import SQLKit
import Testing

@testable import OutpostStore

/// Agent types' allowed tags and targets pinned to agent types, as stored.
@Suite("Allowed tags and pinning")
struct AgentTypePinningTests {
    @Test("an agent type's allowed tags are stored, read back and replaced")
    func allowedTagsRoundTrip() async throws {
        try await withStore { store in
            let patterns = [try TagPattern("prod"), try TagPattern("team-*")]
            try await store.insertAgentType(
                AgentType(name: "prod-eu", allowedTags: patterns, createdAt: t0, tokenRotatedAt: t0),
                registrationTokenHash: "h1")
            #expect(try await store.agentType(named: "prod-eu")?.allowedTags == patterns)
            #expect(try await store.agentType(registrationTokenHash: "h1")?.allowedTags == patterns)

            let changed = try await store.updateAgentType(named: "prod-eu", AgentTypeChange(allowedTags: [.any]))
            #expect(changed.allowedTags == [.any])
            #expect(changed.signedTasks == .off)
            #expect(try await store.listAgentTypes().map(\.allowedTags) == [[.any]])
            // Each field changes alone: the signed-task mode leaves the tags as they are.
            let strict = try await store.updateAgentType(named: "prod-eu", AgentTypeChange(signedTasks: .require))
            #expect(strict.signedTasks == .require)
            #expect(strict.allowedTags == [.any])
            #expect(try await store.agentType(registrationTokenHash: "h1")?.signedTasks == .require)
            await expectStoreError(.notFound) { try await store.updateAgentType(named: "nope", AgentTypeChange(allowedTags: [])) }
        }
    }

    @Test("agent types that existed before the upgrade allow every tag, so their agents keep registering")
    func upgradeKeepsExistingTypesOpen() async throws {
        let store = try await SQLiteHubStore.inMemory(logger: quietLogger)
        try await store.migrate(to: [.initialSchema, .fleetAndTrust])
        try await store.write("an agent type as version 2 stored it") { db in
            try await db.raw(
                """
                INSERT INTO agent_types (name, registration_token_hash, created_at, token_rotated_at)
                VALUES ('legacy', 'legacy-hash', 1700000000, 1700000000)
                """
            ).run()
        }
        try await store.migrate()
        let legacy = try await store.agentType(named: "legacy")
        await store.shutdown()
        #expect(legacy?.allowedTags == [.any])
    }

    @Test("a target's pinned agent types are stored sorted and read back")
    func pinnedTargetRoundTrip() async throws {
        try await withStore { store in
            let target = Target(
                name: "orders", integration: "bash", tags: TagSet(["prod"]), agentTypes: ["prod-us", "prod-eu", "prod-us"],
                createdAt: t0)
            try await store.insertTarget(target)
            #expect(try await store.target(named: "orders")?.agentTypes == ["prod-eu", "prod-us"])
        }
    }

    @Test("the claim refuses an agent of another type with the same tags; the task stays queued for its own type")
    func claimChecksThePin() async throws {
        try await withStore { store in
            try await store.insertAgentType(
                AgentType(name: "prod-eu", allowedTags: [.any], createdAt: t0, tokenRotatedAt: t0),
                registrationTokenHash: "reg-prod-eu")
            let rogue = try await store.seedAgent(tags: TagSet(["prod"]))  // type "default"
            let owner = AgentRecord(
                id: "agt_owner", name: "prod-eu-agent", type: "prod-eu", tags: TagSet(["prod"]), status: .online,
                version: "1.0.0", os: "linux", concurrency: 1, providerFingerprint: "fp", registeredAt: t0, lastSeenAt: t0)
            try await store.insertAgent(owner, tokenHash: "token-owner")

            let target = Target(name: "orders", integration: "bash", tags: TagSet(["prod"]), agentTypes: ["prod-eu"])
            let task = TaskRecord(id: "tsk_pinned", target: "orders", createdAt: t0, timeoutSeconds: 60)
            try await store.insertTask(
                task, assignment: TaskAssignment(taskID: task.id, target: target, script: "true", timeoutSeconds: 60),
                route: target.route)
            #expect(try await store.queuedTasks().map(\.route) == [TaskRoute(tags: TagSet(["prod"]), agentTypes: ["prod-eu"])])

            let refused = await expectStoreError(.forbidden) {
                try await store.claimTask(id: task.id, agentID: rogue.id, agentName: rogue.name, at: t0)
            }
            #expect(refused?.message.contains("prod-eu") == true)
            #expect(try await store.task(id: task.id)?.status == .queued)

            let claimed = try await store.claimTask(id: task.id, agentID: owner.id, agentName: owner.name, at: t0)
            #expect(claimed?.taskID == task.id)
            #expect(try await store.task(id: task.id)?.agent == "prod-eu-agent")
        }
    }

    @Test("the claim refuses an agent missing one of the task's tags")
    func claimChecksTags() async throws {
        try await withStore { store in
            let untagged = try await store.seedAgent()
            let task = try await store.seedTask(tags: TagSet(["sec"]))
            await expectStoreError(.forbidden) {
                try await store.claimTask(id: task.id, agentID: untagged.id, agentName: untagged.name, at: t0)
            }
            #expect(try await store.task(id: task.id)?.status == .queued)
        }
    }
}
