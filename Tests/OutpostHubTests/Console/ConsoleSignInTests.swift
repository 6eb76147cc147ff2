import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// The console's sign-in, session cookie, CSRF and security headers, through the real
/// router. (The browser suite, Tests/Browser, checks the same from a real Chromium.)
@Suite("Web console sessions")
struct ConsoleSignInTests {
    /// What Hummingbird's router test client gives as every request's authority.
    static let host = "localhost"

    /// Browser-like headers: the console's own origin.
    static func browser(cookie: String? = nil, origin: String? = "http://\(host)", site: String? = "same-origin") -> HTTPFields {
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        if let site { headers[HTTPField.Name("Sec-Fetch-Site")!] = site }
        if let cookie { headers[.cookie] = "\(ConsoleSessions.cookieName)=\(cookie)" }
        return headers
    }

    static func form(_ pairs: [(String, String)]) -> String { URLText.query(pairs) }
    static let formType = "application/x-www-form-urlencoded"

    /// Signs in with `token`; returns the cookie's value and its Set-Cookie header.
    static func signIn(_ api: API, token: String) async throws -> (value: String, header: String) {
        let reply = try await api.send(
            .post, "/sign-in", token: .none, body: form([("token", token)]), contentType: formType, headers: browser())
        #expect(reply.status == .seeOther, "sign-in: \(reply.text)")
        #expect(reply.header("Location") == "/tasks")
        let header = try #require(reply.headers[values: .setCookie].first { $0.hasPrefix("\(ConsoleSessions.cookieName)=") })
        let value = String(header.split(separator: ";")[0].dropFirst(ConsoleSessions.cookieName.count + 1))
        return (value, header)
    }

    static func csrf(in page: String) throws -> String {
        let marker = "name=\"_csrf\" value=\""
        let start = try #require(page.range(of: marker)).upperBound
        return String(page[start...].prefix { $0 != "\"" })
    }

