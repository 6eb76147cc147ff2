/// An immutable index over byte patterns that finds, at every start position
/// of a buffer, the longest pattern matching there.
///
/// ## Why a sampled q-gram filter and not Aho–Corasick
///
/// An Aho–Corasick automaton takes one dependent table load per input byte
/// (4–5 cycles of L1 latency, worse once several hundred patterns push the
/// table out of L1): about 1 GB/s at best, the agent's floor. Log text
/// almost never contains a secret, so the scan is built to reject text fast:
///
/// - Let `m` be the shortest pattern, `q = min(4, m)` the gram width and
///   `S = m - q + 1` (capped) the *stride*. The scanner reads one gram every
///   `S` bytes (the *samples*) and tests it against a small Bloom filter of
///   the patterns' grams. The samples are independent of each other (no
///   dependency chain like a skip loop), so the CPU overlaps them.
/// - The filter is *blocked*: a gram sets two bits of one 64-bit word, so a
///   test is one load (grams of 2 bytes index it directly, one bit each). It is 32 KiB, to stay in L1: measured here, a 64 KiB
///   or larger table (L2) makes every sample 2× slower, while two bits per
///   gram instead of one cut false hits about 8× for a few instructions.
/// - Each pattern contributes the `S` grams at offsets `w ..< w + S`, its
///   *window*. An occurrence of the pattern covers `S` consecutive sample
///   candidates through its window, exactly one of which is a sample; that
///   sample sees one of the window's grams, so no occurrence is missed.
/// - `w` is free (up to `windowLimit`), so each pattern's window is put where
///   its grams are least likely in ordinary text (`GramWeights`): the random
///   part of `postgres://app:…`, not `://a`, which every URL in the log has.
/// - On a hit, a table from gram to `(pattern, offset)` gives the candidate
///   starts directly; each is checked byte by byte.
/// - The last starts of a buffer, whose window sample may lie past its end,
///   are checked one by one (by first gram), which is also how the scanner
///   tells that a pattern may continue into the next chunk.
///
/// ## Line-wrapped patterns
///
/// A pattern marked *line-wrapped* (base64, which `base64`, `openssl` and
/// MIME encoders break into lines) also matches with a line break (`\n` or
/// `\r\n`) between any two of its bytes, provided consecutive breaks are at
/// least `minimumWrapWidth` bytes apart (narrower wraps are `NarrowWrapIndex`'s
/// job). The sampled scan itself does not look for line breaks (a scalar pass
/// for them would cost a third of it): such a pattern puts
/// *two* windows side by side in the filter (`wrappedWindows`), so that one
/// break can spoil at most one of them, and a hit is checked in both
/// directions, stepping over line breaks. Breaks `minimumWrapWidth` apart
/// cannot fall into both windows. A
/// pattern too short for two separate windows gets, for each break position
/// that spoils both, the pattern with that break written in (`\n` and
/// `\r\n`) as two more plain patterns (`PatternSet` adds them).
///
/// A shorter shortest pattern means a smaller stride, which is why
/// `PatternSet` gives patterns under 8 bytes an index of their own with 2-byte
/// grams. Patterns of 1–3 bytes work too (with `q = m` and a stride of 1).
///
/// Immutable after `init`, so one index is shared by every copy of a replacer.
/// It owns manually allocated tables (raw pointers keep the hot loop free of
/// bounds checks and retain/release); hence `@unchecked Sendable`.
final class PatternIndex: @unchecked Sendable {
    /// All patterns' bytes, back to back.
    let bytes: UnsafeMutablePointer<UInt8>
    /// Pattern `i` is `bytes[offsets[i] ..< offsets[i + 1]]`.
    let offsets: UnsafeMutablePointer<Int>
    /// Number of distinct, non-empty patterns.
    let count: Int
    /// Whether pattern `i` also matches across line breaks (see above).
    let lineWrapped: UnsafeMutablePointer<Bool>
    /// Whether any pattern does: the scan's slower paths are only taken then.
    let hasLineWrapped: Bool
    /// Length of the shortest and of the longest pattern.
    let minLength: Int
    let maxLength: Int
    /// Gram width `q`: 4, or the shortest pattern's length when that is shorter.
    let gramWidth: Int
    /// Keeps the low `gramWidth` bytes of a little-endian 4-byte load.
    let gramMask: UInt32
    /// Distance between samples (`S`).
    let stride: Int
    /// Starts this close to the end of a buffer are checked one by one: their
    /// window's sample may not have been read.
    let tailSpan: Int

    /// The blocked Bloom filter of every pattern's window grams, of
    /// `filterWords` words: the top bits of a gram's hash pick a word, two
    /// 6-bit fields below bit 44 pick two bits in it.
    let sampleFilter: UnsafeMutablePointer<UInt64>

