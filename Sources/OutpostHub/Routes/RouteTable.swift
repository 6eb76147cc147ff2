import HTTPTypes
import Hummingbird
import Logging

/// A route's method and path template (`/api/v1/tasks/{id}`), as the router and
/// `openapi.yaml` spell it.
struct RouteSignature: Sendable, Hashable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var path: String

    var description: String { "\(method.rawValue) \(path)" }

    /// `true` when a concrete request path fits this template (`{x}` matches one segment).
    func matches(path requestPath: String) -> Bool {
        let template = path.split(separator: "/", omittingEmptySubsequences: true)
        let actual = requestPath.split(separator: "/", omittingEmptySubsequences: true)
        guard template.count == actual.count else { return false }
        return zip(template, actual).allSatisfy { t, a in (t.first == "{" && t.last == "}") || t == a }
    }
}

/// Every route of the hub, declared in one place so the router, the 405 answer and
/// the OpenAPI test all see the same list.
struct RouteTable: Sendable {
    typealias Handler = @Sendable (Request, HubRequestContext) async throws -> Response

    struct Route: Sendable {
        var signature: RouteSignature
        var auth: AuthRequirement
        var handler: Handler
    }

    private(set) var routes: [Route] = []

    var signatures: [RouteSignature] { routes.map(\.signature) }

    mutating func add(
        _ method: HTTPRequest.Method, _ path: String, auth: AuthRequirement, _ handler: @escaping Handler
    ) {
        routes.append(Route(signature: RouteSignature(method: method, path: path), auth: auth, handler: handler))
    }

    /// Builds the router: the error middleware first (so it also sees "no route"),
    /// then each route behind its token check.
    func makeRouter(authenticator: Authenticator, logger: Logger) -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self)
        router.add(middleware: ErrorMiddleware(routes: signatures, logger: logger))
        for route in routes {
            let auth = route.auth
            let handler = route.handler
            router.on(RouterPath(route.signature.path), method: route.signature.method) { request, context in
                var context = context
                context.caller = try await authenticator.authenticate(request, as: auth, channel: context.channel)
                return try await handler(request, context)
            }
        }
        return router
    }
}
