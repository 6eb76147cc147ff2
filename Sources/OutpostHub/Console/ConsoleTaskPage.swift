import Foundation
import Hummingbird
import OutpostCore
import OutpostStore

/// `/tasks/ID`: one task, its script and its live log; cancel and re-run.
extension Console {
    /// Bytes of a log the page loads first (the tail); earlier parts load on demand.
    static let logTailBytes: Int64 = 256 * 1024

    func addTaskRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/tasks/{id}", role: .reader) { visit in
            let user = try visit.signedIn
            let id = try visit.parameter("id")
            guard let task = try await hub.store.task(id: id) else { throw HubError.notFound("no task with id \"\(id)\"") }
            let assignment = try await hub.store.taskAssignment(id: id)
            return .page(taskPage(task, script: assignment?.script, user: user))
        }

        on(router, .post, "/tasks/{id}/cancel", role: .operator) { visit in
            let id = try visit.parameter("id")
            let task = try await hub.cancelTask(id: id)
            let message = task.status.isTerminal
                ? "task \(id) is \(task.status.rawValue)"
                : "cancel requested: the agent stops the task and sends the rest of its log"
            return .redirect("/tasks/\(URLText.encode(id))", flash: .notice(message))
        }

        on(router, .post, "/tasks/{id}/rerun", role: .operator) { visit in
            let user = try visit.signedIn
            let id = try visit.parameter("id")
            guard let assignment = try await hub.store.taskAssignment(id: id) else {
                throw HubError.notFound("no task with id \"\(id)\"")
            }
            // The console holds no one's key: an unsigned copy would only be refused.
            guard assignment.signature == nil else {
                return .redirect("/tasks/\(URLText.encode(id))", flash: .error(Self.signedRerunHint))
            }
            let request = CreateTaskRequest(
                target: assignment.target.name, script: assignment.script, timeoutSeconds: assignment.timeoutSeconds)
            let task = try await hub.createTask(request, createdBy: user.token.name)
            return .redirect("/tasks/\(URLText.encode(task.id))", flash: .notice("re-run of \(id)"))
        }
    }

    /// Why a signed task has no "Run again" here.
    static let signedRerunHint = "This task was signed by its submitter; the console cannot sign, so run it again with outpost task run --sign-key."

    private func taskPage(_ task: TaskRecord, script: String?, user: ConsoleUser) -> ConsolePage {
        let id = URLText.encode(task.id)
        var actions: [HTML] = []
        if user.has(.operator) {
            if !task.status.isTerminal {
                actions.append(ConsoleLayout.actionForm(user, action: "/tasks/\(id)/cancel", id: "cancel", button: "Cancel", buttonID: "cancel-submit", buttonClass: "danger"))
            }
            if task.signed {
                actions.append("<span class=\"hint\" id=\"rerun-signed\">\(Self.signedRerunHint)</span>")
            } else {
                actions.append(ConsoleLayout.actionForm(user, action: "/tasks/\(id)/rerun", id: "rerun", button: "Run again", buttonID: "rerun-submit"))
            }
        }
        let agent: HTML = task.agent.map { "<a href=\"/agents/\(URLText.encode($0))\">\($0)</a>" } ?? "<span class=\"none\">not assigned yet</span>"
        // Values are worked out before the page's literal: a long interpolated literal
        // with conditionals inside makes the type checker search for minutes.
        var late = HTML.empty
        if let status = task.lateStatus {
            let exit: String = task.lateExitCode.map { " (exit \($0))" } ?? ""
            late = "<dt>Late result</dt><dd>the agent came back and reported \(status.rawValue)\(exit)</dd>"
        }
        let exitCode: String = task.exitCode.map { String($0) } ?? ""
        let truncatedHidden: HTML = task.logTruncated ? HTML.empty : HTML(trusted: " hidden")
        let truncated: String = task.logTruncated ? "true" : "false"
        let targetQuery: String = URLText.query([("target", task.target)])
        let timeout: String = ConsoleFormat.duration(Double(task.timeoutSeconds))
        let status: HTML = ConsoleFormat.status(task.status, id: "task-status")
        let (created, started, finished) = (
            ConsoleFormat.time(task.createdAt), ConsoleFormat.time(task.startedAt), ConsoleFormat.time(task.finishedAt)
        )
        let size: String = ConsoleFormat.bytes(task.logBytes)
        // The hub cannot check a signature; only what an agent verified is named as a signer.
        let signature: String =
            switch (task.signed, task.signedBy, task.signatureWarning) {
            case (_, let kid?, _): "key \(kid), verified by the agent"
            case (_, nil, let warning?): "not verified: \(warning) (the agent, in warn mode, ran it anyway)"
            case (true, nil, nil): "signed; no agent has verified it"
            case (false, nil, nil): "not signed"
            }
        return ConsolePage(
            title: "Task \(task.id)", section: .tasks,
            body: """
                <div class="title-row">
                <h1>Task <span class="name">\(task.id)</span> \(status)</h1>
                <div class="actions">\(actions)</div>
                </div>
                <dl class="facts">
                <dt>Target</dt><dd id="task-target"><a href="/tasks?\(targetQuery)">\(task.target)</a></dd>
                <dt>Agent</dt><dd id="task-agent">\(agent)</dd>
                <dt>Exit code</dt><dd id="task-exit-code">\(exitCode)</dd>
                <dt>Run by</dt><dd id="task-created-by">\(task.createdBy)</dd>
                <dt>User</dt><dd id="task-user">\(task.userSubject)</dd>
                <dt>Signature</dt><dd id="task-signature">\(signature)</dd>
                <dt>Created</dt><dd id="task-created">\(created)</dd>
                <dt>Started</dt><dd id="task-started">\(started)</dd>
                <dt>Finished</dt><dd id="task-finished">\(finished)</dd>
                <dt>Timeout</dt><dd>\(timeout)</dd>
                <dt>Error</dt><dd id="task-error">\(task.error)</dd>
                \(late)
                </dl>
                <details class="script" open><summary>Script</summary><pre id="task-script">\(script)</pre></details>
                <section id="log" class="log" data-task="\(task.id)" data-log-bytes="\(task.logBytes)" data-status="\(task.status.rawValue)" data-tail="\(Self.logTailBytes)" data-truncated="\(truncated)">
                <div class="log-bar">
                <span id="log-state" class="log-state">loading</span>
                <span id="log-size" class="log-size">\(size)</span>
                <button id="log-earlier" type="button" hidden>Load earlier output</button>
                <label class="follow" for="log-follow"><input id="log-follow" type="checkbox" checked> Follow</label>
                <a id="log-download" href="/tasks/\(id)/log.txt?download=1" download>Download the whole log</a>
                </div>
                <p id="log-truncated" class="hint"\(truncatedHidden)>The hub stopped storing this log at its size limit (max_log_bytes); the end is missing.</p>
                <p id="log-trimmed" class="hint" hidden>Earlier output left the page to keep it fast; the download has the whole log.</p>
                <pre id="log-output" class="log-output" tabindex="0" aria-live="off"></pre>
                </section>
                """)
    }
}
