import SQLKit

extension Collection where Element == SQLQueryString {
    /// The items joined by ", ", padded with `filler` up to the next power of two (at
    /// most `maximum`). Lists of every length then make a handful of statement texts,
    /// which SQLite's statement cache (`SQLiteDirectConnection`) keeps, instead of one
    /// text per length, which would flush it. `filler` must match nothing.
    func paddedList(filler: SQLQueryString, maximum: Int) -> SQLQueryString {
        var size = 1
        while size < count { size *= 2 }
        let padding = Swift.max(0, Swift.min(size, maximum) - count)
        return (Array(self) + Array(repeating: filler, count: padding)).joined(separator: ", ")
    }
}

/// Items per statement for lists of values (heartbeats, ids to delete): at most 1,000
/// binds, far below SQLite's and PostgreSQL's limits.
let statementListLimit = 500
