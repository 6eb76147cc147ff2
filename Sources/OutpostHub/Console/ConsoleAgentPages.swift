import Foundation
import Hummingbird
import OutpostCore
import OutpostStore

/// `/agents` (the fleet), `/agents/NAME` (one agent and its last tasks), draining.
extension Console {
    /// Tasks shown on an agent's page (Buildkite's agent job history).
    static let agentHistoryLength = 10

    func addAgentRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/agents", role: .reader) { visit in
            let user = try visit.signedIn
            let agents = try await hub.listAgents(includeOffline: true).sorted(by: Self.fleetOrder)
            let now = hub.now()
            let rows = agents.map { agent -> HTML in
                let drain = HTML.when(
                    user.has(.operator) && agent.status != .offline && agent.status != .draining,
                    ConsoleLayout.actionForm(
                        user, action: "/agents/\(URLText.encode(agent.name))/drain", formClass: "drain", button: "Drain",
                        buttonClass: "drain-submit", hidden: [("back", "/agents")]))
                return """
                    <tr data-agent="\(agent.name)">
                    <td class="agent-name"><a href="/agents/\(URLText.encode(agent.name))">\(agent.name)</a></td>
                    <td class="agent-type">\(agent.type)</td>
                    <td class="agent-tags">\(ConsoleFormat.tags(agent.tags))</td>
                    <td><span class="agent-status agent-\(agent.status.rawValue)">\(agent.status.rawValue)</span></td>
                    <td class="agent-last-seen" title="\(ConsoleFormat.plain(agent.lastSeenAt))">\(ConsoleFormat.ago(agent.lastSeenAt, now: now))</td>
                    <td class="agent-version">\(agent.version)</td>
                    <td class="agent-running num">\(agent.runningTasks)</td>
                    <td class="num">\(agent.concurrency)</td>
                    <td class="actions">\(drain)</td>
                    </tr>
                    """
            }
            let table: HTML = agents.isEmpty
                ? "<p class=\"empty\">No agent has registered yet. Start one with <code>outpost agent start</code>.</p>"
                : """
                <table id="agents" class="grid">
                <thead><tr><th>Name</th><th>Type</th><th>Tags</th><th>Status</th><th>Last seen</th><th>Version</th><th class="num">Running</th><th class="num">Slots</th><th></th></tr></thead>
                <tbody>\(rows)</tbody>
                </table>
                """
            let live = agents.count { $0.status != .offline }
            return .page(
                ConsolePage(
                    title: "Agents", section: .agents,
                    body: """
                        <h1>Agents <span class="count">\(live) online of \(agents.count)</span></h1>
                        \(table)
                        """))
        }

        on(router, .get, "/agents/{name}", role: .reader) { visit in
            let user = try visit.signedIn
            let name = try visit.parameter("name")
            let agents = try await hub.listAgents(includeOffline: true).filter { $0.name == name }
            // A name freed by an offline agent may be held again by a live one: show the live one.
            guard let agent = agents.first(where: { $0.status != .offline }) ?? agents.max(by: { $0.lastSeenAt < $1.lastSeenAt })
            else { throw HubError.notFound("no agent named \"\(name)\"") }
            let tasks = try await hub.store.listTasks(TaskQuery(agent: name, limit: Self.agentHistoryLength)).items
            let now = hub.now()
            let drain = HTML.when(
                user.has(.operator) && agent.status != .offline && agent.status != .draining,
                ConsoleLayout.actionForm(
                    user, action: "/agents/\(URLText.encode(agent.name))/drain", id: "drain", button: "Drain",
                    buttonID: "drain-submit", hidden: [("back", "/agents/\(URLText.encode(agent.name))")]))
            let arn: HTML = agent.awsARN.map { "<dt>AWS caller</dt><dd>\($0)</dd>" } ?? .empty
            let tasksQuery: String = URLText.query([("agent", agent.name)])
            let history: HTML = ConsoleTaskTable.render(tasks, id: "agent-tasks", now: now, empty: "This agent has run no task yet.")
            return .page(
                ConsolePage(
                    title: agent.name, section: .agents,
                    body: """
                        <h1>Agent <span class="name">\(agent.name)</span></h1>
                        <dl class="facts">
                        <dt>Status</dt><dd><span id="agent-status" class="agent-status agent-\(agent.status.rawValue)">\(agent.status.rawValue)</span></dd>
                        <dt>Last seen</dt><dd>\(ConsoleFormat.time(agent.lastSeenAt)) (\(ConsoleFormat.ago(agent.lastSeenAt, now: now)))</dd>
                        <dt>Type</dt><dd>\(agent.type)</dd>
                        <dt>Tags</dt><dd id="agent-tags">\(ConsoleFormat.tags(agent.tags))</dd>
                        <dt>Version</dt><dd id="agent-version">\(agent.version)</dd>
                        <dt>OS</dt><dd>\(agent.os)</dd>
                        <dt>Running</dt><dd id="agent-running">\(agent.runningTasks) of \(agent.concurrency) slots</dd>
                        <dt>Registered</dt><dd>\(ConsoleFormat.time(agent.registeredAt))</dd>
                        \(arn)
                        </dl>
                        \(drain)
                        <h2>Last \(Self.agentHistoryLength) tasks</h2>
                        \(history)
                        <p><a href="/tasks?\(tasksQuery)">All its tasks</a></p>
                        """))
        }

        on(router, .post, "/agents/{name}/drain", role: .operator) { visit in
            let name = try visit.parameter("name")
            _ = try await hub.drainAgent(named: name)
            let back = visit.form["back"].flatMap(Self.localPath) ?? "/agents"
            return .redirect(back, flash: .notice("\(name) is draining: it finishes its running tasks and takes no new ones"))
        }
    }

    /// Live agents first, busiest first; then offline ones, most recently seen first.
    @Sendable static func fleetOrder(_ a: AgentRecord, _ b: AgentRecord) -> Bool {
        if (a.status == .offline) != (b.status == .offline) { return b.status == .offline }
        if a.status == .offline { return a.lastSeenAt > b.lastSeenAt }
        return a.name < b.name
    }

    /// A console path to go back to after an action (`/agents/x`); `nil` for anything
    /// else, so a form cannot send the browser to another site.
    static func localPath(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"),
            path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f })
        else { return nil }
        return path
    }
}
