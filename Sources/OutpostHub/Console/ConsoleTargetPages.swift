import Foundation
import HTTPTypes
import Hummingbird
import OutpostCore
import OutpostStore

/// `/targets`: list, create, edit and delete targets; browse an agent's secret names
/// for the references (names only: the hub never holds a value).
extension Console {
    func addTargetRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/targets", role: .reader) { visit in
            let user = try visit.signedIn
            let targets = try await hub.store.listTargets()
            let rows = targets.map { target -> HTML in
                let secrets = target.secrets.map { "\($0.provider):\($0.path)" }.joined(separator: ", ")
                return """
                    <tr data-target="\(target.name)">
                    <td class="target-name">\(target.name)</td>
                    <td class="target-integration">\(target.integration)</td>
                    <td class="target-tags">\(ConsoleFormat.tags(target.tags))</td>
                    <td>\(target.agentTypes.joined(separator: ", "))</td>
                    <td class="target-secrets">\(secrets)</td>
                    <td class="actions">\(HTML.when(user.has(.admin), "<a class=\"target-edit\" href=\"/targets/\(URLText.encode(target.name))/edit\">Edit</a>")) <a href="/tasks?\(URLText.query([("target", target.name)]))">Tasks</a></td>
                    </tr>
                    """
            }
            let table: HTML = targets.isEmpty
                ? "<p class=\"empty\">No target yet.</p>"
                : """
                <table id="targets" class="grid">
                <thead><tr><th>Name</th><th>Integration</th><th>Tags</th><th>Agent types</th><th>Secrets</th><th></th></tr></thead>
                <tbody>\(rows)</tbody>
                </table>
                """
            return .page(
                ConsolePage(
                    title: "Targets", section: .targets,
                    body: """
                        <div class="title-row"><h1>Targets</h1>\(HTML.when(user.has(.admin), "<a id=\"new-target\" class=\"button\" href=\"/targets/new\">New target</a>"))</div>
                        \(table)
                        """))
        }

        on(router, .get, "/targets/new", role: .admin) { visit in
            .page(try await targetPage(user: try visit.signedIn, values: ConsoleTargetForm(), editing: false))
        }

        on(router, .get, "/targets/{name}/edit", role: .admin) { visit in
            let name = try visit.parameter("name")
            guard let target = try await hub.store.target(named: name) else {
                throw HubError.notFound("no target named \"\(name)\"")
            }
            return .page(try await targetPage(user: try visit.signedIn, values: ConsoleTargetForm(target: target), editing: true))
        }

        on(router, .post, "/targets", role: .admin) { visit in
            let values = ConsoleTargetForm(form: visit.form)
            return try await saving(values, visit: visit, editing: false) {
                _ = try await hub.createTarget(try values.target())
                return "target \(values.name) created"
            }
        }

        on(router, .post, "/targets/{name}", role: .admin) { visit in
            var values = ConsoleTargetForm(form: visit.form)
            values.name = try visit.parameter("name")
            return try await saving(values, visit: visit, editing: true) {
                _ = try await hub.updateTarget(named: values.name, with: try values.target())
                return "target \(values.name) saved; tasks submitted from now on use it"
            }
        }

        on(router, .post, "/targets/{name}/delete", role: .admin) { visit in
            let name = try visit.parameter("name")
            guard try await hub.store.deleteTarget(named: name) else { throw HubError.notFound("no target named \"\(name)\"") }
            return .redirect("/targets", flash: .notice("target \(name) deleted; its tasks stay in the history"))
        }

        on(router, .get, "/targets/browse", role: .operator) { visit in
            let user = try visit.signedIn
            guard let agent = visit.form.text("agent") else { throw HubError.invalid("agent: pick an online agent to ask") }
            let listing = try await hub.listSecretNames(
                agentName: agent, provider: visit.form.text("provider"), prefix: visit.form["prefix"] ?? "")
            let list = Self.secretNames(listing)
            if visit.form["fragment"] == "1" {
                var headers = HTTPFields()
                headers[.contentType] = "text/html; charset=utf-8"
                return .response(Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: list.text))))
            }
            return .page(
                ConsolePage(
                    title: "Secret names", section: .targets,
                    body: """
                        <h1>Secret names on <span class="name">\(listing.agent)</span></h1>
                        \(try await browseForm(user: user, typed: visit.form))
                        \(list)
                        """))
        }
    }

    /// Saves the form, or shows it again with the API's message and the typed values.
    private func saving(
        _ values: ConsoleTargetForm, visit: ConsoleVisit, editing: Bool, _ save: () async throws -> String
    ) async throws -> ConsoleAnswer {
        let user = try visit.signedIn
        do {
            return .redirect("/targets", flash: .notice(try await save()))
        } catch let error as HubError where error.code != .internal {
            return .page(try await targetPage(user: user, values: values, editing: editing, error: error.message, status: error.code.httpStatus))
        } catch let error as ValidationError {
            return .page(try await targetPage(user: user, values: values, editing: editing, error: error.message, status: .badRequest))
        }
    }

    private func targetPage(
        user: ConsoleUser, values: ConsoleTargetForm, editing: Bool, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> ConsolePage {
        let known = Set(IntegrationNames.builtIn)
        var integrations = IntegrationNames.builtIn
        for target in try await hub.store.listTargets() where !integrations.contains(target.integration) {
            integrations.append(target.integration)
        }
        let custom = !values.integration.isEmpty && !integrations.contains(values.integration)
        let options = integrations.map { name -> HTML in
            let selected: HTML = name == values.integration ? " selected" : ""
            let note = known.contains(name) ? "" : " (custom)"
            return "<option value=\"\(name)\"\(selected)>\(name)\(note)</option>"
        }
        let rows = (values.secrets + Array(repeating: ConsoleTargetForm.Row(), count: ConsoleTargetForm.spareRows))
            .enumerated().map { index, row -> HTML in
                """
                <fieldset class="secret-ref">
                <legend>Secret \(index + 1)</legend>
                <label for="secret-provider-\(index)">Provider</label><input id="secret-provider-\(index)" name="secret_provider" value="\(row.provider)" placeholder="vault" spellcheck="false">
                <label for="secret-path-\(index)">Path</label><input id="secret-path-\(index)" name="secret_path" value="\(row.path)" placeholder="ops/db" spellcheck="false">
                <label for="secret-mapping-\(index)">Mapping</label><input id="secret-mapping-\(index)" name="secret_mapping" value="\(row.mapping)" placeholder="PGPASSWORD=password (empty: every key)" spellcheck="false">
                </fieldset>
                """
            }
        let action: String = editing ? "/targets/\(URLText.encode(values.name))" : "/targets"
        let heading: HTML = editing ? "Edit target <span class=\"name\">\(values.name)</span>" : "New target"
        let readonly: HTML = editing ? HTML(trusted: " readonly") : .empty
        let customIntegration: String = custom ? values.integration : ""
        let submit: String = editing ? "Save" : "Create target"
        let browse: HTML = user.has(.operator) ? try await browseForm(user: user, typed: ConsoleForm()) : .empty
        let title: String = editing ? "Edit \(values.name)" : "New target"
        let delete = HTML.when(
            editing,
            ConsoleLayout.actionForm(
                user, action: "/targets/\(URLText.encode(values.name))/delete", id: "delete-target", button: "Delete target",
                buttonClass: "danger", confirm: "Delete target \(values.name)? Its tasks stay in the history."))
        return ConsolePage(
            title: title, section: .targets, status: status, error: error,
            body: """
                <h1>\(heading)</h1>
                <form id="target-form" class="stacked" method="post" action="\(action)">
                \(ConsoleLayout.csrfField(user))
                <label for="target-name">Name</label>
                <input id="target-name" name="name" value="\(values.name)" required spellcheck="false"\(readonly)>
                <label for="target-integration">Integration</label>
                <select id="target-integration" name="integration">\(options)</select>
                <label for="target-integration-custom">Or an integration of your agents' own <span class="hint">(overrides the list)</span></label>
                <input id="target-integration-custom" name="integration_custom" value="\(customIntegration)" spellcheck="false">
                <label for="target-tags">Tags <span class="hint">(comma separated, e.g. env=prod,region=eu; only agents carrying all of them run it; none: untagged agents only)</span></label>
                <input id="target-tags" name="tags" value="\(values.tags)" spellcheck="false">
                <label for="target-agent-types">Agent types <span class="hint">(comma separated; empty: any type)</span></label>
                <input id="target-agent-types" name="agent_types" value="\(values.agentTypes)" spellcheck="false">
                <label for="target-timeout">Timeout in seconds <span class="hint">(empty: the hub's default)</span></label>
                <input id="target-timeout" name="timeout" inputmode="numeric" value="\(values.timeout)">
                <label for="target-env">Environment <span class="hint">(KEY=value per line; literal values only, put secrets below)</span></label>
                <textarea id="target-env" name="env" rows="4" class="code" spellcheck="false">\(values.env)</textarea>
                <h2>Secret references</h2>
                <p class="hint">The agent resolves them right before each run; the hub keeps only these names.</p>
                <div id="secret-refs">\(rows)</div>
                <div class="buttons"><button id="target-submit" type="submit">\(submit)</button> <a href="/targets">Cancel</a></div>
                </form>
                \(delete)
                \(browse)
                """)
    }

    /// Asks an online agent for secret names under a prefix (through its poll, like `outpost secrets ls`).
    private func browseForm(user: ConsoleUser, typed: ConsoleForm) async throws -> HTML {
        let agents = try await hub.listAgents(includeOffline: false)
        let options = agents.map { agent -> HTML in
            let selected: HTML = typed["agent"] == agent.name ? " selected" : ""
            let tags: String = agent.tags.description.isEmpty ? "untagged" : agent.tags.description
            return "<option value=\"\(agent.name)\"\(selected)>\(agent.name) (\(tags))</option>"
        }
        return """
            <section class="browse">
            <h2>Browse secret names</h2>
            <form id="browse-secrets" method="get" action="/targets/browse">
            <label for="browse-agent">Agent</label><select id="browse-agent" name="agent">\(options)</select>
            <label for="browse-provider">Provider <span class="hint">(empty: all)</span></label><input id="browse-provider" name="provider" value="\(typed["provider"])" spellcheck="false">
            <label for="browse-prefix">Prefix</label><input id="browse-prefix" name="prefix" value="\(typed["prefix"])" spellcheck="false">
            <button id="browse-submit" type="submit">List names</button>
            </form>
            <div id="browse-result"></div>
            </section>
            """
    }

    static func secretNames(_ listing: SecretListing) -> HTML {
        let errors = listing.entries.compactMap { entry in entry.error.map { "<p class=\"flash error\">\($0)</p>" as HTML } }
        let names = listing.entries.flatMap { entry in
            entry.names.map {
                "<li data-provider=\"\(entry.provider)\" data-path=\"\($0)\"><span class=\"provider\">\(entry.provider)</span> <code>\($0)</code></li>" as HTML
            }
        }
        let empty: HTML = names.isEmpty && errors.isEmpty ? "<p class=\"empty\">No names under this prefix.</p>" : .empty
        return "<div id=\"secret-paths-list\">\(errors)\(empty)<ul id=\"secret-paths\">\(names)</ul></div>"
    }
}
