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
    /// Number of distinct patterns.
    let count: Int

    /// Returns `nil` when there is no non-empty pattern. Duplicates are merged.
    init?(patterns: [[UInt8]]) {
        var seen = Set<ByteString>()
        let unique = patterns.filter { !$0.isEmpty && seen.insert(ByteString($0)).inserted }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
        guard !unique.isEmpty else { return nil }
        count = unique.count
        let long = unique.filter { $0.count >= Self.shortLimit }
        let short = unique.filter { $0.count < Self.shortLimit }
        var indexes: [PatternIndex] = []
        if !long.isEmpty { indexes.append(PatternIndex(distinctLongestFirst: long, maxGramWidth: 4)) }
        if !short.isEmpty { indexes.append(PatternIndex(distinctLongestFirst: short, maxGramWidth: 2)) }
        self.indexes = indexes
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
