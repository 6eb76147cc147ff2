import Foundation
import Hummingbird
import OutpostCore
import OutpostStore

/// `/run`: pick a target, write or paste a script, run it, land on its live page.
extension Console {
    func addRunRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/run", role: .reader) { visit in
            let user = try visit.signedIn
            let targets = try await hub.store.listTargets()
            return .page(runPage(user: user, targets: targets, typed: visit.form, error: nil))
        }

        on(router, .post, "/run", role: .operator) { visit in
            let user = try visit.signedIn
            do {
                guard let target = visit.form.text("target") else { throw HubError.invalid("target: pick a target to run on") }
                var timeout: Int?
                if let text = visit.form.text("timeout") {
                    guard let seconds = Int(text), seconds > 0 else {
                        throw HubError.invalid("timeout: write a whole number of seconds, or leave it empty for the target's default")
                    }
                    timeout = seconds
                }
                let request = CreateTaskRequest(target: target, script: visit.form["script"] ?? "", timeoutSeconds: timeout)
                let task = try await hub.createTask(request, createdBy: user.token.name)
                return .redirect("/tasks/\(URLText.encode(task.id))")
            } catch let error as HubError where error.code != .internal {
                let targets = try await hub.store.listTargets()
                return .page(runPage(user: user, targets: targets, typed: visit.form, error: error.message, status: error.code.httpStatus))
            } catch let error as ValidationError {
                let targets = try await hub.store.listTargets()
                return .page(runPage(user: user, targets: targets, typed: visit.form, error: error.message, status: .badRequest))
            }
        }
    }

    private func runPage(
        user: ConsoleUser, targets: [Target], typed: ConsoleForm, error: String?, status: HTTPResponse.Status = .ok
    ) -> ConsolePage {
        let chosen = typed["target"]
        let options = targets.map { target -> HTML in
            let selected: HTML = target.name == chosen ? " selected" : ""
            let tags: String = target.tags.description.isEmpty ? "untagged" : target.tags.description
            return "<option value=\"\(target.name)\"\(selected)>\(target.name) (\(target.integration), \(tags))</option>"
        }
        let mayRun = user.has(.operator)
        let disabled: HTML = mayRun ? .empty : HTML(trusted: " disabled")
        let roleHint: HTML = mayRun ? .empty : "<span class=\"hint\">Running tasks needs the operator role.</span>"
        let form: HTML = targets.isEmpty
            ? "<p class=\"empty\">There is no target to run on yet. <a href=\"/targets/new\">Create one</a>.</p>"
            : """
            <form id="run" class="stacked" method="post" action="/run">
            \(ConsoleLayout.csrfField(user))
            <label for="run-target">Target</label>
            <select id="run-target" name="target" required>\(options)</select>
            <label for="run-script">Script</label>
            <textarea id="run-script" name="script" rows="14" spellcheck="false" class="code" required>\(typed["script"])</textarea>
            <label for="run-timeout">Timeout in seconds <span class="hint">(empty: the target's default)</span></label>
            <input id="run-timeout" name="timeout" inputmode="numeric" value="\(typed["timeout"])">
            <div class="buttons"><button id="run-submit" type="submit"\(disabled)>Run</button> \(roleHint)</div>
            </form>
            """
        return ConsolePage(
            title: "Run", section: .run, status: status, error: error,
            body: """
                <h1>Run a task</h1>
                \(form)
                """)
    }
}
