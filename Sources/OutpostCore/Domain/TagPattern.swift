/// One entry of an agent type's `allowed_tags`: an exact tag (`prod`) or a glob
/// (`team-*`, `*`) where `*` stands for any run of characters, none included.
///
/// Tags cannot contain `*` (`Names.validateTag`), so a pattern without one
/// matches exactly one tag and there is nothing to escape.
package struct TagPattern: Sendable, Hashable, Codable, CustomStringConvertible {
    package let pattern: String

    /// Every tag: what agent types created before `allowed_tags` existed were given.
    package static let any = TagPattern(unchecked: "*")

    /// - Throws: a `ValidationError` on field `allowed_tags` when the pattern is
    ///   empty, too long, or has a character a tag cannot have.
    package init(_ pattern: String) throws(ValidationError) {
        guard (1...64).contains(pattern.utf8.count),
            pattern.utf8.allSatisfy(Self.isPatternByte)
        else {
            throw ValidationError(
                field: "allowed_tags",
                message:
                    "allowed tag \"\(pattern)\" must be 1 to 64 characters of letters, digits, '.', '_', '-', ':', '=' and '*' (any run of characters)"
            )
        }
        self.pattern = pattern
    }

    private init(unchecked pattern: String) {
        self.pattern = pattern
    }

    /// A tag's bytes (`Names.validateTag`: letters, digits, `.`, `_`, `-`, `:`, `=`) or `*`.
    private static func isPatternByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "="),
                UInt8(ascii: "*")].contains(b)
        }
    }

    /// `true` when `tag` is this tag, or fits this glob.
    package func matches(_ tag: String) -> Bool {
        Self.glob(Array(pattern.utf8)[...], Array(tag.utf8)[...])
    }

    package var description: String { pattern }

    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(pattern)
    }

    /// Iterative glob match with one backtrack point (the last `*`): linear in
    /// practice, and never exponential whatever the pattern.
    private static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: Int?
        var resume = text.startIndex
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.endIndex, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}

extension [TagPattern] {
    /// The first of `tags` that no pattern allows, or `nil` when all are allowed.
    package func firstDisallowed(in tags: TagSet) -> String? {
        tags.tags.first { tag in !contains { $0.matches(tag) } }
    }

    /// Parses `prod,eu,team-*` (spaces around commas ignored, empty items dropped).
    package init(commaSeparated text: String) throws(ValidationError) {
        var patterns: [TagPattern] = []
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: " ")
            if !trimmed.isEmpty { patterns.append(try TagPattern(trimmed)) }
        }
        self = patterns
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop(while: { $0 == character }).reversed().drop(while: { $0 == character }).reversed())
    }
}
