import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore

/// One console request once it passed the console's checks: who is signed in, the
/// posted form (or the query of a GET), and the route's path parameters.
struct ConsoleVisit: Sendable {
    let request: Request
    let context: HubRequestContext
    /// `nil` only on the pages open to anyone (sign-in).
    let user: ConsoleUser?
    /// The posted form for a POST, the query string for a GET.
    let form: ConsoleForm
    /// A message the previous request left for this page (after a redirect).
    let flash: ConsoleFlash?

    func parameter(_ name: String) throws -> String { try context.pathParameter(name) }

    /// The signed-in user (pages behind a role always have one).
    var signedIn: ConsoleUser {
        get throws {
            guard let user else { throw HubError(.internal, "console page expected a signed-in user") }
            return user
        }
    }
}

/// A one-line message shown once on the next page, carried over a redirect in a
/// short-lived cookie (never a secret: names and the API's own error messages).
struct ConsoleFlash: Sendable, Equatable {
    enum Kind: String, Sendable { case notice = "n", error = "e" }
    var kind: Kind
    var message: String

    static let cookieName = "outpost_flash"

    static func notice(_ message: String) -> Self { Self(kind: .notice, message: message) }
    static func error(_ message: String) -> Self { Self(kind: .error, message: message) }

    var cookieValue: String { kind.rawValue + URLText.encode(message) }

    init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    init?(cookieValue: String) {
        guard let first = cookieValue.first, let kind = Kind(rawValue: String(first)),
            let message = URLText.decodeForm(cookieValue.dropFirst()), !message.isEmpty
        else { return nil }
        self.init(kind: kind, message: String(message.prefix(2_000)))
    }
}

/// What a console route answers.
enum ConsoleAnswer: Sendable {
    /// An HTML page in the console's layout.
    case page(ConsolePage)
    /// 303 See Other (after a POST, so reloading does not post again), with a message for the next page.
    case redirect(String, flash: ConsoleFlash? = nil)
    /// Anything else (a log, an event stream, a file), already complete.
    case response(Response)
}

/// An HTML page: its title, its main content, and the status it is served with.
struct ConsolePage: Sendable {
    var title: String
    var body: HTML
    var status: HTTPResponse.Status = .ok
    /// Cookies this page sets besides the console's own (the task list's filter).
    var cookies: [String] = []
    /// Marks the current navigation entry.
    var section: ConsoleSection?
    /// An error to show above the content (a refused form), besides any flash.
    var error: String?

    init(
        title: String, section: ConsoleSection? = nil, status: HTTPResponse.Status = .ok, error: String? = nil,
        cookies: [String] = [], body: HTML
    ) {
        self.title = title
        self.section = section
        self.status = status
        self.error = error
        self.cookies = cookies
        self.body = body
    }
}

/// The console's sections, in navigation order.
enum ConsoleSection: String, CaseIterable, Sendable {
    case tasks, run, agents, agentTypes = "agent-types", targets

    var label: String {
        switch self {
        case .tasks: "Tasks"
        case .run: "Run"
        case .agents: "Agents"
        case .agentTypes: "Agent types"
        case .targets: "Targets"
        }
    }
}
