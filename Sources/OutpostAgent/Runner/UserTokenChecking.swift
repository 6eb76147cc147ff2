package import Foundation

/// What the runner asks of user-token enforcement (`jwk_url`): may this task's
/// user token run here? `UserTokenVerifier` is the real one.
package protocol UserTokenChecking: Sendable {
    func decide(_ token: String?, now: Date) async -> UserTokenCheck
}

package enum UserTokenCheck: Sendable, Equatable {
    /// Verified; the token's subject is recorded on the task.
    case accepted(subject: String)
    /// Refused; the reason names what was wrong (expired, bad signature, unknown key,
    /// wrong audience...) and never contains the token.
    case rejected(reason: String)
}
