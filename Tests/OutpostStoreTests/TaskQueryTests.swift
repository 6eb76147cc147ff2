import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

/// The console's task list: filters, time ranges and keyset pages.
@Suite("Filtered task listings and their pages")
struct TaskQueryTests {
    /// 24 tasks over 3 targets, 2 submitters (and none), 2 agents (and none), 2 user
    /// subjects (and none), queued, running and succeeded, created in groups of three
    /// at the same instant (ties broken by id) with a fraction no decimal spells short.
    func seedListing(_ store: any SQLHubStore) async throws -> [TaskRecord] {
        let agents = [try await store.seedAgent(name: "w1"), try await store.seedAgent(name: "w2")]
        let target = Target(name: "web", integration: "bash", createdAt: t0)
        var ids: [String] = []
        for i in 0..<24 {
            let id = "t" + (i < 10 ? "0\(i)" : "\(i)")
            let task = TaskRecord(
                id: id, target: ["web", "db", "batch"][i % 3], createdAt: Self.createdAt(group: i / 3),
                timeoutSeconds: 60, createdBy: i % 4 == 0 ? nil : ["ci", "admin"][i % 2])
            try await store.insertTask(
                task, assignment: TaskAssignment(taskID: id, target: target, script: "true", timeoutSeconds: 60),
                tags: .empty)
            ids.append(id)
            switch i % 5 {
            case 2, 3, 4:
                let agent = agents[i % 5 == 3 ? 1 : 0]
                _ = try await store.claimTask(id: id, agentID: agent.id, agentName: agent.name, at: t0)
                let subject: String? = [2: "alice", 3: "bob"][i % 5]
                _ = try await store.startTask(id: id, agentID: agent.id, submitter: VerifiedSubmitter(userSubject: subject), at: t0)
                if i % 5 == 4 {
                    _ = try await store.finishTask(
                        id: id, agentID: agent.id,
                        finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 0), at: t0)
                }
            default:
                break
            }
        }
        var records: [TaskRecord] = []
        for id in ids { records.append(try #require(await store.task(id: id))) }
        return records
    }

    /// Made from unix seconds, as the store keeps them, so it equals what reads back.
    static func createdAt(group: Int) -> Date {
        Date(timeIntervalSince1970: t0.timeIntervalSince1970 + Double(group) * 1.5 + 0.123_456_789_012)
    }

    /// Newest first, ties by id descending: the order the store promises.
    static func newestFirst(_ tasks: [TaskRecord]) -> [String] {
        tasks.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
    }

    /// Reads every page of `query` with `limit`, each cursor through its text as the API passes it.
    func pageThrough(_ store: any SQLHubStore, _ query: TaskQuery, limit: Int) async throws -> [String] {
        var query = query
        query.limit = limit
        var ids: [String] = []
        for _ in 0..<100 {
            let page = try await store.listTasks(query)
            ids += page.items.map(\.id)
            guard let next = page.next else { return ids }
            #expect(page.items.count == limit, "a page before the last is full \(onBackend)")
            #expect(next == TaskCursor(after: try #require(page.items.last)))
            let cursor = try #require(TaskCursor(next.description))
            query.after = cursor
        }
        Issue.record("paging did not end \(onBackend)")
        return ids
    }

    static let filters: [(name: String, query: TaskQuery, matches: @Sendable (TaskRecord) -> Bool)] = [
        ("everything", TaskQuery(), { _ in true }),
        ("a target", TaskQuery(target: "db"), { $0.target == "db" }),
        ("an agent", TaskQuery(agent: "w1"), { $0.agent == "w1" }),
        ("a submitter", TaskQuery(createdBy: "ci"), { $0.createdBy == "ci" }),
        ("a user subject", TaskQuery(userSubject: "alice"), { $0.userSubject == "alice" }),
        ("queued", TaskQuery(status: .queued), { $0.status == .queued }),
        ("running", TaskQuery(status: .running), { $0.status == .running }),
        ("succeeded", TaskQuery(status: .succeeded), { $0.status == .succeeded }),
        ("a target's running tasks", TaskQuery(status: .running, target: "web"), { $0.status == .running && $0.target == "web" }),
        ("a target's queued tasks", TaskQuery(status: .queued, target: "batch"), { $0.status == .queued && $0.target == "batch" }),
        ("an agent's tasks of one submitter", TaskQuery(agent: "w1", createdBy: "admin"), { $0.agent == "w1" && $0.createdBy == "admin" }),
        (
            "a time range", TaskQuery(createdFrom: createdAt(group: 2), createdBefore: createdAt(group: 6)),
            { $0.createdAt >= createdAt(group: 2) && $0.createdAt < createdAt(group: 6) }
        ),
        (
            "a target in a time range", TaskQuery(target: "web", createdFrom: createdAt(group: 1), createdBefore: createdAt(group: 7)),
            { $0.target == "web" && $0.createdAt >= createdAt(group: 1) && $0.createdAt < createdAt(group: 7) }
        ),
        ("a target nobody used", TaskQuery(target: "nowhere"), { _ in false }),
    ]

    @Test("paging through every filter returns each matching task exactly once, newest first, at any page size")
    func pagingIsExact() async throws {
        try await withStore { store in
            let tasks = try await seedListing(store)
            #expect(Set(tasks.map(\.status)) == [.queued, .running, .succeeded])
            #expect(tasks.contains { $0.userSubject == "alice" } && tasks.contains { $0.agent == "w2" })
            for filter in Self.filters {
                let expected = Self.newestFirst(tasks.filter(filter.matches))
                for limit in [1, 2, 3, 5, 100] {
                    let listed = try await pageThrough(store, filter.query, limit: limit)
                    #expect(listed == expected, "\(filter.name), pages of \(limit) \(onBackend)")
                }
            }
        }
    }

    @Test("a time range starts at from, inclusive, and ends before to")
    func timeRangeBounds() async throws {
        try await withStore { store in
            let tasks = try await seedListing(store)
            let page = try await store.listTasks(
                TaskQuery(createdFrom: Self.createdAt(group: 3), createdBefore: Self.createdAt(group: 4)))
            #expect(page.items.map(\.id) == Self.newestFirst(tasks.filter { $0.createdAt == Self.createdAt(group: 3) }))
            #expect(page.items.count == 3)
            #expect(page.next == nil)
            let empty = try await store.listTasks(
                TaskQuery(createdFrom: Self.createdAt(group: 4), createdBefore: Self.createdAt(group: 4)))
            #expect(empty.items.isEmpty)
        }
    }

    @Test("the last page has no cursor, also when it is exactly full; a limit below 1 is an empty last page")
    func lastPage() async throws {
        try await withStore { store in
            _ = try await seedListing(store)
            let web = TaskQuery(target: "web", limit: 8)
            let full = try await store.listTasks(web)
            #expect(full.items.count == 8)
            #expect(full.next == nil)
            var halves = web
            halves.limit = 4
            let first = try await store.listTasks(halves)
            let cursor = try #require(first.next)
            halves.after = cursor
            let second = try await store.listTasks(halves)
            #expect(second.items.count == 4)
            #expect(second.next == nil)
            #expect(try await store.listTasks(TaskQuery(limit: 0)) == TaskPage(items: [], next: nil))
            #expect(try await store.listTasks(TaskQuery(limit: -3)) == TaskPage(items: [], next: nil))
        }
    }

    @Test("tasks submitted between two pages neither show up on the next page nor push a task onto it twice")
    func newTasksBetweenPages() async throws {
        try await withStore { store in
            let tasks = try await seedListing(store)
            let first = try await store.listTasks(TaskQuery(limit: 5))
            for i in 0..<3 { try await store.seedTask(id: "new\(i)", createdAt: t0.addingTimeInterval(3600)) }
            var rest = TaskQuery(limit: 100)
            rest.after = first.next
            let second = try await store.listTasks(rest)
            #expect(first.items.map(\.id) + second.items.map(\.id) == Self.newestFirst(tasks))
        }
    }

    @Test("the old listing by status still answers as before")
    func statusListing() async throws {
        try await withStore { store in
            let tasks = try await seedListing(store)
            #expect(
                try await store.listTasks(status: .running, limit: 3)
                    == Array(tasks.filter { $0.status == .running }.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(3)))
        }
    }

