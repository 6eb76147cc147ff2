package import Testing

/// Expectations about secret values that never print them: Swift Testing's
/// `#expect` shows the values of a failed expression, so `#expect(!log.contains(password))`
/// would put the password (and the log holding it) into the failure message.
/// These record an issue naming only where the check looked.

/// `secret` does not occur in `text`.
package func expectAbsent(
    _ secret: String, in text: String, _ place: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if !secret.isEmpty, text.contains(secret) {
        Issue.record("a secret value appears in \(place())", sourceLocation: sourceLocation)
    }
}

/// `actual` is exactly `secret`.
package func expectSecret(
    _ actual: String?, is secret: String, _ place: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if actual != secret {
        Issue.record("\(place()) does not hold the expected secret value", sourceLocation: sourceLocation)
    }
}
