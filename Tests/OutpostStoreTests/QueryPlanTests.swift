import Foundation
import OutpostCore
import SQLKit
import Testing

@testable import OutpostStore

/// Issue 13: a hub with years of finished tasks dispatches as fast as a new one. Timing
/// tests are banned, so these ask each database how it runs exactly the statements the
/// store sent, with a long history present, and fail when one reads that history.
// Serialized: each test seeds a history, and SQLite writes it on the calling thread;
// four at once would starve the other suites' time-bound tests of threads.
@Suite("Query plans with a long history", .serialized)
struct QueryPlanTests {
    /// Finished tasks, all held by the agent under test (its history is the worst case
    /// for the queries that look at one agent's tasks).
    static let finishedTasks = 20_000
    static let offlineAgents = 2_000

    /// A store with the history, and the live agent that did all that work.
    func withHistory(_ body: (StatementRecordingStore, AgentRecord) async throws -> Void) async throws {
        try await withStore { store in
            let seeding = try #require(store as? any BenchmarkSeeding)
            try await seeding.seedOfflineAgentsForBenchmark(count: Self.offlineAgents, lastSeenAt: t0.addingTimeInterval(-86_400))
            let agent = try await store.seedAgent(name: "worker", at: t0)
            try await seeding.seedFinishedTasksForBenchmark(
                count: Self.finishedTasks, createdAt: t0.addingTimeInterval(-Double(Self.finishedTasks) - 60), spacing: 1,
                agent: (agent.id, agent.name))
            try await body(StatementRecordingStore(store), agent)
        }
    }

    @Test("submit, claim, start, log, finish, reloads, timeouts and heartbeats read only unfinished work")
    func dispatchPath() async throws {
        try await withHistory { store, agent in
            let count = try await store.read("counting tasks") { db in
                try await db.raw("SELECT COUNT(*) AS n FROM tasks").first()?.column("n", as: Int.self)
            }
            #expect(count == Self.finishedTasks, "the history is there \(onBackend)")
            var steps: [(name: String, plans: [QueryPlan])] = []
            func step(_ name: String, _ operation: () async throws -> Void) async throws {
                steps.append((name, try await store.plans(of: operation)))
            }
            var task = TaskRecord(id: "", target: "", createdAt: t0, timeoutSeconds: 60)
            try await step("submit") { task = try await store.seedTask(createdAt: t0) }
            try await step("queue reload") { _ = try await store.queuedTasks() }
            try await step("claim") { _ = try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0) }
            try await step("start") { _ = try await store.startTask(id: task.id, agentID: agent.id, at: t0) }
            try await step("append log") {
                _ = try await store.appendLog(taskID: task.id, agentID: agent.id, offset: 0, bytes: Array("hello".utf8))
            }
            try await step("active reload") { _ = try await store.activeTasks() }
            try await step("agent by token") { _ = try await store.agent(tokenHash: "token-hash-\(agent.id)") }
            try await step("agent by id") { _ = try await store.agent(id: agent.id) }
            try await step("heartbeat") { try await store.recordHeartbeats([agent.id: t0.addingTimeInterval(5)]) }
            try await step("timeouts") { _ = try await store.timeOutOverdueTasks(now: t0.addingTimeInterval(10), grace: 10) }
            try await step("silent agents") { _ = try await store.agentsSilentSince(t0.addingTimeInterval(60)) }
            try await step("finish") {
                _ = try await store.finishTask(
                    id: task.id, agentID: agent.id,
                    finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 5), at: t0)
            }
            try await step("read log") { _ = try await store.readLog(taskID: task.id, offset: 0, limit: 100) }
            let queued = try await store.seedTask(createdAt: t0)
            try await step("cancel") { _ = try await store.requestCancel(id: queued.id, at: t0) }
            try await step("user-token reload") { _ = try await store.rejectTasksAwaitingUserToken(reason: "restart", at: t0) }
            let held = try await store.seedTask(createdAt: t0)
            _ = try await store.claimTask(id: held.id, agentID: agent.id, agentName: agent.name, at: t0)
            try await step("agent lost") { _ = try await store.markAgentOffline(id: agent.id, at: t0, reason: "silent") }