    /// Window grams by hash, as CSR: bucket `b` holds
    /// `gramEntries[gramBuckets[b] ..< gramBuckets[b + 1]]`.
    let gramBuckets: UnsafeMutablePointer<Int32>
    let gramEntries: UnsafeMutablePointer<GramEntry>
    let gramShift: UInt64

    /// Patterns by the hash of their first `gramWidth` bytes, longest first,
    /// for the one-by-one checks: `startPatterns[startBuckets[b] ..< startBuckets[b + 1]]`.
    let startBuckets: UnsafeMutablePointer<Int32>
    let startPatterns: UnsafeMutablePointer<Int32>
    let startShift: UInt64

    /// The same by first byte, for the last starts where fewer than 4 bytes remain.
    let byteBuckets: UnsafeMutablePointer<Int32>
    let bytePatterns: UnsafeMutablePointer<Int32>

    /// One window gram of one pattern.
    struct GramEntry {
        var gram: UInt32
        var pattern: Int32
        /// Where the gram sits in the pattern.
        var offset: Int32
    }

    /// Upper bound on the stride: each pattern puts `stride` grams in the
    /// filter, which fills up faster than sampling less often saves.
    static let maxStride = 16
    /// How far into a pattern its window may start; also sets `tailSpan`.
    static let windowLimit = 32
    /// 32 KiB, what stays in L1 next to the text being scanned, whatever the
    /// number of patterns (a constant size makes the word index a constant
    /// shift in the hot loop). With 1,000 patterns and a stride of 9, about
    /// 0.4 % of the samples are false hits.
    static let filterWords = 1 << 12
    static let filterShift: UInt64 = 64 - 12
    /// Fibonacci hashing multiplier (2^64 / φ).
    static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    /// The index finds a line-wrapped match whose consecutive line breaks are
    /// at least this many bytes apart: twice the largest span of a window
    /// (`maxStride + 3`), so that they never spoil both of a pattern's
    /// windows. Base64 tools wrap at 60, 64 or 76 columns; `NarrowWrapIndex`
    /// finds the matches wrapped narrower.
    static let minimumWrapWidth = 2 * (maxStride + 3)

    /// Gram width and stride of an index whose shortest pattern is `minLength`
    /// bytes long, with grams of at most `maxGramWidth` bytes.
    static func layout(minLength: Int, maxGramWidth: Int) -> (gramWidth: Int, stride: Int) {
        let gramWidth = min(maxGramWidth, minLength)
        return (gramWidth, min(minLength - gramWidth + 1, maxStride))
    }

    /// Pattern offsets of the two windows of a line-wrapped pattern (one when
    /// it is exactly one window long), each covering `span = stride +
    /// gramWidth - 1` bytes. When they fit side by side they go where their
    /// grams are rarest, early enough that, with two line breaks before them,
    /// their samples still lie before a buffer's tail (`tailSpan`); otherwise
    /// at both ends, overlapping as little as they can.
    static func wrappedWindows(_ pattern: UnsafePointer<UInt8>, length: Int, gramWidth: Int, stride: Int) -> [Int] {
        let span = stride + gramWidth - 1
        if length >= 2 * span {
            let first = GramWeights.cheapestWindow(
                pattern, length: length, gramWidth: gramWidth, stride: span + stride, limit: max(0, windowLimit - stride - 7))
            return [first, first + span]
        }
        return length > span ? [0, length - span] : [0]
    }

    /// Builds the index over distinct, non-empty patterns sorted longest first
    /// (so that every bucket below lists its patterns longest first), with
    /// grams of at most `maxGramWidth` (1...4) bytes. `lineWrapped[i]` marks
    /// pattern `i` as line-wrapped (it must hold no `\r` or `\n`).
    init(distinctLongestFirst unique: [[UInt8]], lineWrapped wrapped: [Bool], maxGramWidth: Int) {
        precondition(!unique.isEmpty && !unique.contains(where: \.isEmpty), "patterns must be non-empty")
        precondition(wrapped.count == unique.count, "one line-wrapped flag per pattern")
        count = unique.count
        minLength = unique.last!.count
        maxLength = unique.first!.count
        (gramWidth, stride) = Self.layout(minLength: minLength, maxGramWidth: maxGramWidth)
        gramMask = gramWidth == 4 ? .max : (UInt32(1) << UInt32(8 * gramWidth)) &- 1
        tailSpan = Self.windowLimit + stride + 3
        lineWrapped = .allocate(capacity: count)
        lineWrapped.initialize(from: wrapped, count: count)
        hasLineWrapped = wrapped.contains(true)

        let total = unique.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: total)
        offsets = .allocate(capacity: count + 1)
        var offset = 0
        for (i, pattern) in unique.enumerated() {
            offsets[i] = offset
            for (j, byte) in pattern.enumerated() { bytes[offset + j] = byte }
            offset += pattern.count
        }
        offsets[count] = offset