    @Test("a task's stored assignment is read back for showing and re-running, never with a user token")
    func assignment() async throws {
        try await withStore { store in
            let target = Target(
                name: "orders-db", integration: "postgres", tags: TagSet(["prod"]), env: ["PGDATABASE": "orders"],
                secrets: [SecretReference(provider: "vault", path: "db/orders")], timeoutSeconds: 120, createdAt: t0)
            let task = TaskRecord(
                id: "tsk_assigned", target: target.name, createdAt: t0, timeoutSeconds: 90, userTokenRequired: true)
            let assignment = TaskAssignment(
                taskID: task.id, target: target, script: "psql -c 'select 1'", timeoutSeconds: 90,
                userToken: "eyJhbGciOiJub25lIn0.e30.")
            try await store.insertTask(task, assignment: assignment, tags: target.tags)
            var expected = assignment
            expected.userToken = nil
            #expect(try await store.taskAssignment(id: task.id) == expected)
            #expect(try await store.taskAssignment(id: "tsk_missing") == nil)
        }
    }

    @Test("updating a target replaces its settings, keeps its name and creation time, and leaves tasks' snapshots")
    func updateTarget() async throws {
        try await withStore { store in
            let original = Target(name: "local", integration: "bash", env: ["GREETING": "hello"], createdAt: t0)
            try await store.insertTarget(original)
            let task = try await store.seedTask()
            let replaced = Target(
                name: "local", integration: "python", tags: TagSet(["prod", "eu"]), agentTypes: ["default"],
                env: ["MODE": "fast"], secrets: [SecretReference(provider: "aws", path: "app/key", mapping: ["KEY": "k"])],
                timeoutSeconds: 300, createdAt: t0.addingTimeInterval(9999))
            #expect(try await store.updateTarget(replaced))
            var expected = replaced
            expected.createdAt = t0
            #expect(try await store.target(named: "local") == expected)
            #expect(try await store.listTargets() == [expected])

            var cleared = expected
            cleared.timeoutSeconds = nil
            cleared.tags = .empty
            cleared.secrets = []
            #expect(try await store.updateTarget(cleared))
            #expect(try await store.target(named: "local") == cleared)

            #expect(try await !store.updateTarget(Target(name: "missing", integration: "bash", createdAt: t0)))
            #expect(try await store.target(named: "missing") == nil)
            #expect(try await store.taskAssignment(id: task.id)?.target.integration == "bash")
        }
    }
}

