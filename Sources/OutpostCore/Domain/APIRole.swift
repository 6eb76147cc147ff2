/// What a named API token may do on the user API. Each role includes the ones
/// below it: a route names the least role it needs.
package enum APIRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Read-only: targets, tasks and their logs, agents, agent types (`GET` routes).
    case reader
    /// A reader who also runs and cancels tasks, drains agents and lists an agent's
    /// secret names: day-to-day operations, no configuration.
    case `operator`
    /// Everything: targets, agent types and their tokens, API tokens.
    case admin

    /// reader < operator < admin.
    package static func < (a: APIRole, b: APIRole) -> Bool { a.rank < b.rank }

    private var rank: Int {
        switch self {
        case .reader: 0
        case .operator: 1
        case .admin: 2
        }
    }
}
