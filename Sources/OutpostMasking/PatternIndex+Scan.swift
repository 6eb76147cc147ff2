/// One pattern occurrence: bytes `start ..< end` of the scanned buffer.
struct PatternMatch: Equatable, Sendable {
    var start: Int
    var end: Int
}

extension PatternIndex {
    /// Finds the complete matches of this index's patterns in `buffer` (at
    /// least the longest at every start) and appends them to `matches`, in
    /// no particular order.
    ///
    /// Returns the first start where one of its patterns, longer than the
    /// rest of the buffer, may still match (`buffer.count` if there is none,
    /// always when `final`). Matches from there on may be missing or appended.
    /// `PatternSet.scan` puts the results of its indexes together.
    func scan(_ buffer: UnsafeRawBufferPointer, final: Bool, into matches: inout [PatternMatch]) -> Int {
        let length = buffer.count
        guard let raw = buffer.baseAddress else { return 0 }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        var undecided = length
        // Starts from here on are checked one by one below; the samples skip them.
        let tailStart = max(0, length - tailSpan)

        // Samples need 4 readable bytes.
        if length >= 4 {
            let lastSample = length &- 4
            var sample = stride &- 1
            while true {
                sample = gramWidth <= 2
                    ? nextDirectHit(from: sample, through: lastSample, in: base)
                    : nextHit(from: sample, through: lastSample, in: base)
                if sample > lastSample { break }
                checkHit(at: sample, in: base, length: length, below: tailStart, final: final,
                         matches: &matches, undecided: &undecided)
                sample &+= stride
            }
        }

        // The tail, start by start; everything past the first undecided start is moot.
        var start = tailStart
        while start < undecided {
            switch longest(at: start, in: base, length: length, final: final) {
            case .none: break
            case .complete(let n): matches.append(PatternMatch(start: start, end: start + n))
            case .undecided: undecided = start
            }
            start += 1
        }
        return undecided
    }

    /// The hot loop: the first sample at or after `sample` (stepping by
    /// `stride`) whose gram passes the filter, or a position past `lastSample`.
    /// Not inlined, so that its few variables stay in registers. Four samples
    /// per round with one branch: their loads overlap and a hit is rare.
    @inline(never)
    private func nextHit(from sample: Int, through lastSample: Int, in base: UnsafePointer<UInt8>) -> Int {
        let filter = sampleFilter
        let mask = gramMask
        let stride = self.stride
        // Bit 0 is set when the gram at `at` has both its bits set (as `filterSlot` sets them).
        @inline(__always) func passes(_ at: UnsafePointer<UInt8>) -> UInt64 {
            let h = UInt64(Self.load32(at) & mask) &* Self.multiplier
            let word = filter[Int(truncatingIfNeeded: h &>> Self.filterShift)]
            return (word &>> (h &>> 32)) & (word &>> (h &>> 38))
        }
        var at = base + sample
        let last = base + lastSample
        let round = 4 &* stride
        while at + 3 &* stride <= last {
            if (passes(at) | passes(at + stride) | passes(at + 2 &* stride) | passes(at + 3 &* stride)) & 1 != 0 {
                break
            }
            at += round
        }
        while at <= last {
            if passes(at) & 1 != 0 { break }
            at += stride
        }
        return at - base
    }

    /// `nextHit` for grams of up to 2 bytes, with one exact bit per gram (`directSlot`).
    @inline(never)
    private func nextDirectHit(from sample: Int, through lastSample: Int, in base: UnsafePointer<UInt8>) -> Int {
        let filter = sampleFilter
        let mask = gramMask
        let stride = self.stride
        @inline(__always) func passes(_ at: UnsafePointer<UInt8>) -> UInt64 {
            let gram = Self.load32(at) & mask
            return filter[Int(truncatingIfNeeded: gram &>> 6)] &>> UInt64(truncatingIfNeeded: gram & 63)
        }
        var at = base + sample
        let last = base + lastSample
        let round = 4 &* stride
        while at + 3 &* stride <= last {
            if (passes(at) | passes(at + stride) | passes(at + 2 &* stride) | passes(at + 3 &* stride)) & 1 != 0 {
                break
            }
            at += round
        }
        while at <= last {
            if passes(at) & 1 != 0 { break }
            at += stride
        }
        return at - base
    }