            for (name, plans) in steps {
                #expect(!plans.isEmpty, "\(name) sent no statement \(onBackend)")
                for plan in plans {
                    #expect(plan.historyReads.isEmpty, "\(name) reads the history \(onBackend): \(plan)")
                }
            }
            // And through the indexes meant for them, not by luck of a small table.
            let expected = [
                ("queue reload", "tasks_queued"), ("active reload", "tasks_active"), ("timeouts", "tasks_active"),
                ("agent by id", "tasks_active_agent"), ("agent by token", "tasks_active_agent"),
                ("silent agents", "agents_live_last_seen"), ("user-token reload", "tasks_awaiting_user_token"),
            ]
            for (name, index) in expected {
                let plans = steps.first { $0.name == name }?.plans ?? []
                #expect(plans.contains { $0.uses(index) }, "\(name) does not read \(index) \(onBackend): \(plans)")
            }
        }
    }

    @Test("every listing walks one index newest first and stops at the limit, without sorting the history")
    func listings() async throws {
        try await withHistory { store, agent in
            // Two of each status after the history, so every listing has rows to return.
            var byStatus: [TaskStatus: [String]] = [:]
            for status in TaskStatus.seedingOrder {
                for second in 0..<2 {
                    let (task, _) = try await store.seedTask(in: status, at: t0.addingTimeInterval(Double(second)))
                    byStatus[status, default: []].insert(task.id, at: 0)
                }
            }
            let listings: [(TaskStatus?, String)] =
                [(nil, "tasks_created_id")]
                + TaskStatus.allCases.map { status in
                    switch status {
                    case .queued: (status, "tasks_queued")
                    case .assigned, .running: (status, "tasks_active")
                    default: (status, "tasks_finished_status")
                    }
                }
            for (status, index) in listings {
                var listed: [TaskRecord] = []
                let plans = try await store.plans { listed = try await store.listTasks(status: status, limit: 2) }
                if let status {
                    #expect(listed.map(\.id) == byStatus[status], "\(status) \(onBackend)")
                } else {
                    #expect(listed.count == 2)
                }
                let plan = try #require(plans.first)
                // PostgreSQL may walk all tasks newest first instead, when its statistics say the
                // status is so common that the first rows it meets will do: still no sort, no scan.
                let walksAll = StoreBackend.current == .postgres && plan.uses("tasks_created_id")
                #expect(plan.uses(index) || walksAll, "listing \(status?.rawValue ?? "all") \(onBackend): \(plan)")
                #expect(!plan.sorts, "listing \(status?.rawValue ?? "all") sorts \(onBackend): \(plan)")
                #expect(!plan.accesses.contains { $0.index == nil }, "listing scans the table \(onBackend): \(plan)")
            }
            _ = agent
        }
    }

    @Test("filtered listings and later pages walk their column's index newest first from the cursor, without sorting")
    func filteredListings() async throws {
        try await withHistory { store, _ in
            // A few tasks of a target, submitter, agent and user the history does not have.
            let nightShift = try await store.seedAgent(name: "night-shift", at: t0)
            var seeded: [TaskRecord] = []
            for second in 0..<4 {
                seeded.append(try await store.seedTask(createdAt: t0.addingTimeInterval(Double(second))))
            }
            for task in seeded.prefix(2) {
                _ = try await store.claimTask(id: task.id, agentID: nightShift.id, agentName: nightShift.name, at: t0)
                _ = try await store.startTask(id: task.id, agentID: nightShift.id, submitter: VerifiedSubmitter(userSubject: "alice"), at: t0)
            }
            let newest = try #require(seeded.last)
            let cursor = TaskCursor(after: newest)
            let from = t0.addingTimeInterval(-100), before = t0.addingTimeInterval(100)
            // (what, query, the index it must read, whether PostgreSQL may pick another index
            // because its statistics show a status or time range as narrow as the column)
            let listings: [(String, TaskQuery, String, Bool)] = [
                ("target", TaskQuery(target: "local"), "tasks_target_created_id", false),
                ("agent", TaskQuery(agent: "night-shift"), "tasks_agent_name_created_id", false),
                ("submitter", TaskQuery(createdBy: "admin"), "tasks_created_by_created_id", false),
                ("user", TaskQuery(userSubject: "alice"), "tasks_user_subject_created_id", false),
                ("target, next page", TaskQuery(target: "local", after: cursor), "tasks_target_created_id", false),
                ("agent, next page", TaskQuery(agent: "night-shift", after: cursor), "tasks_agent_name_created_id", false),
                ("submitter, next page", TaskQuery(createdBy: "admin", after: cursor), "tasks_created_by_created_id", false),
                ("user, next page", TaskQuery(userSubject: "alice", after: cursor), "tasks_user_subject_created_id", false),
                (
                    "target in a time range, next page",
                    TaskQuery(target: "local", createdFrom: from, createdBefore: before, after: cursor),
                    "tasks_target_created_id", true
                ),
                ("target and status", TaskQuery(status: .running, target: "local"), "tasks_target_created_id", true),
                ("agent and finished status", TaskQuery(status: .succeeded, agent: "night-shift"), "tasks_agent_name_created_id", true),
                ("submitter and queued", TaskQuery(status: .queued, createdBy: "admin", after: cursor), "tasks_created_by_created_id", true),
                ("everything, next page", TaskQuery(after: cursor), "tasks_created_id", false),
                ("a time range", TaskQuery(createdFrom: from, createdBefore: before), "tasks_created_id", false),
                ("queued, next page", TaskQuery(status: .queued, after: cursor), "tasks_queued", false),
                ("running, next page", TaskQuery(status: .running, after: cursor), "tasks_active", false),
                // PostgreSQL may walk all tasks newest first when most are succeeded (as `listings` allows).
                ("finished, next page", TaskQuery(status: .succeeded, after: TaskCursor(createdAt: t0, id: "x")), "tasks_finished_status", true),
            ]
            for (name, base, index, postgresMayChoose) in listings {
                var query = base
                query.limit = 2
                var page = TaskPage(items: [], next: nil)
                let plans = try await store.plans { page = try await store.listTasks(query) }
                let expected = Array(
                    try await store.listTasks(status: nil, limit: 100).filter { task in
                        (query.status.map { task.status == $0 } ?? true) && (query.target.map { task.target == $0 } ?? true)
                            && (query.agent.map { task.agent == $0 } ?? true)
                            && (query.createdBy.map { task.createdBy == $0 } ?? true)
                            && (query.userSubject.map { task.userSubject == $0 } ?? true)
                            && (query.createdFrom.map { task.createdAt >= $0 } ?? true)
                            && (query.createdBefore.map { task.createdAt < $0 } ?? true)
                            && (query.after.map { ($0.createdAt, $0.id) > (task.createdAt, task.id) } ?? true)
                    }.prefix(2))
                #expect(page.items.map(\.id) == expected.map(\.id), "\(name) \(onBackend)")
                let plan = try #require(plans.first)
                let mayChoose = postgresMayChoose && StoreBackend.current == .postgres
                #expect(plan.uses(index) || mayChoose, "\(name) does not read \(index) \(onBackend): \(plan)")
                #expect(!plan.sorts, "\(name) sorts \(onBackend): \(plan)")
                #expect(!plan.accesses.contains { $0.index == nil }, "\(name) scans the table \(onBackend): \(plan)")
            }
        }
    }

    @Test("retention finds the oldest finished tasks through their index and deletes them by key")
    func retention() async throws {
        try await withHistory { store, _ in
            var deleted = 0
            let plans = try await store.plans {
                deleted = try await store.deleteFinishedTasks(finishedBefore: t0, limit: 100)
            }
            #expect(deleted == 100)
            let find = try #require(plans.first)
            #expect(find.uses("tasks_finished"), "\(onBackend): \(find)")
            #expect(!find.sorts, "\(onBackend): \(find)")
            for plan in plans.dropFirst() {
                #expect(plan.historyReads.isEmpty, "the delete reads the history \(onBackend): \(plan)")
            }
        }
    }

    @Test("the check itself: a query that reads every task is caught")
    func checkCatchesScans() async throws {
        try await withHistory { store, _ in
            let plans = try await store.plans {
                _ = try await store.read("scanning") { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM tasks WHERE exit_code = 1").all()
                }
            }
            #expect(plans.count == 1)
            #expect(plans.allSatisfy { !$0.historyReads.isEmpty }, "\(onBackend): \(plans)")
        }
    }
}

@Suite("Partial index conditions")
struct StoredConditionTests {
    @Test("the finished-task conditions name exactly the terminal statuses")
    func terminalStatuses() {
        let terminal = TaskStatus.allCases.filter(\.isTerminal).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let unfinished = TaskStatus.allCases.filter { !$0.isTerminal }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        #expect(StoredConditions.finished == "status IN (\(terminal))")
        #expect(StoredConditions.expirable == "status NOT IN (\(unfinished))")
    }

    @Test("migration 7 spells each condition as the queries do", arguments: [
        ("tasks_queued", StoredConditions.queued), ("tasks_active", StoredConditions.active),
        ("tasks_active_agent", StoredConditions.active), ("tasks_finished_status", StoredConditions.finished),
        ("tasks_finished", StoredConditions.expirable), ("tasks_awaiting_user_token", StoredConditions.awaitingUserToken),
        ("agents_live_last_seen", "status <> 'offline'"),
    ])
    func spelling(index: String, condition: String) throws {
        let statement = try #require(
            Migration.hotTables.statements(.sqlite).first { $0.contains("CREATE INDEX \(index) ") })
        let flat = statement.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.hasSuffix("WHERE \(condition)"), "\(flat)")
    }
}
