/// All patterns of a replacer, split by length into one or two
/// `PatternIndex`es, and the scan that puts their findings together.
///
/// Why two: an index samples the text once every `m - q + 1` bytes, where
/// `m` is its shortest pattern and `q` its gram width. A single 4-byte value
/// among hundreds of long patterns would force `q = 4` and a sample at every
/// byte. Short patterns (under `shortLimit` bytes, usually none or a few) get
/// their own index with 2-byte grams instead, which samples every `m - 1`
/// bytes; the long ones keep their wide stride. Two cheap passes over a chunk
/// that sits in cache beat one slow pass.
final class PatternSet: Sendable {
    /// Patterns shorter than this go to the short index.
    static let shortLimit = 8

    let indexes: [PatternIndex]
    /// Line-wrapped patterns wrapped narrower than the indexes see.
    let narrow: NarrowWrapIndex?
    /// Number of distinct patterns.
    let count: Int

    /// Returns `nil` when there is no non-empty pattern. Duplicates are merged.
    /// `lineWrapped` patterns also match across line breaks (see
    /// `PatternIndex`); one holding a `\r` or `\n` is matched as it is.
    init?(patterns: [[UInt8]], lineWrapped: [[UInt8]] = []) {
        var wrapped = Set<ByteString>()
        for pattern in lineWrapped where !pattern.isEmpty && !pattern.contains(where: Self.isLineBreak) {
            wrapped.insert(ByteString(pattern))
        }
        var seen = Set<ByteString>()
        let unique = (patterns + lineWrapped).filter { !$0.isEmpty && seen.insert(ByteString($0)).inserted }
            .sorted(by: Self.longestFirst)
        guard !unique.isEmpty else { return nil }
        count = unique.count
        var indexes: [PatternIndex] = []
        for (group, gramWidth) in [(unique.filter { $0.count >= Self.shortLimit }, 4), (unique.filter { $0.count < Self.shortLimit }, 2)]
        where !group.isEmpty {
            let (all, flags) = Self.withBrokenVariants(group, wrapped: wrapped, maxGramWidth: gramWidth)
            indexes.append(PatternIndex(distinctLongestFirst: all, lineWrapped: flags, maxGramWidth: gramWidth))
        }
        self.indexes = indexes
        narrow = NarrowWrapIndex(lineWrapped: wrapped.map(\.bytes))
    }

    static func isLineBreak(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") }

    static func longestFirst(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count != b.count ? a.count > b.count : a.lexicographicallyPrecedes(b)
    }

    /// The patterns of one index (longest first) and which are line-wrapped,
    /// plus, for a line-wrapped pattern too short for two separate windows,
    /// the pattern with a `\n` or `\r\n` written in at each position that
    /// spoils both (plain patterns: the index's samples cannot see those
    /// occurrences, see `PatternIndex`). Variants are longer than their
    /// pattern, so the index's stride stays the same.
    static func withBrokenVariants(
        _ group: [[UInt8]], wrapped: Set<ByteString>, maxGramWidth: Int
    ) -> (patterns: [[UInt8]], lineWrapped: [Bool]) {
        let (gramWidth, stride) = PatternIndex.layout(minLength: group.last!.count, maxGramWidth: maxGramWidth)
        let span = stride + gramWidth - 1
        var seen = Set(group.map(ByteString.init))
        var all = group
        for pattern in group where wrapped.contains(ByteString(pattern)) && pattern.count < 2 * span {
            // Breaks after byte `cut - 1` fall inside both windows (at 0 and `count - span`).
            for cut in max(1, pattern.count - span + 1) ..< min(span, pattern.count) {
                for lineBreak in [[UInt8(ascii: "\n")], [UInt8(ascii: "\r"), UInt8(ascii: "\n")]] {
                    let variant = Array(pattern[..<cut]) + lineBreak + Array(pattern[cut...])
                    if seen.insert(ByteString(variant)).inserted { all.append(variant) }
                }
            }
        }
        all.sort(by: longestFirst)
        return (all, all.map { wrapped.contains(ByteString($0)) })
    }

    /// Finds the longest complete match at every start of `buffer`.
    ///
    /// Appends them to `matches` (which must be empty) in ascending start
    /// order, the longest first where a start has several, and returns the
    /// first start where a pattern longer than the rest of the buffer may still
    /// match: the caller holds back the bytes from there on, and no match from
    /// there on is reported. Returns `buffer.count` when nothing needs to be
    /// held back, which is always the case when `final` (the stream has ended,
    /// so a pattern that does not fit simply does not match).
    func scan(_ buffer: UnsafeRawBufferPointer, final: Bool, into matches: inout [PatternMatch]) -> Int {
        var undecided = buffer.count
        for index in indexes {
            undecided = min(undecided, index.scan(buffer, final: final, into: &matches))
        }
        if let narrow { undecided = min(undecided, narrow.scan(buffer, final: final, into: &matches)) }
        if matches.isEmpty { return undecided }
        Self.sortByStart(&matches)
        while let last = matches.last, last.start >= undecided { matches.removeLast() }
        return undecided
    }

    /// Insertion sort by start, longest first on ties: the list is short and
    /// almost sorted (an index reports starts at most a window's span out of
    /// order; a second index adds a few more).
    static func sortByStart(_ matches: inout [PatternMatch]) {
        guard matches.count > 1 else { return }
        for i in 1 ..< matches.count {
            let item = matches[i]
            var j = i
            while j > 0, matches[j - 1].start > item.start
                || (matches[j - 1].start == item.start && matches[j - 1].end < item.end) {
                matches[j] = matches[j - 1]
                j -= 1
            }
            matches[j] = item
        }
    }
}
