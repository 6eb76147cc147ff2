import SQLKit
import SQLiteKit

/// Copies one table from the SQLite source to the destination, page by page.
///
/// Pages follow the primary key (`WHERE key > last key of the previous page`), so
/// every page is one index range scan however large the table, and are bounded in
/// rows and in bytes: a page of log chunks stops at about `pageBytes`, so a large
/// log table is never in memory at once (one chunk larger than that makes a page
/// of its own). The source runs inside one read transaction, so the pages are
/// slices of one snapshot.
struct TableCopy {
    var table: StoreTable
    var source: CopyEndpoint
    var destination: CopyEndpoint

    /// Rows a page holds at most.
    static let pageRows = 500
    /// Bytes of text and blobs a page holds at most, unless its first row alone is larger.
    static let pageBytes: Int64 = 4 << 20
    /// Values one INSERT binds at most (PostgreSQL takes up to 65,535).
    static let maxBinds = 16_000

    /// Copies every row and returns how many, after checking the destination holds as many as the source.
    /// - Throws: `.conflict` when the two databases' columns differ; `.database` when a
    ///   value does not fit its column or a statement fails.
    func run() async throws(StoreError) -> Int {
        let columns = try await destination.columns(of: table.name)
        try await checkSameColumns(columns)
        var after: [any Encodable & Sendable]?
        var copied = 0
        while let (rows, last) = try await nextPage(after: after, columns: columns) {
            try await insert(rows, columns: columns)
            copied += rows.count
            after = last
        }
        let expected = try await source.rowCount(of: table.name)
        let stored = try await destination.rowCount(of: table.name)
        guard copied == expected, stored == expected else {
            throw StoreError(
                .database, "table \(table.name): the source has \(expected) rows but \(stored) arrived; nothing was copied")
        }
        return copied
    }

    /// Both databases were migrated to the same version, so this only fails when a
    /// migration spelled a table differently for one of them.
    private func checkSameColumns(_ columns: [StoredColumn]) async throws(StoreError) {
        let here = Set(try await source.columns(of: table.name).map(\.name))
        let there = Set(columns.map(\.name))
        guard here == there else {
            let onlySource = here.subtracting(there).sorted().joined(separator: ", ")
            let onlyDestination = there.subtracting(here).sorted().joined(separator: ", ")
            throw StoreError(
                .conflict,
                "table \(table.name) has different columns in the two databases (only in the source: [\(onlySource)], "
                    + "only in the destination: [\(onlyDestination)])")
        }
    }

    /// The rows after key `after` (from the start when `nil`) up to the page's bounds,
    /// with the key of the last one; `nil` once the table is done.
    private func nextPage(
        after: [any Encodable & Sendable]?, columns: [StoredColumn]
    ) async throws(StoreError) -> (rows: [SQLiteDirectRow], lastKey: [any Encodable & Sendable])? {
        let key = SQLList(table.key.map { SQLIdentifier($0) })
        let from: any SQLExpression = after.map { SQLQueryString("(\(key)) > (\(binds: $0))") } ?? SQLLiteral.boolean(true)
        // First the keys and sizes alone (cheap), to decide where the page ends...
        let sizes = columns.filter { $0.kind == .text || $0.kind == .blob }.map { column in
            SQLFunction("COALESCE", args: SQLFunction("LENGTH", args: SQLIdentifier(column.name)), SQLLiteral.numeric("0"))
        }
        let size: any SQLExpression = sizes.isEmpty ? SQLLiteral.numeric("0") : SQLList(sizes, separator: SQLRaw(" + "))
        let candidates = try await source.run("reading table \(table.name)") { db in
            try await db.raw(
                """
                SELECT \(key), \(size) AS copy_bytes FROM \(ident: table.name)
                WHERE \(from) ORDER BY \(key) LIMIT \(literal: Self.pageRows)
                """
            ).all()
        }
        guard let end = try Self.pageEnd(candidates) else { return nil }
        let lastKey = try keyValues(of: candidates[end], columns: columns)
        // ...then the whole rows up to there.
        let rows = try await source.run("reading table \(table.name)") { db in
            try await db.raw(
                """
                SELECT * FROM \(ident: table.name)
                WHERE \(from) AND (\(key)) <= (\(binds: lastKey)) ORDER BY \(key)
                """
            ).all()
        }
        return (try rows.map(Self.direct), lastKey)
    }

    /// The index of the page's last row: as many rows as fit in `pageBytes`, at least one.
    private static func pageEnd(_ candidates: [any SQLRow]) throws(StoreError) -> Int? {
        guard !candidates.isEmpty else { return nil }
        var bytes: Int64 = 0
        for (index, row) in candidates.enumerated() {
            bytes += try row.column("copy_bytes", as: Int64.self)
            if bytes > pageBytes { return max(0, index - 1) }
        }
        return candidates.count - 1
    }

    private func keyValues(of row: any SQLRow, columns: [StoredColumn]) throws(StoreError) -> [any Encodable & Sendable] {
        let row = try Self.direct(row)
        return try table.key.map { name throws(StoreError) in
            guard let column = columns.first(where: { $0.name == name }),
                let value = try column.copiedValue(row.value(name), table: table.name)
            else {
                throw StoreError(.database, "table \(table.name) has no usable primary key column \(name)")
            }
            return value
        }
    }

    private func insert(_ rows: [SQLiteDirectRow], columns: [StoredColumn]) async throws(StoreError) {
        let rowsPerStatement = max(1, Self.maxBinds / max(1, columns.count))
        var start = rows.startIndex
        while start < rows.endIndex {
            let batch = rows[start..<min(start + rowsPerStatement, rows.endIndex)]
            let values = try batch.map { row throws(StoreError) in
                try columns.map { column throws(StoreError) -> any SQLExpression in
                    // An untyped NULL: PostgreSQL gives it the column's type.
                    try column.copiedValue(row.value(column.name), table: table.name).map { SQLBind($0) } ?? SQLLiteral.null
                }
            }
            try await destination.run("writing table \(table.name)") { db in
                try await db.insert(into: SQLIdentifier(table.name)).columns(columns.map(\.name)).rows(values).run()
            }
            start = batch.endIndex
        }
    }

    /// The source's rows carry SQLite's own values (`SQLiteData`): what the copy keeps exactly.
    private static func direct(_ row: any SQLRow) throws(StoreError) -> SQLiteDirectRow {
        guard let row = row as? SQLiteDirectRow else {
            throw StoreError(.database, "the copy reads only from an SQLite store")
        }
        return row
    }
}

extension SQLiteDirectRow {
    /// The stored value of `column`; NULL for a column the row does not have.
    func value(_ column: String) -> SQLiteData {
        columns.index[column].map { values[$0] } ?? .null
    }
}
