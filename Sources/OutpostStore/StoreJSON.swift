import Foundation
import OutpostCore

/// JSON columns (tags, env, secret references, task assignments) use the wire
/// coders, so a stored document reads exactly like the API's.
enum StoreJSON {
    static func encode<T: Encodable>(_ value: T, column: String) throws(StoreError) -> String {
        do {
            return String(decoding: try WireJSON.encoder().encode(value), as: UTF8.self)
        } catch {
            throw StoreError(.database, "cannot encode \(column) as JSON")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String, column: String) throws(StoreError) -> T {
        do {
            return try WireJSON.decoder().decode(T.self, from: Data(text.utf8))
        } catch {
            // The decoding error could quote stored content: name the column only.
            throw StoreError(.database, "stored column \"\(column)\" is not valid \(T.self) JSON")
        }
    }
}
