import HTTPTypes
import Hummingbird
import OutpostCore

/// `/`, `/sign-in`, `/sign-out`.
extension Console {
    func addSessionRoutes(_ router: Router<HubRequestContext>) {
        on(router, .get, "/", role: .reader) { _ in .redirect("/tasks") }

        on(router, .get, "/sign-in", role: nil) { visit in
            if visit.user != nil { return .redirect("/tasks") }
            return .page(signInPage(error: nil))
        }

        on(router, .post, "/sign-in", role: nil) { visit in
            guard let token = visit.form.text("token") else {
                return .page(signInPage(error: "type an API token (outpost tokens create NAME makes one)", status: .badRequest))
            }
            do {
                let value = try await sessions.signIn(apiToken: token)
                return .response(Self.redirect(to: "/tasks", cookies: [sessions.setCookie(value)]))
            } catch let error as HubError where error.code == .unauthorized || error.code == .forbidden {
                return .page(signInPage(error: error.message, status: .unauthorized))
            }
        }

        on(router, .post, "/sign-out", role: .reader) { visit in
            try await sessions.signOut(try visit.signedIn)
            return .response(Self.redirect(to: "/sign-in", cookies: [sessions.clearCookie()]))
        }
    }

    /// The form takes the token in a password field and posts it: it never lands in
    /// a URL, the browser's history or the page.
    private func signInPage(error: String?, status: HTTPResponse.Status = .ok) -> ConsolePage {
        ConsolePage(
            title: "Sign in", status: status, error: error,
            body: """
                <section class="sign-in">
                <h1>Sign in</h1>
                <p>Use an API token of this hub. <code>outpost dev</code> prints the admin token; <code>outpost tokens create NAME --role reader</code> makes a read-only one.</p>
                <form id="sign-in" method="post" action="/sign-in">
                <label for="token">API token</label>
                <input id="token" name="token" type="password" autocomplete="off" required autofocus spellcheck="false">
                <button id="sign-in-submit" type="submit">Sign in</button>
                </form>
                </section>
                """)
    }

    /// 303 to `location`, setting `cookies`.
    static func redirect(to location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }
}
