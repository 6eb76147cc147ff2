import Foundation
package import OutpostCore

/// The bearer token `/metrics` requires when the operator sets one. Only its SHA-256
/// is kept, and its description hides it, so it never reaches a log or an error.
package struct MetricsToken: Sendable, Equatable, CustomStringConvertible {
    let hash: String

    /// - Throws: `ValidationError` (field `metrics_token_file`) when the token is empty
    ///   or spans several lines.
    package init(_ token: String) throws(ValidationError) {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw ValidationError(field: "metrics_token_file", message: "the metrics token file is empty")
        }
        guard !trimmed.contains(where: \.isNewline) else {
            throw ValidationError(
                field: "metrics_token_file", message: "the metrics token file must hold the token on one line")
        }
        hash = TokenHasher.hash(trimmed)
    }

    package var description: String { "[metrics token]" }

    /// Whether `header` (an `Authorization` value) carries this token, compared in constant time.
    func accepts(authorization header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let presented = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return TokenHasher.constantTimeEquals(TokenHasher.hash(presented), hash)
    }
}
