import NIOCore
import SQLiteKit
import VaporCSQLite

/// One SQLite connection driven directly through the C API on the calling
/// thread, with its prepared statements kept for reuse.
///
/// sqlite-nio runs every statement on a thread pool and hands each row and
/// the result back through an event loop: three or four thread switches per
/// statement, which dominated the hub's profile. Here a whole transaction runs
/// on the thread of the task that holds the `ConnectionGate`, and statements
/// are compiled once. Calls are short (WAL, `synchronous=NORMAL`: no fsync per
/// commit), so borrowing a cooperative thread for them is cheaper than hopping.
/// The price: a statement waiting on another process's write lock (up to the
/// busy timeout) holds that thread meanwhile. In WAL mode only another writer
/// takes that lock; backups and readers do not.
///
/// Not thread-safe by itself: the gate admits one operation at a time.
final class SQLiteDirectConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// Statements kept at most; the hub's SQL is a small fixed set, but `IN (...)`
    /// lists of varying length make new texts, so the cache is cleared when full.
    private static let statementCacheLimit = 256

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    /// Opens the database at `path` (creating it if needed, when `create`); `":memory:"` for a private in-memory one.
    static func open(path: String, create: Bool = true) throws(SQLiteFailure) -> SQLiteDirectConnection {
        var handle: OpaquePointer?
        let flags = (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "out of memory"
            if let handle { sqlite_nio_sqlite3_close(handle) }
            throw SQLiteFailure(code: status, message: message)
        }
        return SQLiteDirectConnection(handle: handle)
    }

    /// Runs one statement with `binds`, calling `onRow` for each result row.
    func execute(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteDirectRow) throws -> Void) throws {
        let statement = try prepared(sql)
        defer {
            // Resetting ends the statement's implicit read of the database.
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (index, bind) in binds.enumerated() {
            try check(Self.bind(bind, at: Int32(index + 1), to: statement))
        }
        var columns: SQLiteColumnNames?
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw failure(status) }
            let names = columns ?? SQLiteColumnNames(statement)
            columns = names
            let values = try (0 ..< Int32(names.count)).map { try Self.value(of: statement, at: $0) }
            try onRow(SQLiteDirectRow(columns: names, values: values))
        }
    }

    /// Finalizes the statements and closes the database. Later calls fail.
    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        if let handle { sqlite_nio_sqlite3_close(handle) }
        handle = nil
    }

    static var libraryVersion: Int { Int(sqlite_nio_sqlite3_libversion_number()) }

    // MARK: Statements

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        guard let handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed") }
        if statements.count >= Self.statementCacheLimit {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
            statements = [:]
        }
        var statement: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status) }
        statements[sql] = statement
        return statement
    }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else { throw failure(status) }
    }

    /// The connection's current error; its message names tables and columns, never bound values.
    private func failure(_ status: Int32) -> SQLiteFailure {
        let code = handle.map { sqlite_nio_sqlite3_extended_errcode($0) } ?? status
        let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "the database is closed"
        return SQLiteFailure(code: code, message: message)
    }

    private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .blob(let buffer):
            return buffer.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        case .float(let number):
            return sqlite_nio_sqlite3_bind_double(statement, index, number)
        case .integer(let number):
            return sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
        case .null:
            return sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let text):
            var text = text
            return text.withUTF8 {
                sqlite_nio_sqlite3_bind_text64(statement, index, $0.baseAddress, UInt64($0.count), transient, UInt8(SQLITE_UTF8))
            }
        }
    }

    private static func value(of statement: OpaquePointer, at column: Int32) throws -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        case SQLITE_NULL:
            return .null
        default:
            throw SQLiteFailure(code: SQLITE_MISMATCH, message: "unexpected type in column \(column)")
        }
    }

    /// Tells SQLite to copy bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// An SQLite result code with the library's message.
struct SQLiteFailure: Error, CustomStringConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, ...).
    var code: Int32
    var message: String

    var description: String { message }

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, ...).
    var primaryCode: Int32 { code & 0xff }

    /// The kind of constraint that failed, if this is a constraint failure.
    var constraint: StoreDialect.Constraint? {
        guard primaryCode == SQLITE_CONSTRAINT else { return nil }
        switch code {
        case SQLITE_CONSTRAINT | (8 << 8), SQLITE_CONSTRAINT | (6 << 8): return .unique  // UNIQUE, PRIMARYKEY
        case SQLITE_CONSTRAINT | (3 << 8): return .foreignKey  // FOREIGNKEY
        default: return .other
        }
    }
}

/// The column names of a statement's result, shared by its rows.
final class SQLiteColumnNames: Sendable {
    let names: [String]
    let index: [String: Int]

    init(_ statement: OpaquePointer) {
        let count = sqlite_nio_sqlite3_column_count(statement)
        names = (0 ..< count).map { column in
            sqlite_nio_sqlite3_column_name(statement, column).map { String(cString: $0) } ?? ""
        }
        // The first of two equally named columns wins, as in sqlite-nio.
        index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var count: Int { names.count }
}

/// One result row, readable through SQLKit's `SQLRow`.
struct SQLiteDirectRow: SQLRow, Sendable {
    let columns: SQLiteColumnNames
    let values: [SQLiteData]

    private static let decoder = SQLiteDataDecoder()

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.index[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.index[column] else { return true }
        return values[position] == .null
    }

    func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
        guard let position = columns.index[column] else {
            throw SQLiteFailure(code: SQLITE_ERROR, message: "no column \"\(column)\" in the result")
        }
        return try Self.decoder.decode(D.self, from: values[position])
    }
}
