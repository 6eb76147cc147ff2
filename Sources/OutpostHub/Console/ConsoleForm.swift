import Foundation
import OutpostCore
import Hummingbird
import NIOCore

/// The fields of a submitted form (`application/x-www-form-urlencoded`) or of a
/// query string, in order; a name may repeat (the rows of a target's secrets).
struct ConsoleForm: Sendable {
    private(set) var fields: [(name: String, value: String)] = []

    init(fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// Parses `a=1&b=x+y`; a field whose escapes are malformed is a 400 naming it.
    init(encoded text: Substring) throws {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = URLText.decodeForm(parts[0]) else {
                throw HubError.invalid("a form field's name is not valid URL encoding")
            }
            guard let value = URLText.decodeForm(parts.count > 1 ? parts[1] : "") else {
                throw HubError.invalid("form field \"\(name)\" is not valid URL encoding")
            }
            fields.append((name, value))
        }
    }

    /// The query string of a request.
    static func query(of request: Request) throws -> ConsoleForm {
        try ConsoleForm(encoded: Substring(request.uri.query ?? ""))
    }

    /// The body of a posted form, at most `limit` bytes.
    static func body(of request: Request, limit: Int) async throws -> ConsoleForm {
        let type = request.headers[.contentType]?.split(separator: ";").first?.lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw HubError(.unsupportedMediaType, "the console takes forms as application/x-www-form-urlencoded")
        }
        let buffer = try await request.collectBody(limit: limit)
        return try ConsoleForm(encoded: Substring(String(buffer: buffer)))
    }

    /// The first value of `name`, or `nil`.
    subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// `name`'s value trimmed; `nil` when absent or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// Every value of `name`, in order.
    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    var isEmpty: Bool { fields.isEmpty }
}
