import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// The API pieces of the web console (issue 15): the filtered, paged task list,
/// replacing a target, and expired console sessions leaving the store.
@Suite("Console API: task filters and pages, target replacement, sessions")
struct ConsoleAPITests {
    @Test("the task list filters by target and time and pages by cursor until next is left out")
    func filteredPages() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "web")
                try await hub.createTarget(api, name: "db")
                var web: [String] = []
                for i in 0..<5 {
                    web.append(try await hub.createTask(api, target: "web").id)
                    _ = try await hub.createTask(api, target: "db")
                    if i == 1 { hub.clock.advance(by: 10) }
                    hub.clock.advance(by: 1)
                }
                var seen: [String] = []
                var uri = "/api/v1/tasks?target=web&limit=2"
                for _ in 0..<10 {
                    let reply = try await api.send(.get, uri)
                    #expect(reply.status == .ok, "\(reply.text)")
                    let page = try reply.decode(TaskListResponse.self)
                    #expect(page.items.allSatisfy { $0.target == "web" })
                    seen += page.items.map(\.id)
                    guard let next = page.next else {
                        #expect(!reply.text.contains("\"next\""), "the last page leaves next out: \(reply.text)")
                        break
                    }
                    uri = "/api/v1/tasks?target=web&limit=2&after=\(next)"
                }
                #expect(seen == web.reversed())

                // Tasks 2...4 of each target came after the clock jumped by 10 s.
                let from = WireJSON.formatDate(t0Hub(hub).addingTimeInterval(5))
                let late = try await api.send(.get, "/api/v1/tasks?target=web&from=\(from)").decode(TaskListResponse.self)
                #expect(late.items.map(\.id) == Array(web.reversed().prefix(3)))
                #expect(late.next == nil)
                let early = try await api.send(.get, "/api/v1/tasks?to=\(from)&created_by=&agent=").decode(TaskListResponse.self)
                #expect(early.items.count == 4)
                let nobody = try await api.send(.get, "/api/v1/tasks?created_by=nobody&user_subject=alice&agent=w1")
                #expect(try nobody.decode(TaskListResponse.self).items.isEmpty)
                // The old shape still reads: items, and a client that ignores next.
                #expect(try await api.send(.get, "/api/v1/tasks").decode(ListResponse<TaskRecord>.self).items.count == 10)
            }
        }
    }

    /// The clock's start, where the first tasks were created.
    func t0Hub(_ hub: TestHub) -> Date { hub.clock.date.addingTimeInterval(-15) }

    @Test("a malformed from, to or after is a 400 that names it", arguments: [
        ("from=yesterday", "\"from\""), ("to=2026-13-01T00:00:00Z", "\"to\""), ("to=", "\"to\""), ("status=", "status"), ("after=nope", "\"after\""),
        ("after=MTcwMDAwMDAwMA", "\"after\""), ("status=done", "status"), ("limit=0", "\"limit\""),
    ])
    func malformedParameters(query: String, named: String) async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(.get, "/api/v1/tasks?\(query)")
                #expect(reply.status == .badRequest, "\(reply.text)")
                #expect(reply.error?.code == "invalid_request")
                #expect(reply.error?.message.contains(named) == true, "\(reply.text)")
            }
        }
    }

    @Test("PUT on a target replaces its settings and keeps its creation time; another name, bad settings or an unknown target are refused")
    func replaceTarget() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "web", tags: ["prod"], timeout: 60)
                let created = try await api.send(.get, "/api/v1/targets/web").decode(Target.self)
                let task = try await hub.createTask(api, target: "web")
                hub.clock.advance(by: 100)

                let replaced = try await api.send(
                    .put, "/api/v1/targets/web",
                    json: ["integration": "python", "tags": ["eu"], "env": ["MODE": "fast"], "timeout_seconds": 300])
                #expect(replaced.status == .ok, "\(replaced.text)")
                let target = try replaced.decode(Target.self)
                #expect(target.name == "web")
                #expect(target.integration == "python")
                #expect(target.tags == TagSet(["eu"]))
                #expect(target.env == ["MODE": "fast"])
                #expect(target.timeoutSeconds == 300)
                #expect(target.createdAt == created.createdAt)
                #expect(try await api.send(.get, "/api/v1/targets/web").decode(Target.self) == target)
                // The task submitted before keeps the target as it was.
                #expect(try await hub.store.taskAssignment(id: task.id)?.target.integration == "bash")

                let same = try await api.send(.put, "/api/v1/targets/web", json: ["name": "web", "integration": "bash"])
                #expect(same.status == .ok, "\(same.text)")
                #expect(try same.decode(Target.self).timeoutSeconds == nil)

                let renamed = try await api.send(.put, "/api/v1/targets/web", json: ["name": "api", "integration": "bash"])
                #expect(renamed.status == .badRequest)
                #expect(renamed.error?.message.contains("cannot be renamed") == true, "\(renamed.text)")
                let invalid = try await api.send(.put, "/api/v1/targets/web", json: ["integration": ""])
                #expect(invalid.status == .badRequest)
                let unknownField = try await api.send(.put, "/api/v1/targets/web", json: ["integration": "sh", "colour": 1])
                #expect(unknownField.status == .badRequest)
                let unpinnable = try await api.send(
                    .put, "/api/v1/targets/web", json: ["integration": "sh", "agent_types": ["no-such-type"]])
                #expect(unpinnable.status == .badRequest)
                #expect(try await api.send(.get, "/api/v1/targets/web").decode(Target.self).integration == "bash")

                let missing = try await api.send(.put, "/api/v1/targets/nowhere", json: ["integration": "bash"])
                #expect(missing.status == .notFound, "\(missing.text)")
                #expect(try await hub.store.target(named: "nowhere") == nil)
            }
        }
    }

    @Test("the leader's sweep deletes expired console sessions and keeps the others")
    func sweepDeletesExpiredSessions() async throws {
        try await TestHub.with { hub in
            let token = try #require(try await hub.store.listAPITokens().first)
            let now = hub.clock.date
            try await hub.store.insertConsoleSession(
                ConsoleSessionRow(idHash: "expired", tokenID: token.id, createdAt: now, expiresAt: now.addingTimeInterval(30)))
            try await hub.store.insertConsoleSession(
                ConsoleSessionRow(idHash: "live", tokenID: token.id, createdAt: now, expiresAt: now.addingTimeInterval(7200)))
            hub.clock.advance(by: 60)
            await Sweeper(hub: hub.hub).sweep(now: hub.clock.date)
            #expect(try await hub.store.deleteConsoleSessions(expiredBefore: hub.clock.date) == 0, "the sweep deleted it")
            #expect(try await hub.store.consoleSession(idHash: "live", now: hub.clock.date) != nil)
        }
    }
}