        let gramCount = (count + wrapped.count(where: { $0 })) * stride
        sampleFilter = .allocate(capacity: Self.filterWords)
        sampleFilter.initialize(repeating: 0, count: Self.filterWords)
        let gramBucketCount = Self.powerOfTwo(atLeast: gramCount * 2, min: 1 << 8, max: 1 << 22)
        gramShift = UInt64(64 - gramBucketCount.trailingZeroBitCount)
        let startBucketCount = Self.powerOfTwo(atLeast: count * 4, min: 1 << 8, max: 1 << 20)
        startShift = UInt64(64 - startBucketCount.trailingZeroBitCount)

        var grams: [(bucket: Int, entry: GramEntry)] = []
        grams.reserveCapacity(gramCount)
        var starts: [(bucket: Int, entry: Int32)] = []
        var firstBytes: [(bucket: Int, entry: Int32)] = []
        for i in 0 ..< count {
            let start = bytes + offsets[i]
            let length = offsets[i + 1] - offsets[i]
            let windows = wrapped[i]
                ? Self.wrappedWindows(start, length: length, gramWidth: gramWidth, stride: stride)
                : [GramWeights.cheapestWindow(start, length: length, gramWidth: gramWidth, stride: stride, limit: Self.windowLimit)]
            let stride = stride
            for gramOffset in windows.flatMap({ $0 ..< $0 + stride }) {
                let gram = Self.gram(start + gramOffset, width: gramWidth)
                let (word, bits) = gramWidth <= 2 ? Self.directSlot(gram) : Self.filterSlot(gram)
                sampleFilter[word] |= bits
                grams.append((Self.hash(gram, shift: gramShift), GramEntry(gram: gram, pattern: Int32(i), offset: Int32(gramOffset))))
            }
            starts.append((Self.hash(Self.gram(start, width: gramWidth), shift: startShift), Int32(i)))
            firstBytes.append((Int(start.pointee), Int32(i)))
        }
        (gramBuckets, gramEntries) = Self.buckets(grams, count: gramBucketCount)
        (startBuckets, startPatterns) = Self.buckets(starts, count: startBucketCount)
        (byteBuckets, bytePatterns) = Self.buckets(firstBytes, count: 256)
    }

    deinit {
        bytes.deallocate()
        offsets.deallocate()
        lineWrapped.deallocate()
        sampleFilter.deallocate()
        gramBuckets.deallocate()
        gramEntries.deallocate()
        startBuckets.deallocate()
        startPatterns.deallocate()
        byteBuckets.deallocate()
        bytePatterns.deallocate()
    }

    /// Multiplicative hash of a gram, keeping the top `64 - shift` bits.
    @inline(__always)
    static func hash(_ gram: UInt32, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (UInt64(gram) &* multiplier) &>> shift)
    }

    /// Grams of up to 2 bytes need no hashing: the filter's 2^18 bits hold one
    /// bit for each of the 2^16 possible grams, so the test is exact.
    static func directSlot(_ gram: UInt32) -> (word: Int, bits: UInt64) {
        (Int(gram &>> 6), 1 &<< UInt64(gram & 63))
    }

    /// The filter word of a gram and the two bits it sets there.
    static func filterSlot(_ gram: UInt32) -> (word: Int, bits: UInt64) {
        let h = UInt64(gram) &* multiplier
        return (Int(truncatingIfNeeded: h &>> filterShift), (1 &<< ((h &>> 32) & 63)) | (1 &<< ((h &>> 38) & 63)))
    }

    /// The first `width` (1...4) bytes at `pointer`, little-endian, as the scanner loads them.
    static func gram(_ pointer: UnsafePointer<UInt8>, width: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0 ..< width { value |= UInt32(pointer[i]) << UInt32(8 * i) }
        return value
    }

    /// Smallest power of two ≥ `value`, clamped to `min ... max`.
    private static func powerOfTwo(atLeast value: Int, min: Int, max: Int) -> Int {
        var result = min
        while result < value && result < max { result <<= 1 }
        return result
    }

    /// Groups items by bucket into CSR arrays (bucket starts, then the items),
    /// keeping their order within a bucket: a counting sort, with no array per bucket.
    private static func buckets<Item>(
        _ items: [(bucket: Int, entry: Item)], count: Int
    ) -> (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Item>) {
        let starts = UnsafeMutablePointer<Int32>.allocate(capacity: count + 1)
        starts.initialize(repeating: 0, count: count + 1)
        for item in items { starts[item.bucket + 1] += 1 }
        for b in 0 ..< count { starts[b + 1] += starts[b] }
        let entries = UnsafeMutablePointer<Item>.allocate(capacity: max(1, items.count))
        var next = (0 ..< count).map { Int(starts[$0]) }
        for item in items {
            (entries + next[item.bucket]).initialize(to: item.entry)
            next[item.bucket] += 1
        }
        return (starts, entries)
    }
}
