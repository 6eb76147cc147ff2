import Foundation
import NIOCore
import SQLiteKit

/// A column of a stored table, as the database's own catalog lists it.
struct StoredColumn: Sendable, Equatable {
    /// What the column holds, in the migrations' portable types (`StoreDialect` names them per database).
    enum Kind: String, Sendable, Equatable {
        case integer
        case real
        case text
        case blob
    }

    var name: String
    var kind: Kind

    /// `value`, read from SQLite, in the Swift type that binds to this column on either
    /// database: the same integer, the same double bit for bit, the same text, the same
    /// bytes; `nil` for NULL.
    /// - Throws: `.database` naming the table and the column, never the value, when
    ///   SQLite's loose typing let in a value this column's type cannot hold.
    func copiedValue(_ value: SQLiteData, table: String) throws(StoreError) -> (any Encodable & Sendable)? {
        switch (value, kind) {
        case (.null, _):
            return nil
        case (.integer(let number), .integer):
            return Int64(number)
        case (.integer(let number), .real):
            // A REAL column hands back doubles; an integer here came in some other way.
            if let exact = Double(exactly: number) { return exact }
        case (.float(let number), .real):
            return number
        case (.float(let number), .integer):
            // SQLite stores a whole double in an INTEGER column as an integer: this one has a fraction.
            if let exact = Int64(exactly: number) { return exact }
        case (.text(let text), .text):
            return text
        case (.text(let text), .blob):
            // SQLite keeps text in a BLOB column as its UTF-8 bytes; those bytes are the value.
            return Data(text.utf8)
        case (.blob(let bytes), .blob):
            return Data(bytes.readableBytesView)
        default:
            break
        }
        throw StoreError(
            .database,
            "table \(table), column \(name): a row holds \(Self.describeType(of: value)) where \(kind.rawValue) is expected; "
                + "nothing was copied")
    }

    private static func describeType(of value: SQLiteData) -> String {
        switch value {
        case .integer: "an integer"
        case .float: "a real number"
        case .text: "text"
        case .blob: "bytes"
        case .null: "NULL"
        }
    }
}