    /// Checks the candidates a sample hit names: each window gram equal to the
    /// sample's gram gives a pattern and where it would start.
    @inline(never)
    private func checkHit(
        at sample: Int, in base: UnsafePointer<UInt8>, length: Int, below tailStart: Int, final: Bool,
        matches: inout [PatternMatch], undecided: inout Int
    ) {
        let gram = Self.load32(base + sample) & gramMask
        let bucket = Self.hash(gram, shift: gramShift)
        var i = Int(gramBuckets[bucket])
        let end = Int(gramBuckets[bucket &+ 1])
        while i < end {
            let entry = gramEntries[i]
            i &+= 1
            guard entry.gram == gram else { continue }
            if hasLineWrapped && lineWrapped[Int(entry.pattern)] {
                // Its start is wherever the bytes before the gram lead, breaks included.
                switch matchWrapped(Int(entry.pattern), offset: Int(entry.offset), at: sample, in: base, length: length) {
                case .none: break
                case .complete(let start, let end) where start < tailStart:
                    matches.append(PatternMatch(start: start, end: end))
                case .partial(let start) where start < tailStart && !final:
                    undecided = min(undecided, start)
                default: break
                }
                continue
            }
            let start = sample &- Int(entry.offset)
            guard start >= 0, start < tailStart else { continue }
            let patternStart = offsets[Int(entry.pattern)]
            let patternLength = offsets[Int(entry.pattern) &+ 1] &- patternStart
            let available = length &- start
            if patternLength > available {
                if !final && Self.equal(base + start, bytes + patternStart, count: available) {
                    undecided = min(undecided, start)
                }
            } else if Self.equal(base + start, bytes + patternStart, count: patternLength) {
                matches.append(PatternMatch(start: start, end: start &+ patternLength))
            }
        }
    }

    /// What is known about the longest pattern at one start position.
    enum StartResult {
        /// No pattern starts here.
        case none
        /// The longest pattern starting here is complete and this long.
        case complete(length: Int)
        /// A pattern longer than the rest of the buffer may still match here.
        case undecided
    }

    /// The longest pattern at `start`, checked against the candidates that share
    /// its first bytes (longest first, so the first complete one wins).
    func longest(at start: Int, in base: UnsafePointer<UInt8>, length: Int, final: Bool) -> StartResult {
        if hasLineWrapped { return longestWrapped(at: start, in: base, length: length, final: final) }
        let available = length &- start
        let here = base + start
        let list: UnsafeMutablePointer<Int32>
        var i: Int
        let end: Int
        if available >= 4 {
            let b = Self.hash(Self.load32(here) & gramMask, shift: startShift)
            list = startPatterns
            i = Int(startBuckets[b])
            end = Int(startBuckets[b &+ 1])
        } else {
            let c = Int(here.pointee)
            list = bytePatterns
            i = Int(byteBuckets[c])
            end = Int(byteBuckets[c &+ 1])
        }
        while i < end {
            let id = Int(list[i])
            let patternStart = offsets[id]
            let patternLength = offsets[id &+ 1] &- patternStart
            if patternLength > available {
                // Longer than what we have: if what we have matches, wait for more.
                if !final && Self.equal(here, bytes + patternStart, count: available) { return .undecided }
            } else if Self.equal(here, bytes + patternStart, count: patternLength) {
                return .complete(length: patternLength)
            }
            i &+= 1
        }
        return .none
    }

    /// `longest(at:)` when some patterns are line-wrapped: one of those may be
    /// longer in the text than a longer pattern, so every candidate is checked,
    /// and one whose first gram holds a line break is found by its first byte.
    private func longestWrapped(at start: Int, in base: UnsafePointer<UInt8>, length: Int, final: Bool) -> StartResult {
        let available = length &- start
        let here = base + start
        let list: UnsafeMutablePointer<Int32>
        var i: Int
        let end: Int
        if available >= 4 && !holdsLineBreak(Self.load32(here)) {
            let b = Self.hash(Self.load32(here) & gramMask, shift: startShift)
            list = startPatterns
            i = Int(startBuckets[b])
            end = Int(startBuckets[b &+ 1])
        } else {
            let c = Int(here.pointee)
            list = bytePatterns
            i = Int(byteBuckets[c])
            end = Int(byteBuckets[c &+ 1])
        }
        var longest = 0
        while i < end {
            let id = Int(list[i])
            i &+= 1
            if lineWrapped[id] {
                switch matchWrapped(id, offset: 0, at: start, in: base, length: length) {
                case .none: break
                case .complete(_, let matchEnd): longest = max(longest, matchEnd &- start)
                case .partial: if !final { return .undecided }
                }
                continue
            }
            let patternStart = offsets[id]
            let patternLength = offsets[id &+ 1] &- patternStart
            if patternLength > available {
                if !final && Self.equal(here, bytes + patternStart, count: available) { return .undecided }
            } else if Self.equal(here, bytes + patternStart, count: patternLength) {
                longest = max(longest, patternLength)
            }
        }
        return longest > 0 ? .complete(length: longest) : .none
    }

    /// Four bytes at `pointer` (any alignment) as a little-endian integer,
    /// matching `gram(_:width:)`.
    @inline(__always)
    static func load32(_ pointer: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt32.self))
    }

    /// Byte-wise equality, eight bytes at a time.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, count: Int) -> Bool {
        var i = 0
        while i &+ 8 <= count {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
            if x != y { return false }
            i &+= 8
        }
        while i < count {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }
}