@Suite("Task cursors")
struct TaskCursorTests {
    @Test("a cursor reads back from its text exactly, and the text is URL-safe", arguments: [
        TaskCursor(createdAt: t0, id: "tsk_01h_x"),
        TaskCursor(createdAt: fractional(0.5), id: "t"),
        TaskCursor(createdAt: t0.addingTimeInterval(1.1), id: "arithmetic"),
        TaskCursor(createdAt: Date(timeIntervalSince1970: 0.1), id: "id with spaces/and+slashes_ü"),
        TaskCursor(createdAt: Date(timeIntervalSince1970: -12.75), id: "before-1970"),
        TaskCursor(createdAt: Date(timeIntervalSince1970: 4_102_444_800.000_001), id: "tsk_2100"),
    ])
    func roundTrip(cursor: TaskCursor) throws {
        let text = cursor.description
        #expect(TaskCursor(text) == cursor)
        #expect(try #require(TaskCursor(text)).createdAt.timeIntervalSince1970 == cursor.createdAt.timeIntervalSince1970)
        #expect(text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }, "\(text)")
    }

    static func encoded(_ plain: String) -> String { Base64URL.encode(Array(plain.utf8)) }

    @Test("anything but a cursor's text is refused", arguments: [
        "", "not a cursor", "!!!!", "YQ==", "YQ", encoded("1700000000.5"), encoded("1700000000.5_"),
        encoded("_tsk_1"), encoded("soon_tsk_1"), encoded("nan_tsk_1"), encoded("inf_tsk_1"), encoded("1e400_tsk_1"),
        encoded("17 _tsk_1"), encoded("1700000000_tsk\n1"), String(repeating: "A", count: 2048),
        encoded("1700000000_tsk_1") + "=",
    ])
    func malformed(text: String) {
        #expect(TaskCursor(text) == nil, "\(text)")
    }
}