    @Test func signedOutPagesGoToTheSignInFormAndEveryAnswerCarriesTheSecurityHeaders() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                for path in ["/", "/tasks", "/agents", "/targets/new", "/tasks/nope/log.txt"] {
                    let reply = try await api.send(.get, path, token: .none, headers: Self.browser())
                    #expect(reply.status == .seeOther, "\(path)")
                    #expect(reply.header("Location") == "/sign-in", "\(path)")
                }
                let page = try await api.send(.get, "/sign-in", token: .none, headers: Self.browser())
                #expect(page.status == .ok)
                let policy = try #require(page.header("Content-Security-Policy"))
                #expect(policy.contains("default-src 'self'"))
                #expect(policy.contains("script-src 'self'"))
                #expect(policy.contains("frame-ancestors 'none'"))
                #expect(!policy.contains("unsafe-inline"))
                #expect(page.header("X-Frame-Options") == "DENY")
                #expect(page.header("X-Content-Type-Options") == "nosniff")
                #expect(page.header("Referrer-Policy") == "no-referrer")
                #expect(page.header("Cache-Control") == "no-store")
                // No inline script: every <script> has a src.
                #expect(!page.text.contains("<script>"))
                #expect(page.text.contains("type=\"password\""))
                let script = try await api.send(.get, "/assets/console.js", token: .none)
                #expect(script.status == .ok)
                #expect(script.header("Content-Type")?.hasPrefix("text/javascript") == true)
                #expect(script.text.contains("EventSource"))
            }
        }
    }

    @Test func signingInSetsAStrictCookieThatIsNotTheTokenAndIsStoredOnlyHashed() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (value, header) = try await Self.signIn(api, token: hub.adminToken)
                #expect(header.contains("HttpOnly"))
                #expect(header.contains("SameSite=Strict"))
                #expect(header.contains("Path=/"))
                #expect(!header.contains("Secure"), "plain HTTP hub")
                #expect(value != hub.adminToken && !value.isEmpty)
                #expect(try await hub.store.consoleSession(idHash: TokenHasher.hash(value), now: hub.clock.date) != nil)
                #expect(try await hub.store.consoleSession(idHash: value, now: hub.clock.date) == nil)

                for path in ["/tasks", "/agents", "/agent-types", "/targets", "/targets/new", "/run"] {
                    let page = try await api.send(.get, path, token: .none, headers: Self.browser(cookie: value))
                    #expect(page.status == .ok, "\(path): \(page.text.prefix(300))")
                    #expect(!page.text.contains(hub.adminToken), "\(path) shows the API token")
                    #expect(!page.text.contains(value), "\(path) shows the session cookie")
                    #expect(page.text.contains("id=\"whoami\""))
                }
            }
        }
    }

    @Test func aWrongTokenIsRefusedWithTheAPIsMessage() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(
                    .post, "/sign-in", token: .none, body: Self.form([("token", "opa_nottoken")]), contentType: Self.formType,
                    headers: Self.browser())
                #expect(reply.status == .unauthorized)
                #expect(reply.text.contains("id=\"flash-error\""))
                #expect(reply.text.contains("unknown or revoked token"))
                #expect(reply.headers[values: .setCookie].allSatisfy { !$0.hasPrefix(ConsoleSessions.cookieName) })
            }
        }
    }

    @Test func formsNeedTheSessionsCSRFTokenAndTheConsolesOwnOrigin() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let (cookie, _) = try await Self.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/run", token: .none, headers: Self.browser(cookie: cookie))
                let csrf = try Self.csrf(in: page.text)
                let fields = [("target", "local"), ("script", "echo hi")]

                let refusals: [(String, [(String, String)], HTTPFields)] = [
                    ("no token", fields, Self.browser(cookie: cookie)),
                    ("a stale token", fields + [("_csrf", String(repeating: "0", count: csrf.count))], Self.browser(cookie: cookie)),
                    ("another origin", fields + [("_csrf", csrf)], Self.browser(cookie: cookie, origin: "http://evil.test", site: nil)),
                    ("another site", fields + [("_csrf", csrf)], Self.browser(cookie: cookie, origin: nil, site: "cross-site")),
                    ("an opaque origin", fields + [("_csrf", csrf)], Self.browser(cookie: cookie, origin: "null", site: nil)),
                    ("another site, whatever its Origin", fields + [("_csrf", csrf)], Self.browser(cookie: cookie, site: "same-site")),
                ]
                for (why, body, headers) in refusals {
                    let reply = try await api.send(.post, "/run", token: .none, body: Self.form(body), contentType: Self.formType, headers: headers)
                    #expect(reply.status == .forbidden, "\(why): \(reply.status)")
                    #expect(reply.text.contains("id=\"flash-error\""), "\(why)")
                }
                #expect(try await hub.store.listTasks(status: nil, limit: 10).isEmpty)

                // As a browser sends a textarea: lines end with CRLF.
                let accepted = try await api.send(
                    .post, "/run", token: .none,
                    body: Self.form([("target", "local"), ("script", "echo a\r\necho b\r\n"), ("_csrf", csrf)]),
                    contentType: Self.formType, headers: Self.browser(cookie: cookie))
                #expect(accepted.status == .seeOther, "\(accepted.text.prefix(300))")
                let location = try #require(accepted.header("Location"))
                #expect(location.hasPrefix("/tasks/"))
                let tasks = try await hub.store.listTasks(status: nil, limit: 10)
                #expect(tasks.count == 1)
                #expect(tasks.first?.createdBy == "admin")
                #expect(try await hub.store.taskAssignment(id: tasks[0].id)?.script == "echo a\necho b\n")

                // Chromium under Referrer-Policy: no-referrer: the console's own form posts carry `Origin: null`.
                let chromium = try await api.send(
                    .post, "/run", token: .none, body: Self.form(fields + [("_csrf", csrf)]), contentType: Self.formType,
                    headers: Self.browser(cookie: cookie, origin: "null", site: "same-origin"))
                #expect(chromium.status == .seeOther, "\(chromium.text.prefix(300))")
            }
        }
    }

    @Test func signingOutEndsTheSessionOnTheHub() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let (cookie, _) = try await Self.signIn(api, token: hub.adminToken)
                let page = try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: cookie))
                let csrf = try Self.csrf(in: page.text)
                let out = try await api.send(
                    .post, "/sign-out", token: .none, body: Self.form([("_csrf", csrf)]), contentType: Self.formType,
                    headers: Self.browser(cookie: cookie))
                #expect(out.status == .seeOther)
                #expect(out.header("Location") == "/sign-in")
                #expect(out.headers[values: .setCookie].contains { $0.hasPrefix("\(ConsoleSessions.cookieName)=;") && $0.contains("Max-Age=0") })
                let again = try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: cookie))
                #expect(again.status == .seeOther)
                #expect(again.header("Location") == "/sign-in")
            }
        }
    }

    @Test func aSessionEndsWhenItExpiresOrItsTokenIsRevoked() async throws {
        let clock = ManualClock()
        try await TestHub.with(clock: clock, configure: { $0.consoleSessionLifetime = .seconds(600) }) { hub in
            try await hub.withAPI { api in
                let (cookie, _) = try await Self.signIn(api, token: hub.adminToken)
                clock.advance(by: 599)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: cookie)).status == .ok)
                clock.advance(by: 2)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: cookie)).status == .seeOther)

                let created = try await api.send(.post, "/api/v1/tokens", json: ["name": "ops", "role": "operator"])
                let token = try created.decode(APITokenResponse.self).token
                let (opsCookie, _) = try await Self.signIn(api, token: token)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: opsCookie)).status == .ok)
                #expect(try await api.send(.delete, "/api/v1/tokens/ops").status == .noContent)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: opsCookie)).status == .seeOther)

                // Rotating a token signs its browsers out too.
                let (adminCookie, _) = try await Self.signIn(api, token: hub.adminToken)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: adminCookie)).status == .ok)
                #expect(try await api.send(.post, "/api/v1/tokens/admin/rotate", body: "").status == .ok)
                #expect(try await api.send(.get, "/tasks", token: .none, headers: Self.browser(cookie: adminCookie)).status == .seeOther)
            }
        }
    }

    @Test func aReaderSeesPagesButCannotAct() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let created = try await api.send(.post, "/api/v1/tokens", json: ["name": "viewer", "role": "reader"])
                let token = try created.decode(APITokenResponse.self).token
                let (cookie, _) = try await Self.signIn(api, token: token)
                let page = try await api.send(.get, "/run", token: .none, headers: Self.browser(cookie: cookie))
                #expect(page.status == .ok)
                let csrf = try Self.csrf(in: page.text)
                let reply = try await api.send(
                    .post, "/run", token: .none, body: Self.form([("target", "local"), ("script", "id"), ("_csrf", csrf)]),
                    contentType: Self.formType, headers: Self.browser(cookie: cookie))
                #expect(reply.status == .forbidden)
                #expect(reply.text.contains("has the role reader; this needs operator or higher"))
                #expect(try await api.send(.get, "/targets/new", token: .none, headers: Self.browser(cookie: cookie)).status == .forbidden)
            }
        }
    }
}
