/// A secret that the masking policy could not mask. Names the secret (a
/// variable name or secret key), never shows its value or its length.
package struct MaskingWarning: Sendable, Equatable, CustomStringConvertible {
    /// Why the value is not masked.
    package enum Reason: Sendable, Equatable {
        /// Shorter than the policy's minimum: masking it would mangle ordinary
        /// words in the log (`API_TOKEN=none`).
        case tooShort(minimumLength: Int)
    }

    /// The variable name or secret key the value came from.
    package let name: String
    package let reason: Reason

    package init(name: String, reason: Reason) {
        self.name = name
        self.reason = reason
    }

    package var description: String {
        switch reason {
        case .tooShort(let minimumLength):
            "the value of \(name) is shorter than \(minimumLength) bytes and is not masked in task logs"
        }
    }
}
