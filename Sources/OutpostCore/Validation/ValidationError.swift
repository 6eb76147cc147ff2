/// Input that breaks a rule, with the field it concerns. Never carries a secret value.
package struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field or key that was wrong (`name`, `tags`, `timeout_seconds`, ...).
    package var field: String
    package var message: String

    package init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    package var description: String { message }
}
