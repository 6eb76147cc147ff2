package import OutpostCore

/// Why an agent refuses a signed (or unsigned) task. The message names what was wrong
/// and, for a changed task, which part; it never quotes a script, a value or a
/// signature.
package struct TaskSignatureRejection: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Reason: Sendable, Equatable {
        /// The task carries no signature.
        case missing
        /// The envelope or its payload cannot be read (bad base64, not canonical JSON...).
        case malformed
        /// The envelope's payload type is not a task's.
        case wrongPayloadType
        /// No signature names a key this agent trusts.
        case unknownKey
        /// A trusted key's signature does not verify (another key, another algorithm,
        /// truncated, or the payload was changed).
        case badSignature
        /// The key may not sign for this target or these tags.
        case keyNotAllowed
        /// Past `expires`.
        case expired
        /// Before `not_before`.
        case notYetValid
        /// The window is longer than agents accept.
        case validityTooLong
        /// What the hub handed over differs from what was signed, in these fields.
        case changed([SignedTaskContent.Field])
        /// This agent already ran (or refused as changed) a task with this nonce.
        case replayed
        /// The agent has no key set to check against (none configured, or it cannot be read).
        case keysUnavailable
    }

    package var reason: Reason
    package var message: String

    package init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    package var description: String { message }
}
