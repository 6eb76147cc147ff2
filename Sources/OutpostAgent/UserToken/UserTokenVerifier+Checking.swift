package import Foundation

/// The runner's view of the verifier: accepted with the subject, or rejected with
/// the reason as the task's error.
extension UserTokenVerifier: UserTokenChecking {
    package func decide(_ token: String?, now: Date) async -> UserTokenCheck {
        switch await verify(token, now: now) {
        case .accepted(let subject):
            // The subject is the token author's text: keep it one printable line of bounded length.
            let printable = subject.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }
            return .accepted(subject: String(String.UnicodeScalarView(printable).prefix(256)))
        case .rejected(let rejection):
            return .rejected(reason: rejection.message)
        }
    }
}
