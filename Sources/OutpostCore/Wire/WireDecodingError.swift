/// Why a request body was refused by `WireJSON.decodeRequest`: one sentence naming the
/// field (in `secrets[0].path` form) and what was wrong with it. Never echoes a value
/// from the body, which may hold a secret.
package struct WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Not JSON at all (syntax, encoding, nesting too deep).
        case malformed
        /// A key the request type does not know (a typo such as `timout`).
        case unknownField
        /// The same key twice in one object.
        case duplicateKey
        /// A value of the wrong JSON type (a string where an integer belongs).
        case typeMismatch
        /// A number that does not fit the field (too large, a fraction for an integer).
        case outOfRange
        /// A required field is absent.
        case missingField
        /// A value of the right type that the field does not accept (an unknown status).
        case invalidValue
    }

    package var kind: Kind
    /// The field concerned; empty for the body as a whole.
    package var field: String
    package var message: String

    package init(_ kind: Kind, field: String, _ message: String) {
        self.kind = kind
        self.field = field
        self.message = message
    }

    package var description: String { message }

    /// `secrets[0].path` from a coding path.
    static func fieldName(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}

extension WireDecodingError {
    /// Words a `DecodingError` that a type's own `init(from:)` threw (an unknown enum
    /// value, a check of its own), naming the field and never the value.
    init(describing error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            let field = Self.fieldName(context.codingPath + [key])
            self.init(.missingField, field: field, "missing field \"\(field)\"")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = Self.fieldName(context.codingPath)
            self.init(.typeMismatch, field: field, "field \"\(field)\" has the wrong type")
        case .dataCorrupted(let context):
            let field = Self.fieldName(context.codingPath)
            if field.isEmpty {
                self.init(.invalidValue, field: "", "the request body is invalid: \(context.debugDescription)")
            } else {
                self.init(.invalidValue, field: field, "field \"\(field)\" is invalid: \(context.debugDescription)")
            }
        @unknown default:
            self.init(.invalidValue, field: "", "the request body could not be decoded")
        }
    }
}
