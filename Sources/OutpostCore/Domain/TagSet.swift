/// A set of routing tags, kept sorted and deduplicated so that two equal sets
/// have one spelling (used as a key by the dispatcher and in storage).
package struct TagSet: Sendable, Hashable, Codable, CustomStringConvertible {
    package let tags: [String]

    package init<S: Sequence>(_ tags: S) where S.Element == String {
        self.tags = Array(Set(tags)).sorted()
    }

    package static let empty = TagSet([])

    package var isEmpty: Bool { tags.isEmpty }

    /// `true` when every tag of `self` is also in `other`.
    package func isSubset(of other: TagSet) -> Bool {
        // Both arrays are sorted: one merge pass.
        var j = other.tags.startIndex
        for tag in tags {
            while j < other.tags.endIndex, other.tags[j] < tag { j += 1 }
            guard j < other.tags.endIndex, other.tags[j] == tag else { return false }
            j += 1
        }
        return true
    }

    /// Comma-separated, the spelling of `--tags` and of storage.
    package var description: String { tags.joined(separator: ",") }

    /// Parses `a,b,c` (spaces around commas ignored, empty items dropped).
    package init(commaSeparated text: String) {
        self.init(text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty })
    }

    package init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String].self))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(tags)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
