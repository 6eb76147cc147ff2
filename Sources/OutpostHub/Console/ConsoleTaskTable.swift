import Foundation
import OutpostCore

/// The table of tasks the task list and an agent's page share.
enum ConsoleTaskTable {
    static func render(_ tasks: [TaskRecord], id: String, now: Date, empty: String) -> HTML {
        guard !tasks.isEmpty else { return "<p class=\"empty\">\(empty)</p>" }
        let rows = tasks.map { task -> HTML in
            // Worked out before the row's literal, which then only joins values.
            let agent: HTML = task.agent.map { "<a href=\"/agents/\(URLText.encode($0))\">\($0)</a>" } ?? .empty
            let exitCode: String = task.exitCode.map { String($0) } ?? ""
            let runBy: String = user(of: task)
            let took: String = ConsoleFormat.runTime(of: task, now: now)
            let status: HTML = ConsoleFormat.status(task.status, cssClass: "task-status")
            let created: HTML = ConsoleFormat.time(task.createdAt)
            let targetQuery: String = URLText.query([("target", task.target)])
            let taskPath: String = URLText.encode(task.id)
            return """
                <tr data-task="\(task.id)">
                <td class="task-id"><a href="/tasks/\(taskPath)">\(task.id)</a></td>
                <td>\(status)</td>
                <td class="task-target"><a href="/tasks?\(targetQuery)">\(task.target)</a></td>
                <td class="task-agent">\(agent)</td>
                <td class="task-user">\(runBy)</td>
                <td class="task-created">\(created)</td>
                <td class="task-duration num">\(took)</td>
                <td class="task-exit num">\(exitCode)</td>
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
