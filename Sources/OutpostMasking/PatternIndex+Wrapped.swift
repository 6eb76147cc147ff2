/// What checking a line-wrapped pattern from one of its bytes found.
enum WrappedMatch: Equatable {
    /// The pattern is not there.
    case none
    /// The pattern occupies bytes `start ..< end`, line breaks included.
    case complete(start: Int, end: Int)
    /// The buffer ends inside a possible occurrence that begins at `start`.
    case partial(start: Int)
}

extension PatternIndex {
    /// Checks line-wrapped pattern `id` against the text around `position`,
    /// where its byte `offset` sits: backwards to its first byte and forwards
    /// to its last, stepping over one line break (`\n` or `\r\n`) between any
    /// two of its bytes, with consecutive breaks at least `minimumWrapWidth`
    /// bytes of the pattern apart.
    ///
    /// Breaks are never skipped before the first or after the last byte, so a
    /// match starts and ends on a pattern byte and is the same whichever of its
    /// bytes the check started from. An occurrence that would begin before the
    /// buffer is not reported: the caller has already released those bytes,
    /// which it only does once they cannot start a match.
    func matchWrapped(
        _ id: Int, offset: Int, at position: Int, in base: UnsafePointer<UInt8>, length: Int
    ) -> WrappedMatch {
        let pattern = bytes + offsets[id]
        let count = offsets[id &+ 1] &- offsets[id]
        let minimumGap = Self.minimumWrapWidth
        let lineFeed = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")

        // Backwards from the byte before `offset`. A break seen just before
        // pattern byte `j` is "a break at j".
        var j = offset &- 1
        var at = position &- 1
        var nearestBelow = Int.min / 2
        var previous = Int.max / 2
        while j >= 0 {
            // Whole runs between breaks at once (a match is mostly such runs).
            let run = Self.commonSuffix(base, before: at &+ 1, pattern, before: j &+ 1, limit: min(j, at) &+ 1)
            j &-= run
            at &-= run
            if j < 0 { break }
            guard at >= 0 else { return .none }
            if base[at] == lineFeed {
                let breakAt = j &+ 1
                guard previous &- breakAt >= minimumGap else { return .none }
                if nearestBelow == Int.min / 2 { nearestBelow = breakAt }
                previous = breakAt
                at &-= 1
                if at >= 0 && base[at] == carriageReturn { at &-= 1 }
                guard at >= 0 else { return .none }
            }
            guard base[at] == pattern[j] else { return .none }
            j &-= 1
            at &-= 1
        }
        let start = at &+ 1

        // Forwards from `offset`, whose byte is at `position`.
        j = offset
        at = position
        previous = nearestBelow
        while j < count {
            let run = Self.commonPrefix(base + at, pattern + j, limit: min(count &- j, length &- at))
            j &+= run
            at &+= run
            if j == count { break }
            guard at < length else { return .partial(start: start) }
            var byte = base[at]
            if j > offset && (byte == lineFeed || byte == carriageReturn) {
                guard j &- previous >= minimumGap else { return .none }
                previous = j
                if byte == carriageReturn {
                    at &+= 1
                    guard at < length else { return .partial(start: start) }
                    guard base[at] == lineFeed else { return .none }
                }
                at &+= 1
                guard at < length else { return .partial(start: start) }
                byte = base[at]
            }
            guard byte == pattern[j] else { return .none }
            j &+= 1
            at &+= 1
        }
        return .complete(start: start, end: at)
    }

    /// How many leading bytes of `a` and `b` are equal, up to `limit`, eight at a time.
    @inline(__always)
    static func commonPrefix(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, limit: Int) -> Int {
        var i = 0
        while i &+ 8 <= limit {
            let difference = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
                ^ UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
            if difference != 0 { return i &+ UInt64(littleEndian: difference).trailingZeroBitCount / 8 }
            i &+= 8
        }
        while i < limit && a[i] == b[i] { i &+= 1 }
        return i
    }

    /// How many bytes before `a + aEnd` and `b + bEnd` are equal, up to `limit`.
    @inline(__always)
    static func commonSuffix(
        _ a: UnsafePointer<UInt8>, before aEnd: Int, _ b: UnsafePointer<UInt8>, before bEnd: Int, limit: Int
    ) -> Int {
        var i = 0
        while i &+ 8 <= limit {
            let difference = UnsafeRawPointer(a + (aEnd &- i &- 8)).loadUnaligned(as: UInt64.self)
                ^ UnsafeRawPointer(b + (bEnd &- i &- 8)).loadUnaligned(as: UInt64.self)
            if difference != 0 { return i &+ UInt64(littleEndian: difference).leadingZeroBitCount / 8 }
            i &+= 8
        }
        while i < limit && a[aEnd &- i &- 1] == b[bEnd &- i &- 1] { i &+= 1 }
        return i
    }

    /// Whether one of the low `gramWidth` bytes of `gram` is `\r` or `\n`.
    @inline(__always)
    func holdsLineBreak(_ gram: UInt32) -> Bool {
        var rest = gram & gramMask
        for _ in 0 ..< gramWidth {
            let byte = UInt8(truncatingIfNeeded: rest)
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return true }
            rest >>= 8
        }
        return false
    }
}
