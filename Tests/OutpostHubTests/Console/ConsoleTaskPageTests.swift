import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// A task's page, its log as text and as events, cancel and re-run, and the agents'
/// pages, through the real router with a simulated agent.
@Suite("Web console tasks")
struct ConsoleTaskPageTests {
    typealias S = ConsoleSignInTests

    /// A running task with `log` written by a simulated agent.
    static func runningTask(_ hub: TestHub, _ api: API, log: String) async throws -> (task: TaskRecord, agent: SimAgent) {
        let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken(), name: "agent-one")
        try await hub.createTarget(api, name: "local")
        let task = try await hub.createTask(api, target: "local", script: "printf 'hi <there>'")
        let poll = try await agent.poll(api)
        #expect(poll.assignments.map(\.taskID) == [task.id])
        #expect(try await agent.start(api, task.id).status == .ok)
        if !log.isEmpty { #expect(try await agent.appendLog(api, task.id, offset: 0, log).status == .ok) }
        return (try #require(try await hub.store.task(id: task.id)), agent)
    }

    @Test func theTaskPageShowsItsFactsAndScriptEscapedAndTheLogLinks() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (task, _) = try await Self.runningTask(hub, api, log: "one\n")
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/tasks/\(task.id)", token: .none, headers: S.browser(cookie: cookie))
                #expect(page.status == .ok)
                #expect(page.text.contains("id=\"task-status\" class=\"status status-running"))
                #expect(page.text.contains("<pre id=\"task-script\">printf &#39;hi &lt;there&gt;&#39;</pre>"))
                #expect(page.text.contains("href=\"/tasks/\(task.id)/log.txt?download=1\""))
                #expect(page.text.contains("id=\"cancel\""))
                #expect(page.text.contains("data-log-bytes=\"4\""))
                let missing = try await api.send(.get, "/tasks/nope", token: .none, headers: S.browser(cookie: cookie))
                #expect(missing.status == .notFound)
                #expect(missing.text.contains("no task with id"))
            }
        }
    }

    @Test func theLogIsServedWholeOrInPartsAndAsADownload() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (task, _) = try await Self.runningTask(hub, api, log: "0123456789")
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let whole = try await api.send(.get, "/tasks/\(task.id)/log.txt", token: .none, headers: S.browser(cookie: cookie))
                #expect(whole.text == "0123456789")
                let part = try await api.send(.get, "/tasks/\(task.id)/log.txt?offset=6&limit=3", token: .none, headers: S.browser(cookie: cookie))
                #expect(part.text == "678")
                #expect(part.header("Outpost-Next-Offset") == "9")
                let download = try await api.send(.get, "/tasks/\(task.id)/log.txt?download=1", token: .none, headers: S.browser(cookie: cookie))
                #expect(download.header("Content-Disposition") == "attachment; filename=\"outpost-task-\(task.id).log\"")
                let past = try await api.send(.get, "/tasks/\(task.id)/log.txt?offset=11", token: .none, headers: S.browser(cookie: cookie))
                #expect(past.status == .badRequest)
            }
        }
    }

    @Test func theEventStreamSendsTheRestOfTheLogTheStatusAndEnds() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                // "é" is two bytes: a cut between them must not reach the browser.
                let (task, agent) = try await Self.runningTask(hub, api, log: "ab\u{1b}[31mé\n")
                #expect(try await agent.finish(api, task.id, logBytes: 10).status == .ok)
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let events = try await api.send(.get, "/tasks/\(task.id)/log/events?offset=2", token: .none, headers: S.browser(cookie: cookie))
                #expect(events.header("Content-Type") == "text/event-stream; charset=utf-8")
                let text = events.text
                #expect(text.contains("event: status\ndata: {\"status\":\"succeeded\",\"terminal\":true"))
                #expect(text.contains("event: log\nid: 10\ndata: \"\\u001b[31mé\\n\"\n\n"))
                #expect(text.hasSuffix("\n\n") && text.contains("event: end\n"))
                var resumed = S.browser(cookie: cookie)
                resumed[.lastEventID] = "10"
                let again = try await api.send(.get, "/tasks/\(task.id)/log/events", token: .none, headers: resumed)
                #expect(!again.text.contains("event: log"))
                #expect(again.text.contains("event: end"))
            }
        }
    }

    @Test func cancelAndRunAgainFromThePage() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (task, _) = try await Self.runningTask(hub, api, log: "")
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/tasks/\(task.id)", token: .none, headers: S.browser(cookie: cookie))
                let csrf = try S.csrf(in: page.text)
                let cancel = try await api.send(
                    .post, "/tasks/\(task.id)/cancel", token: .none, body: S.form([("_csrf", csrf)]), contentType: S.formType,
                    headers: S.browser(cookie: cookie))
                #expect(cancel.status == .seeOther)
                #expect(try await hub.store.task(id: task.id)?.cancelRequested == true)

                let rerun = try await api.send(
                    .post, "/tasks/\(task.id)/rerun", token: .none, body: S.form([("_csrf", csrf)]), contentType: S.formType,
                    headers: S.browser(cookie: cookie))
                #expect(rerun.status == .seeOther)
                let location = try #require(rerun.header("Location"))
                let newID = String(location.dropFirst("/tasks/".count))
                #expect(newID != task.id)
                let again = try #require(try await hub.store.task(id: newID))
                #expect(again.target == "local")
                #expect(try await hub.store.taskAssignment(id: newID)?.script == "printf 'hi <there>'")
            }
        }
    }

    @Test("a signed task shows its signature and offers no console re-run, which could only make an unsigned copy")
    func signedTaskPage() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let id = SignedTaskSubmissionTests.id
                let created = try await api.send(
                    .post, "/api/v1/tasks",
                    encodable: CreateTaskRequest(
                        target: "local", script: "echo hi", timeoutSeconds: 60, id: id,
                        signature: try SignedTaskSubmissionTests.envelope()))
                #expect(created.status == .created)
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/tasks/\(id)", token: .none, headers: S.browser(cookie: cookie))
                #expect(page.text.contains(#"<dd id="task-signature">signed; no agent has verified it</dd>"#))
                #expect(page.text.contains(#"id="rerun-signed""#))
                #expect(!page.text.contains(#"id="rerun-submit""#))
                let csrf = try S.csrf(in: page.text)
                let rerun = try await api.send(
                    .post, "/tasks/\(id)/rerun", token: .none, body: S.form([("_csrf", csrf)]), contentType: S.formType,
                    headers: S.browser(cookie: cookie))
                #expect(rerun.status == .seeOther)
                #expect(rerun.header("Location") == "/tasks/\(id)")
                #expect(try await hub.store.listTasks(status: nil, limit: 10).count == 1, "no unsigned copy was made")
            }
        }
    }

    @Test func theTaskListFiltersPagesAndRemembersItsFilter() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                try await hub.createTarget(api, name: "other")
                var ids: [String] = []
                for index in 0..<(Console.taskPageSize + 5) {
                    ids.append(try await hub.createTask(api, target: index % 5 == 0 ? "other" : "local").id)
                }
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let first = try await api.send(.get, "/tasks?status=", token: .none, headers: S.browser(cookie: cookie))
                #expect(first.status == .ok)
                #expect(first.text.components(separatedBy: "<tr data-task=").count - 1 == Console.taskPageSize)
                let next = try #require(first.text.range(of: "id=\"next-page\" href=\"")).upperBound
                let href = String(first.text[next...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
                let second = try await api.send(.get, href, token: .none, headers: S.browser(cookie: cookie))
                #expect(second.text.components(separatedBy: "<tr data-task=").count - 1 == 5)
                #expect(second.text.contains("id=\"first-page\""))
                #expect(!second.text.contains("id=\"next-page\""))

                let filtered = try await api.send(.get, "/tasks?target=other", token: .none, headers: S.browser(cookie: cookie))
                #expect(filtered.text.components(separatedBy: "<tr data-task=").count - 1 == 11)
                let kept = try #require(filtered.headers[values: .setCookie].first { $0.hasPrefix("outpost_task_filter=") })
                let keptValue = String(kept.split(separator: ";")[0].dropFirst("outpost_task_filter=".count))
                var headers = S.browser(cookie: cookie)
                headers[.cookie] = "\(ConsoleSessions.cookieName)=\(cookie); outpost_task_filter=\(keptValue)"
                let back = try await api.send(.get, "/tasks", token: .none, headers: headers)
                #expect(back.text.components(separatedBy: "<tr data-task=").count - 1 == 11)
                #expect(back.text.contains("id=\"filter-target\" name=\"target\" value=\"other\""))
                let bad = try await api.send(.get, "/tasks?from=someday", token: .none, headers: S.browser(cookie: cookie))
                #expect(bad.status == .badRequest)
                #expect(bad.text.contains("from: write a time as"))
            }
        }
    }

    @Test func agentsAreListedWithTheirHistoryAndCanBeDrained() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (task, agent) = try await Self.runningTask(hub, api, log: "")
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let list = try await api.send(.get, "/agents", token: .none, headers: S.browser(cookie: cookie))
                #expect(list.text.contains("<tr data-agent=\"agent-one\">"))
                #expect(list.text.contains("class=\"agent-status agent-online\">online<"))
                #expect(list.text.contains("<td class=\"agent-running num\">1</td>"))
                let page = try await api.send(.get, "/agents/agent-one", token: .none, headers: S.browser(cookie: cookie))
                #expect(page.text.contains("<tr data-task=\"\(task.id)\">"))
                let csrf = try S.csrf(in: page.text)
                let drain = try await api.send(
                    .post, "/agents/agent-one/drain", token: .none, body: S.form([("_csrf", csrf), ("back", "/agents")]),
                    contentType: S.formType, headers: S.browser(cookie: cookie))
                #expect(drain.status == .seeOther)
                #expect(drain.header("Location") == "/agents")
                let after = try await api.send(.get, "/agents", token: .none, headers: S.browser(cookie: cookie))
                #expect(after.text.contains(">draining<"))
                _ = agent
            }
        }
    }
}
