import Foundation
import Hummingbird
import OutpostCore
import OutpostStore

/// `/tasks`: every task, newest first, filtered and paged by keyset (a page costs
/// the same with a million tasks behind it as with fifty).
extension Console {
    static let taskPageSize = 50

    func addTaskListRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/tasks", role: .reader) { visit in
            var form = visit.form
            var cookies: [String] = []
            let keepFor = 30 * 86400
            if form["reset"] != nil {
                form = ConsoleForm()
                cookies.append(ConsoleCookies.header(ConsoleTaskFilter.cookieName, "", maxAge: 0, secure: secure))
            } else if form.isEmpty, let kept = ConsoleCookies.value(named: ConsoleTaskFilter.cookieName, in: visit.request),
                let decoded = try? ConsoleForm(encoded: Substring(URLText.decodeForm(Substring(kept)) ?? ""))
            {
                form = decoded
            }
            let filter: ConsoleTaskFilter
            do {
                filter = try ConsoleTaskFilter(form: form)
            } catch let error as HubError {
                return .page(taskList(filter: ConsoleTaskFilter(), typed: form, items: [], next: nil, error: error.message, cookies: cookies))
            }
            if form["reset"] == nil, !visit.form.isEmpty {
                let value = URLText.encode(URLText.query(filter.queryItems))
                cookies.append(ConsoleCookies.header(ConsoleTaskFilter.cookieName, value, maxAge: filter.isEmpty ? 0 : keepFor, secure: secure))
            }
            var cursor: TaskCursor?
            if let text = form.text("after") {
                guard let parsed = TaskCursor(text) else {
                    throw HubError.invalid("after: not a page cursor of this list; start again from the first page")
                }
                cursor = parsed
            }
            let pages = try await withThrowingTaskGroup(of: [TaskRecord].self) { group in
                for query in filter.queries(after: cursor, limit: Self.taskPageSize + 1) {
                    group.addTask { try await hub.store.listTasks(query).items }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let page = ConsoleTaskFilter.page(merging: pages, size: Self.taskPageSize)
            return .page(
                taskList(filter: filter, typed: form, items: page.items, next: page.next, firstPage: cursor == nil, cookies: cookies))
        }
    }

    private func taskList(
        filter: ConsoleTaskFilter, typed: ConsoleForm, items: [TaskRecord], next: TaskCursor?, firstPage: Bool = true,
        error: String? = nil, cookies: [String]
    ) -> ConsolePage {
        let query = filter.queryItems
        var paging: [HTML] = []
        if !firstPage {
            // At least one parameter, so the kept filter is not read in its place.
            let first = URLText.query(query)
            let query: String = first.isEmpty ? "status=" : first
            paging.append("<a id=\"first-page\" href=\"/tasks?\(query)\">Newest</a>")
        }
        if let next {
            paging.append("<a id=\"next-page\" href=\"/tasks?\(URLText.query(query + [("after", next.description)]))\">Older</a>")
        }
        let statusOptions = ([HTML("<option value=\"\">any status</option>")] + TaskStatus.allCases.map { status in
            let selected: HTML = typed["status"] == status.rawValue ? " selected" : ""
            return "<option value=\"\(status.rawValue)\"\(selected)>\(status.rawValue)</option>"
        })
        let empty: String = filter.isEmpty ? "No task yet. Run one from the Run page." : "No task matches this filter."
        let table: HTML = ConsoleTaskTable.render(items, id: "tasks", now: hub.now(), empty: empty)
        let (target, agent, user, from, to): (String?, String?, String?, String?, String?) = (
            typed["target"], typed["agent"], typed["user"], typed["from"], typed["to"]
        )
        return ConsolePage(
            title: "Tasks", section: .tasks, status: error == nil ? .ok : .badRequest, error: error, cookies: cookies,
            body: """
                <h1>Tasks</h1>
                <form id="task-filter" class="filter" method="get" action="/tasks">
                <div><label for="filter-status">Status</label><select id="filter-status" name="status">\(statusOptions)</select></div>
                <div><label for="filter-target">Target</label><input id="filter-target" name="target" value="\(target)"></div>
                <div><label for="filter-agent">Agent</label><input id="filter-agent" name="agent" value="\(agent)"></div>
                <div><label for="filter-user">Run by</label><input id="filter-user" name="user" value="\(user)" placeholder="user or token name"></div>
                <div><label for="filter-from">From (UTC)</label><input id="filter-from" name="from" type="datetime-local" value="\(from)"></div>
                <div><label for="filter-to">Until (UTC)</label><input id="filter-to" name="to" type="datetime-local" value="\(to)"></div>
                <div class="buttons"><button id="filter-submit" type="submit">Filter</button> <a id="filter-reset" href="/tasks?reset=1">Reset</a></div>
                </form>
                \(table)
                <nav class="paging" aria-label="Pages">\(paging)</nav>
                """)
    }
}
