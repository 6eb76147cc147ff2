import Foundation
import HTTPTypes
import Hummingbird
import OutpostCore
import OutpostStore

/// `/agent-types`: the pools agents register into, and their registration tokens
/// (created, rotated, revoked here; a new token is shown once, in the answer to the
/// form that made it, never in a URL).
extension Console {
    func addAgentTypeRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/agent-types", role: .reader) { visit in
            .page(try await agentTypesPage(user: try visit.signedIn, typed: visit.form))
        }

        on(router, .post, "/agent-types", role: .admin) { visit in
            let user = try visit.signedIn
            do {
                guard let name = visit.form.text("name") else { throw HubError.invalid("name: give the agent type a name") }
                let allowed = visit.form.text("allowed_tags").map {
                    $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                }
                let created = try await hub.createAgentType(
                    CreateAgentTypeRequest(
                        name: name, exclusive: visit.form["exclusive"] != nil, allowedTags: allowed ?? [],
                        requireClientCertificate: visit.form["require_client_cert"] != nil))
                return .page(try await agentTypesPage(user: user, typed: ConsoleForm(), newToken: created))
            } catch let error as HubError where error.code != .internal {
                return .page(try await agentTypesPage(user: user, typed: visit.form, error: error.message, status: error.code.httpStatus))
            } catch let error as ValidationError {
                return .page(try await agentTypesPage(user: user, typed: visit.form, error: error.message, status: .badRequest))
            }
        }

        on(router, .post, "/agent-types/{name}/rotate", role: .admin) { visit in
            let rotated = try await hub.rotateAgentTypeToken(named: try visit.parameter("name"))
            return .page(try await agentTypesPage(user: try visit.signedIn, typed: ConsoleForm(), newToken: rotated))
        }

        on(router, .post, "/agent-types/{name}/revoke", role: .admin) { visit in
            let name = try visit.parameter("name")
            _ = try await hub.revokeAgentTypeToken(named: name)
            return .redirect(
                "/agent-types",
                flash: .notice("registration for \(name) is closed: its token no longer works; registered agents stay"))
        }
    }

    private func agentTypesPage(
        user: ConsoleUser, typed: ConsoleForm, newToken: AgentTypeTokenResponse? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> ConsolePage {
        let types = try await hub.store.listAgentTypes()
        let rows = types.map { type -> HTML in
            let name = URLText.encode(type.name)
            var actions: [HTML] = []
            if user.has(.admin) {
                let rotateLabel: String = type.tokenRevoked ? "Issue a token" : "Rotate token"
                let rotateConfirm: String? = type.tokenRevoked
                    ? nil : "Rotate the registration token of \(type.name)? The current one stops working at once."
                actions.append(
                    ConsoleLayout.actionForm(
                        user, action: "/agent-types/\(name)/rotate", formClass: "rotate", button: rotateLabel,
                        buttonClass: "rotate-submit", confirm: rotateConfirm))
                if !type.tokenRevoked {
                    let revokeConfirm = "Revoke the registration token of \(type.name)? No new agent can register until you issue a new one."
                    actions.append(
                        ConsoleLayout.actionForm(
                            user, action: "/agent-types/\(name)/revoke", formClass: "revoke", button: "Revoke token",
                            buttonClass: "revoke-submit danger", confirm: revokeConfirm))
                }
            }
            let allowed = type.allowedTags.map(\.pattern).joined(separator: ", ")
            let allowedText: String = allowed.isEmpty ? "untagged agents only" : allowed
            let exclusive: String = type.exclusive ? "yes" : "no"
            let certificate: String = type.requireClientCertificate ? "required" : "no"
            let token: String = type.tokenRevoked ? "revoked" : "rotated " + ConsoleFormat.plain(type.tokenRotatedAt)
            return """
                <tr data-agent-type="\(type.name)">
                <td class="agent-type-name">\(type.name)</td>
                <td>\(type.namePolicy.rawValue)</td>
                <td>\(exclusive)</td>
                <td>\(allowedText)</td>
                <td>\(certificate)</td>
                <td class="agent-type-token">\(token)</td>
                <td class="actions">\(actions)</td>
                </tr>
                """
        }
        let shown: HTML = newToken.map { answer in
            """
            <div class="new-token" role="status">
            <p>The registration token of <strong>\(answer.agentType.name)</strong>. Copy it now: it is shown only this once, and the hub keeps only its hash.</p>
            <code id="new-token" class="secret">\(answer.registrationToken)</code>
            <p class="hint">Agents register with <code>outpost agent start --hub URL --token-file FILE</code>.</p>
            </div>
            """
        } ?? .empty
        let exclusiveChecked: HTML = typed["exclusive"] != nil ? HTML(trusted: " checked") : .empty
        let certificateChecked: HTML = typed["require_client_cert"] != nil ? HTML(trusted: " checked") : .empty
        let create: HTML = !user.has(.admin) ? .empty : """
            <h2>New agent type</h2>
            <form id="create-agent-type" class="stacked" method="post" action="/agent-types">
            \(ConsoleLayout.csrfField(user))
            <label for="agent-type-name">Name</label>
            <input id="agent-type-name" name="name" required value="\(typed["name"])" spellcheck="false">
            <label for="agent-type-allowed-tags">Allowed tags <span class="hint">(comma separated, patterns like env=*; empty: untagged agents only)</span></label>
            <input id="agent-type-allowed-tags" name="allowed_tags" value="\(typed["allowed_tags"])" spellcheck="false">
            <div class="check"><input id="agent-type-exclusive" name="exclusive" type="checkbox"\(exclusiveChecked)> <label for="agent-type-exclusive">Exclusive: one online agent per tag set</label></div>
            <div class="check"><input id="agent-type-client-cert" name="require_client_cert" type="checkbox"\(certificateChecked)> <label for="agent-type-client-cert">Require a hub-issued client certificate</label></div>
            <div class="buttons"><button id="create-agent-type-submit" type="submit">Create and show its token</button></div>
            </form>
            """
        return ConsolePage(
            title: "Agent types", section: .agentTypes, status: status, error: error,
            body: """
                <h1>Agent types</h1>
                \(shown)
                <table id="agent-types" class="grid">
                <thead><tr><th>Name</th><th>Naming</th><th>Exclusive</th><th>Allowed tags</th><th>Client certificate</th><th>Registration token</th><th></th></tr></thead>
                <tbody>\(rows)</tbody>
                </table>
                \(create)
                """)
    }
}
