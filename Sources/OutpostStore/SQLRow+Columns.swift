import Foundation
import OutpostCore
import SQLKit

/// Typed column access with errors that name the column but never echo the stored
/// value (a column could hold a script or log bytes).
extension SQLRow {
    func column<T: Decodable>(_ name: String, as type: T.Type = T.self) throws(StoreError) -> T {
        do {
            return try decode(column: name, as: T.self)
        } catch {
            throw StoreError(.database, "stored column \"\(name)\" cannot be read as \(T.self)")
        }
    }

    func optionalColumn<T: Decodable>(_ name: String, as type: T.Type = T.self) throws(StoreError) -> T? {
        let isNull: Bool
        do {
            isNull = try decodeNil(column: name)
        } catch {
            throw StoreError(.database, "stored column \"\(name)\" is missing")
        }
        return isNull ? nil : try column(name, as: T.self)
    }

    /// A timestamp stored as unix seconds.
    func date(_ name: String) throws(StoreError) -> Date {
        Date(timeIntervalSince1970: try column(name, as: Double.self))
    }

    func optionalDate(_ name: String) throws(StoreError) -> Date? {
        try optionalColumn(name, as: Double.self).map(Date.init(timeIntervalSince1970:))
    }

    /// A boolean stored as 0/1 (portable: no boolean type in SQLite).
    func flag(_ name: String) throws(StoreError) -> Bool {
        try column(name, as: Int64.self) != 0
    }

    /// A JSON document stored as text.
    func json<T: Decodable>(_ name: String, as type: T.Type = T.self) throws(StoreError) -> T {
        try StoreJSON.decode(T.self, from: try column(name, as: String.self), column: name)
    }

    func taskStatus(_ name: String = "status") throws(StoreError) -> TaskStatus {
        let raw = try column(name, as: String.self)
        guard let status = TaskStatus(rawValue: raw) else {
            throw StoreError(.database, "stored task status \"\(raw)\" is not one this Outpost knows")
        }
        return status
    }
}

extension Date {
    /// The stored spelling of a timestamp: unix seconds as a double.
    var unixSeconds: Double { timeIntervalSince1970 }
}

extension Bool {
    /// The stored spelling of a flag.
    var storedFlag: Int { self ? 1 : 0 }
}
