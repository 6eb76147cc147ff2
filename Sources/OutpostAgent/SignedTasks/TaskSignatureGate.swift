package import Foundation
package import Logging
package import OutpostCore
import OutpostSigning

/// What the runner learns about a task's signature before it fetches any secret.
package enum TaskSignatureOutcome: Sendable, Equatable {
    /// Not checked: this agent (and its agent type's hint) does not ask for signatures.
    case notChecked
    /// The signature verified; the key id is recorded on the task.
    case verified(kid: String)
    /// `warn` mode: the check failed for this reason, and the task runs anyway.
    case warned(String)
    /// `require` mode: the task must not run, for this reason.
    case rejected(String)
}

/// What the runner asks of signed-task enforcement; `TaskSignatureGate` is the real one.
package protocol TaskSignatureChecking: Sendable {
    func check(_ assignment: TaskAssignment, now: Date) async -> TaskSignatureOutcome
    /// Takes the mode the agent's type asks for (from each registration answer).
    func adopt(hubHint: SignedTaskMode) async
}

/// An agent's enforcement of signed tasks: the mode (its own `require_signed_tasks`, or
/// the stricter one its agent type asks for), its trusted keys, and the replay journal.
///
/// Every decision is made from what the agent is about to run — the assignment's
/// target, script and timeout — never from what the hub says was signed.
package actor TaskSignatureGate: TaskSignatureChecking {
    /// The agent's own setting.
    package nonisolated let configuredMode: SignedTaskMode
    private let keys: (any VerificationKeySource)?
    private let journal: NonceJournal
    private let leeway: TimeInterval
    private let logger: Logger
    /// What the hub says the agent's type asks for; it can only make the agent stricter.
    private var hubHint: SignedTaskMode = .off

    init(
        mode: SignedTaskMode, keys: (any VerificationKeySource)?, journal: NonceJournal, leeway: TimeInterval,
        logger: Logger
    ) {
        self.configuredMode = mode
        self.keys = keys
        self.journal = journal
        self.leeway = leeway
        self.logger = logger
    }

    /// The mode in force: the stricter of the agent's own and its type's.
    package var mode: SignedTaskMode { max(configuredMode, hubHint) }

    /// Takes the hub's hint (from the registration answer). Logged when it raises the mode.
    package func adopt(hubHint hint: SignedTaskMode) {
        guard hint != hubHint else { return }
        hubHint = hint
        if hint > configuredMode {
            logger.notice(
                "this agent's type asks for signed tasks: enforcing \(hint.rawValue) (the agent's own setting is \(configuredMode.rawValue))")
            if keys == nil {
                logger.error("this agent has no verification_keys, so it cannot verify any signed task")
            }
        }
    }

    package func check(_ assignment: TaskAssignment, now: Date) async -> TaskSignatureOutcome {
        let mode = self.mode
        guard mode != .off else { return .notChecked }
        switch await verify(assignment, now: now) {
        case .success(let kid):
            return .verified(kid: kid)
        case .failure(let rejection):
            return mode == .warn ? .warned(rejection.message) : .rejected(rejection.message)
        }
    }

    private func verify(_ assignment: TaskAssignment, now: Date) async -> Result<String, TaskSignatureRejection> {
        guard let keys else {
            return .failure(
                TaskSignatureRejection(.keysUnavailable, "this agent has no verification_keys to check signatures with"))
        }
        let keySet: TaskVerificationKeySet
        do {
            keySet = try await keys.keySet(wanting: assignment.signature?.signatures.map(\.keyid) ?? [], now: now)
        } catch {
            return .failure(TaskSignatureRejection(.keysUnavailable, error.cause))
        }
        let expected = SignedTaskContent(assignment: assignment, scriptSHA256: TaskSigner.scriptDigest(assignment.script))
        let verifier = TaskSignatureVerifier(keys: keySet, leeway: leeway)
        switch verifier.verify(assignment.signature, expected: expected, now: now) {
        case .failure(let rejection):
            return .failure(rejection)
        case .success(let signature):
            do {
                guard try journal.claim(signature.nonce, until: signature.expires.addingTimeInterval(leeway), now: now)
                else {
                    return .failure(
                        TaskSignatureRejection(
                            .replayed,
                            "this agent already ran a task with this signature's nonce: a signed task runs once"))
                }
            } catch {
                return .failure(TaskSignatureRejection(.keysUnavailable, error.message))
            }
            return .success(signature.kid)
        }
    }
}
