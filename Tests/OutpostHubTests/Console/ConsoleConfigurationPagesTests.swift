import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// Targets and agent types from the console: the same checks and messages as the API.
@Suite("Web console configuration")
struct ConsoleConfigurationPagesTests {
    typealias S = ConsoleSignInTests

    static func post(_ api: API, _ path: String, cookie: String, csrf: String, _ fields: [(String, String)]) async throws -> Reply {
        try await api.send(
            .post, path, token: .none, body: S.form(fields + [("_csrf", csrf)]), contentType: S.formType,
            headers: S.browser(cookie: cookie))
    }

    @Test func aTargetIsCreatedAndEditedThroughTheForm() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let form = try await api.send(.get, "/targets/new", token: .none, headers: S.browser(cookie: cookie))
                #expect(form.text.contains("<option value=\"postgres\">"))
                let csrf = try S.csrf(in: form.text)
                let fields = [
                    ("name", "db"), ("integration", "postgres"), ("tags", "env=prod"), ("env", "PGDATABASE=app"),
                    ("secret_provider", "vault"), ("secret_path", "ops/db"), ("secret_mapping", "PGPASSWORD=password"),
                    ("secret_provider", ""), ("secret_path", ""), ("secret_mapping", ""),
                ]
                let created = try await Self.post(api, "/targets", cookie: cookie, csrf: csrf, fields)
                #expect(created.status == .seeOther, "\(created.text.prefix(400))")
                let stored = try #require(try await hub.store.target(named: "db"))
                #expect(stored.integration == "postgres" && stored.env == ["PGDATABASE": "app"])
                #expect(stored.secrets == [SecretReference(provider: "vault", path: "ops/db", mapping: ["PGPASSWORD": "password"])])

                let edit = try await api.send(.get, "/targets/db/edit", token: .none, headers: S.browser(cookie: cookie))
                #expect(edit.text.contains("id=\"target-name\" name=\"name\" value=\"db\" required spellcheck=\"false\" readonly"))
                #expect(edit.text.contains("value=\"PGPASSWORD=password\""))
                let saved = try await Self.post(
                    api, "/targets/db", cookie: cookie, csrf: csrf,
                    [("integration", "postgres"), ("tags", "env=prod"), ("env", "PGDATABASE=app2")])
                #expect(saved.status == .seeOther, "\(saved.text.prefix(400))")
                let updated = try #require(try await hub.store.target(named: "db"))
                #expect(updated.env == ["PGDATABASE": "app2"] && updated.secrets.isEmpty && updated.createdAt == stored.createdAt)
            }
        }
    }

    @Test func aRefusedTargetShowsTheMessageAndKeepsWhatWasTyped() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let form = try await api.send(.get, "/targets/new", token: .none, headers: S.browser(cookie: cookie))
                let csrf = try S.csrf(in: form.text)
                let refused = try await Self.post(
                    api, "/targets", cookie: cookie, csrf: csrf,
                    [("name", "bad name!"), ("integration", "bash"), ("env", "KEEP=me")])
                #expect(refused.status == .badRequest)
                #expect(refused.text.contains("id=\"flash-error\""))
                #expect(refused.text.contains("KEEP=me"))
                #expect(refused.text.contains("value=\"bad name!\""))
                #expect(try await hub.store.listTargets().isEmpty)
            }
        }
    }

    @Test func aRegistrationTokenIsShownOnceAndWorks() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (cookie, _) = try await S.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/agent-types", token: .none, headers: S.browser(cookie: cookie))
                let csrf = try S.csrf(in: page.text)
                let created = try await Self.post(api, "/agent-types", cookie: cookie, csrf: csrf, [("name", "edge"), ("exclusive", "on")])
                #expect(created.status == .ok)
                let start = try #require(created.text.range(of: "<code id=\"new-token\" class=\"secret\">")).upperBound
                let token = String(created.text[start...].prefix { $0 != "<" })
                #expect(token.hasPrefix("opr_"))
                #expect(try await hub.store.agentType(named: "edge")?.exclusive == true)
                _ = try await SimAgent.register(api, registrationToken: token)

                let later = try await api.send(.get, "/agent-types", token: .none, headers: S.browser(cookie: cookie))
                #expect(!later.text.contains(token))
                #expect(later.text.contains("<tr data-agent-type=\"edge\">"))

                let revoked = try await Self.post(api, "/agent-types/edge/revoke", cookie: cookie, csrf: csrf, [])
                #expect(revoked.status == .seeOther)
                #expect(try await hub.store.agentType(named: "edge")?.tokenRevoked == true)
                let rotated = try await Self.post(api, "/agent-types/edge/rotate", cookie: cookie, csrf: csrf, [])
                #expect(rotated.text.contains("id=\"new-token\""))
                #expect(!rotated.text.contains(token))
            }
        }
    }
}
