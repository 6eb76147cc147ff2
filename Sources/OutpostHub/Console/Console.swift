import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OutpostCore
import OutpostStore

/// The web console: server-rendered pages on the hub's own listener, beside the API.
///
/// Every route goes through `answer`, which applies the console's rules in one place:
/// security headers on every answer; a POST must come from the console's own origin
/// and carry the session's CSRF token; a page behind a role needs a signed-in session
/// whose API token has that role (the same roles as the API's routes); any error
/// becomes a page showing the API's own message with the API's status.
struct Console: Sendable {
    typealias Handler = @Sendable (ConsoleVisit) async throws -> ConsoleAnswer

    let hub: Hub
    let sessions: ConsoleSessions
    /// Words errors exactly as the API does.
    private let errors: ErrorMiddleware

    init(hub: Hub) {
        self.hub = hub
        sessions = ConsoleSessions(hub: hub)
        errors = ErrorMiddleware(routes: [], logger: hub.logger)
    }

    /// Largest form the console takes: a script plus the other fields.
    var formLimit: Int { hub.configuration.maxScriptBytes + 256 * 1024 }

    func register(on router: Router<HubRequestContext>) {
        addSessionRoutes(router)
        addAssetRoutes(router)
        addTaskListRoutes(router)
        addTaskRoutes(router)
        addTaskLogRoutes(router)
        addRunRoutes(router)
        addAgentRoutes(router)
        addAgentTypeRoutes(router)
        addTargetRoutes(router)
    }

    /// Adds a console route; `role` `nil` means open to anyone (sign-in, assets).
    /// `session: false` skips reading the session (assets: no database read per file).
    func on(
        _ router: Router<HubRequestContext>, _ method: HTTPRequest.Method, _ path: String, role: APIRole?,
        session: Bool = true, _ handler: @escaping Handler
    ) {
        router.on(RouterPath(path), method: method) { request, context in
            await answer(request, context: context, method: method, role: role, session: session, handler: handler)
        }
    }

    private func answer(
        _ request: Request, context: HubRequestContext, method: HTTPRequest.Method, role: APIRole?, session: Bool,
        handler: Handler
    ) async -> Response {
        var user: ConsoleUser?
        let flash = ConsoleCookies.value(named: ConsoleFlash.cookieName, in: request).flatMap(ConsoleFlash.init)
        do {
            if method == .post, let reason = ConsoleSecurity.crossSiteReason(request) {
                hub.logger.notice("console refused a cross-site request", metadata: ["path": "\(request.uri.path)"])
                throw HubError(.forbidden, "refused: \(reason)")
            }
            if session || role != nil { user = try await sessions.user(of: request) }
            if let role {
                guard let signedIn = user else {
                    return render(.redirect("/sign-in"), request: request, user: nil, flash: nil)
                }
                guard signedIn.has(role) else {
                    throw HubError(
                        .forbidden,
                        "API token \"\(signedIn.token.name)\" has the role \(signedIn.role.rawValue); this needs \(role.rawValue) or higher"
                    )
                }
            }
            let form = method == .post ? try await ConsoleForm.body(of: request, limit: formLimit) : try .query(of: request)
            if method == .post, let user {
                guard let sent = form["_csrf"], TokenHasher.constantTimeEquals(sent, user.csrf) else {
                    throw HubError(.forbidden, "refused: the form's CSRF token is missing or stale; reload the page and try again")
                }
            }
            let visit = ConsoleVisit(request: request, context: context, user: user, form: form, flash: flash)
            return render(try await handler(visit), request: request, user: user, flash: flash)
        } catch is CancellationError {
            return Response(status: .serviceUnavailable)
        } catch {
            let hubError = errors.translate(error, request: request)
            if hubError.code == .internal {
                hub.logger.error(
                    "console request failed",
                    metadata: [
                        "path": "\(request.uri.path)", "error": "\(hubError.underlying.map { "\($0)" } ?? hubError.message)",
                    ])
            }
            let page = ConsolePage(
                title: "Error", status: hubError.code.httpStatus, error: hubError.message,
                body: "<p><a href=\"/tasks\">Back to the tasks</a></p>")
            return render(.page(page), request: request, user: user, flash: nil)
        }
    }

    private func render(_ answer: ConsoleAnswer, request: Request, user: ConsoleUser?, flash: ConsoleFlash?) -> Response {
        var response: Response
        var cookies: [String] = []
        switch answer {
        case .page(let page):
            let html = ConsoleLayout.render(page, user: user, flash: flash)
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            response = Response(status: page.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html.text)))
            cookies = page.cookies
            // The message was shown: it is not shown again.
            if flash != nil { cookies.append(ConsoleCookies.header(ConsoleFlash.cookieName, "", maxAge: 0, secure: secure)) }
        case .redirect(let location, let next):
            var headers = HTTPFields()
            headers[.location] = location
            response = Response(status: .seeOther, headers: headers)
            if let next {
                cookies.append(ConsoleCookies.header(ConsoleFlash.cookieName, next.cookieValue, maxAge: 60, secure: secure))
            }
        case .response(let complete):
            response = complete
        }
        for cookie in cookies { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        ConsoleSecurity.apply(to: &response.headers)
        return response
    }

    /// Cookies carry `Secure` when the hub serves HTTPS.
    var secure: Bool { hub.configuration.tls != nil }
}
