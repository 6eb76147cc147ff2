import Foundation
import OutpostCore

/// The table of tasks the task list and an agent's page share.
enum ConsoleTaskTable {
    static func render(_ tasks: [TaskRecord], id: String, now: Date, empty: String) -> HTML {
        guard !tasks.isEmpty else { return "<p class=\"empty\">\(empty)</p>" }
        let rows = tasks.map { task -> HTML in
            let agent: HTML = task.agent.map { "<a href=\"/agents/\(URLText.encode($0))\">\($0)</a>" } ?? .empty
            return """
                <tr data-task="\(task.id)">
                <td class="task-id"><a href="/tasks/\(URLText.encode(task.id))">\(task.id)</a></td>
                <td>\(ConsoleFormat.status(task.status, cssClass: "task-status"))</td>
                <td class="task-target"><a href="/tasks?\(URLText.query([("target", task.target)]))">\(task.target)</a></td>
                <td class="task-agent">\(agent)</td>
                <td class="task-user">\(user(of: task))</td>
                <td class="task-created">\(ConsoleFormat.time(task.createdAt))</td>
                <td class="task-duration num">\(ConsoleFormat.runTime(of: task, now: now))</td>
                <td class="task-exit num">\(task.exitCode.map { String($0) } ?? "")</td>
                </tr>
                """
        }
        return """
            <table id="\(id)" class="grid tasks">
            <thead><tr><th>Task</th><th>Status</th><th>Target</th><th>Agent</th><th>Run by</th><th>Created</th><th class="num">Took</th><th class="num">Exit</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
    }

    /// Who ran it: the verified user subject when the task carried a user token, then the API token's name.
    static func user(of task: TaskRecord) -> String {
        switch (task.userSubject, task.createdBy) {
        case (let subject?, let token?): "\(subject) (\(token))"
        case (let subject?, nil): subject
        case (nil, let token?): token
        case (nil, nil): ""
        }
    }
}
