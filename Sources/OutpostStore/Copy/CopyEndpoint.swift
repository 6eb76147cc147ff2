import SQLKit

/// One database inside a copy's transaction, with its catalog.
///
/// The copy nests a transaction of one database inside a transaction of the
/// other, and each store names the errors inside its own transaction after its
/// own database. So every statement here turns its error into a `StoreError` at
/// once, named after the database it ran on, and passes through the other
/// transaction unchanged.
struct CopyEndpoint {
    let db: any SQLDatabase
    let dialect: StoreDialect

    /// Runs `body`, its errors already the store's, named after this database.
    func run<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        do {
            return try await body(db)
        } catch {
            throw dialect.storeError(error, while: operation)
        }
    }

    /// The names of the tables in the schema the connection works in.
    func tables() async throws(StoreError) -> Set<String> {
        try await run("listing tables") { db in
            Set(try await db.raw(SQLQueryString(dialect.tablesQuery)).all().map { row in try row.column("name", as: String.self) })
        }
    }

    /// The columns of `table`, in order.
    /// - Throws: `.database` for a column type the migrations never use (a copy would not know how to carry it).
    func columns(of table: String) async throws(StoreError) -> [StoredColumn] {
        let rows = try await run("listing the columns of \(table)") { db in
            try await db.raw(dialect.columnsQuery(table)).all().map { row in
                (try row.column("name", as: String.self), try row.column("type", as: String.self))
            }
        }
        return try rows.map { (name, type) throws(StoreError) in
            guard let kind = dialect.columnKind(declaredType: type) else {
                throw StoreError(.database, "\(dialect.name) column \(table).\(name) has type \(type), which Outpost does not store")
            }
            return StoredColumn(name: name, kind: kind)
        }
    }

    func rowCount(of table: String) async throws(StoreError) -> Int {
        try await run("counting the rows of \(table)") { db in
            try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.column("n", as: Int.self) ?? 0
        }
    }
}
