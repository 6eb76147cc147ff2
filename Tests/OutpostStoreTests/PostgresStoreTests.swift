import Foundation
import OutpostCore
import OutpostTestSupport
import SQLKit
import Testing

@testable import OutpostStore

extension Trait where Self == ConditionTrait {
    /// Runs when the test command's PostgreSQL server is up, and always on a full run (where it must be).
    static var postgresAvailable: Self {
        .enabled("no PostgreSQL server (OUTPOST_POSTGRES_*): run scripts/test") {
            TestPostgres.isAvailable || TestPostgres.isRequired
        }
    }
}

/// What only the shared database has: several hub replicas (here: several stores,
/// each with its own pool) on one schema, and the ways connecting can fail.
@Suite("PostgreSQL store", .postgresAvailable)
struct PostgresStoreTests {
    @Test("six replicas starting at once: the migrations are applied exactly once, and every replica is ready")
    func concurrentMigrations() async throws {
        try await TestPostgres.withSchema { settings in
            let stores = try await withThrowingTaskGroup(of: PostgresHubStore.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let store = try await PostgresHubStore.connect(settings, logger: quietLogger)
                        try await store.migrate()
                        return store
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let applied = try await stores[0].appliedMigrations()
            #expect(applied == Migration.all.map(\.version), "each version recorded once")
            for store in stores {
                #expect(try await store.listTargets() == [])
                await store.shutdown()
            }
        }
    }

    @Test("two replicas racing for 40 tasks: each task is claimed by exactly one, none is lost")
    func claimsAcrossReplicas() async throws {
        try await TestPostgres.withSchema { settings in
            let first = try await PostgresHubStore.connect(settings, logger: quietLogger)
            try await first.migrate()
            let second = try await PostgresHubStore.connect(settings, logger: quietLogger)
            let agentA = try await first.seedAgent(name: "a")
            let agentB = try await first.seedAgent(name: "b")
            var ids: [String] = []
            for _ in 0..<40 { ids.append(try await first.seedTask().id) }
            let taskIDs = ids
            let winners = try await withThrowingTaskGroup(of: (String, String)?.self) { group in
                for id in taskIDs {
                    for (store, agent) in [(first, agentA), (second, agentB)] {
                        group.addTask {
                            let claimed = try await store.claimTask(id: id, agentID: agent.id, agentName: agent.name, at: t0)
                            return claimed == nil ? nil : (id, agent.id)
                        }
                    }
                }
                return try await group.reduce(into: [(String, String)]()) { if let won = $1 { $0.append(won) } }
            }
            #expect(winners.count == 40, "one claim per task")
            #expect(Set(winners.map(\.0)).count == 40)
            for (id, agentID) in winners {
                let task = try #require(await second.task(id: id))
                #expect(task.status == .assigned)
                #expect(task.agent == (agentID == agentA.id ? "a" : "b"))
            }
            await first.shutdown()
            await second.shutdown()
        }
    }

    @Test("nothing listening: refused at once, naming the server, never the password")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        var settings = try #require(TestPostgres.settings())
        settings.port = refusing.port
        settings.password = "canary-password-7781"
        let clock = ContinuousClock()
        let started = clock.now
        let error = await expectStoreError(.database) { try await PostgresHubStore.connect(settings, logger: quietLogger) }
        #expect(clock.now - started < .seconds(5))
        let message = error?.message ?? ""
        #expect(message.hasPrefix("cannot connect to postgres://\(settings.user)@127.0.0.1:\(refusing.port)/postgres"), "\(message)")
        #expect(message.lowercased().contains("refused"), "\(message)")
        #expect(!message.contains("canary-password-7781"))
    }

    @Test("a wrong password, an unknown database and a user without CREATE are each named")
    func refusals() async throws {
        var wrongPassword = try #require(TestPostgres.settings())
        wrongPassword.password = "canary-wrong-5521"
        let denied = await expectStoreError(.database) { try await PostgresHubStore.connect(wrongPassword, logger: quietLogger) }
        #expect(denied?.message.contains("the server refused user \(wrongPassword.user): wrong password") == true, "\(denied?.message ?? "")")
        #expect(denied?.message.contains("canary-wrong-5521") == false)

        let missing = try #require(TestPostgres.settings(database: "no_such_database_x"))
        let unknown = await expectStoreError(.database) { try await PostgresHubStore.connect(missing, logger: quietLogger) }
        #expect(unknown?.message.contains("database no_such_database_x does not exist") == true, "\(unknown?.message ?? "")")

        // A login role that may connect but not create tables in the schema it is given.
        try await TestPostgres.withSchema { settings in
            let role = "reader_" + String(UUID().uuidString.prefix(8)).lowercased()
            try await TestPostgres.execute("CREATE ROLE \(role) LOGIN PASSWORD 'reader-pw'")
            try await TestPostgres.execute("GRANT USAGE ON SCHEMA \(settings.schema!) TO \(role)")
            var reader = settings
            reader.user = role
            reader.password = "reader-pw"
            let forbidden = await expectStoreError(.database) { try await PostgresHubStore.connect(reader, logger: quietLogger) }
            #expect(
                forbidden?.message.contains("user \(role) may not create tables in schema \(settings.schema!)") == true,
                "\(forbidden?.message ?? "")")
            try await TestPostgres.execute("DROP OWNED BY \(role)")
            try await TestPostgres.execute("DROP ROLE \(role)")
        }
    }

    @Test("sslmode=require against a server without TLS is refused, saying so; prefer falls back to plain")
    func tlsRequiredButMissing() async throws {
        var required = try #require(TestPostgres.settings())
        required.sslMode = .require
        let error = await expectStoreError(.database) { try await PostgresHubStore.connect(required, logger: quietLogger) }
        #expect(error?.message.contains("does not support TLS") == true, "\(error?.message ?? "")")
        var preferred = required
        preferred.sslMode = .prefer
        let store = try await PostgresHubStore.connect(preferred, logger: quietLogger)
        await store.shutdown()
    }

    @Test("a store whose sessions the server ended carries on with fresh connections, failing at most once per ended session")
    func serverGoneMidway() async throws {
        try await TestPostgres.withSchema { settings in
            let store = try await PostgresHubStore.connect(settings, logger: quietLogger)
            try await store.migrate()
            // Both pool connections in use, then idle.
            async let first = store.listTargets()
            async let second = store.listTargets()
            _ = try await (first, second)
            // End every session of this store (named after its schema): the pool's connections die under it.
            let killed = try await TestPostgres.execute(
                "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
                    + "WHERE application_name = 'outpost-hub/\(settings.schema!)'")
            #expect(!killed.isEmpty)
            // The next calls carry on: a dead connection is replaced before its use, or the
            // transaction is tried again on a fresh one when its BEGIN met the closing. A
            // session the server ends only after answering a BEGIN (the signal arrives
            // late under load) fails that one transaction, naming why, and is not used
            // again: at most one failure per ended session, then the store works.
            let clock = ContinuousClock()
            let started = clock.now
            var failures: [String] = []
            for _ in 0..<killed.count {
                do {
                    #expect(try await store.listTargets() == [])
                } catch {
                    failures.append("\(error)")
                }
            }
            #expect(
                failures.allSatisfy { $0.contains("SQLSTATE 57P01") || $0.contains("connection to the server was closed") },
                "calls failed for another reason: \(failures)")
            #expect(try await store.listTargets() == [])
            #expect(clock.now - started < .seconds(20))
            await store.shutdown()
        }
    }
}
