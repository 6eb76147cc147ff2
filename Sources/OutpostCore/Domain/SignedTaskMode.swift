/// How strictly an agent holds tasks to their submitter's signature (signed tasks).
package enum SignedTaskMode: String, Codable, Sendable, CaseIterable, Comparable {
    /// Signatures are not checked (the default).
    case off
    /// Every task is checked; a task that fails is logged as a warning and runs anyway
    /// (for moving a fleet over, as the signers start signing).
    case warn
    /// A task runs only when its signature verifies; otherwise it is `rejected` with the reason.
    case require

    package static func < (lhs: SignedTaskMode, rhs: SignedTaskMode) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// How `require_signed_tasks` spells it in a configuration: `true`, `false` or `warn`.
    package init?(setting: String) {
        switch setting.lowercased() {
        case "true", "require", "yes", "on": self = .require
        case "false", "off", "no": self = .off
        case "warn": self = .warn
        default: return nil
        }
    }
}
