import COutpostLineScan

/// Finds line-wrapped patterns wrapped narrower than the sampled index can
/// see (`PatternIndex.minimumWrapWidth` columns): `base64 -w 20`, or one byte
/// per line.
///
/// **What it finds.** Call a line break (`\n` or `\r\n`) *joinable* when the
/// bytes on both sides of it are in the patterns' alphabet (the bytes they
/// are made of, and the base64 digits), and the text with every joinable break taken out the
/// *joined view*. An occurrence of a line-wrapped pattern is an occurrence in
/// the joined view, mapped back to the bytes it covers, breaks included.
/// `PatternIndex` finds every one whose breaks are at least
/// `minimumWrapWidth` bytes apart; every other one holds a whole *short line*
/// (fewer bytes than that between two of its breaks), and this index finds
/// every occurrence that holds a short line. Together: every occurrence, at
/// any wrap width and alignment.
///
/// **How.** One SSE2 pass over the buffer looks for short lines made only of
/// alphabet bytes with joinable breaks on both sides (`outpost_find_short_lines`;
/// ordinary log text has few). Around each run of them, the joined view of
/// the run and of up to a longest pattern on either side is built and
/// scanned with the patterns as plain ones.
///
/// **Streaming.** When the buffer ends in alphabet text (perhaps followed by
/// the start of a break), the joined view of its last bytes is checked for an
/// occurrence that the bytes to come may complete, and the scan returns where
/// it would start, as `PatternIndex.scan` does. Held back, that is at most a
/// longest pattern, with its breaks.
final class NarrowWrapIndex: Sendable {
    /// The line-wrapped patterns, matched in the joined view as plain ones.
    private let joined: PatternSet
    /// 256 flags: the bytes the patterns are made of, and all of
    /// `base64Alphabets` (a base64 line that happens to hold none of the
    /// patterns' `/` still continues a run of short lines).
    private let alphabet: [UInt8]
    /// Length of the shortest and of the longest pattern.
    private let minLength: Int
    private let maxLength: Int

    /// Standard and URL-safe base64 digits, and padding.
    static let base64Alphabets = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=".utf8)

    /// Lines narrower than this are short (the sampled index finds the rest).
    static let shortWidth = PatternIndex.minimumWrapWidth

    /// Returns `nil` when no pattern can hold a whole line and the bytes on
    /// both sides of it (3 bytes or more), so there is nothing to find.
    init?(lineWrapped: [[UInt8]]) {
        let patterns = lineWrapped.filter { $0.count >= 3 }
        guard let joined = PatternSet(patterns: patterns) else { return nil }
        var alphabet = [UInt8](repeating: 0, count: 256)
        for pattern in patterns + [Self.base64Alphabets] { for byte in pattern { alphabet[Int(byte)] = 1 } }
        self.joined = joined
        self.alphabet = alphabet
        minLength = patterns.map(\.count).min()!
        maxLength = patterns.map(\.count).max()!
    }

    /// Appends the occurrences that hold a short line to `matches`, in no
    /// particular order, and returns the first start where one may still
    /// complete with the bytes to come (`buffer.count` if none, always when
    /// `final`). Occurrences from there on may be missing or appended.
    func scan(_ buffer: UnsafeRawBufferPointer, final: Bool, into matches: inout [PatternMatch]) -> Int {
        guard let raw = buffer.baseAddress, !buffer.isEmpty else { return buffer.count }
        return alphabet.withUnsafeBufferPointer { flags in
            let text = AlphabetText(base: raw.assumingMemoryBound(to: UInt8.self), length: buffer.count, alphabet: flags.baseAddress!)
            var view = JoinedView()
            var from = 0
            while let run = text.shortLines(from: from) {
                // Every occurrence holding one of its lines lies within a longest
                // pattern of the run; runs close together share one view
                // (one scan, and no byte walked over twice).
                if let viewEnd = view.end, run.lowerBound <= viewEnd + 2 * maxLength + Self.mergeDistance {
                    view.append(text, viewEnd ..< run.upperBound)
                } else {
                    finish(&view, text, into: &matches)
                    view.append(text, text.back(from: run.lowerBound, by: maxLength - 1) ..< run.upperBound)
                }
                from = run.upperBound
            }
            finish(&view, text, into: &matches)
            // Whatever these runs held that may still complete starts in the
            // buffer's last alphabet bytes, and so does any other such occurrence.
            guard !final, let tail = text.tailRun(length: maxLength - 1) else { return text.length }
            var tailView = JoinedView()
            tailView.append(text, tail)
            var discarded: [PatternMatch] = []
            let held = tailView.bytes.withUnsafeBytes { joined.scan($0, final: false, into: &discarded) }
            return held < tailView.bytes.count ? tailView.original(held) : text.length
        }
    }

    /// Runs of short lines at most this far apart (past the longest pattern
    /// after the first and before the second) share a view.
    static let mergeDistance = 256

    /// Adds a longest pattern's worth of text after the view's last run,
    /// appends the complete occurrences in the view as ranges of the text,
    /// and empties it. Scanned as final: an occurrence that may continue past
    /// the view's end either holds none of its short lines or starts in the
    /// buffer's tail, which `scan` holds back (dropping it from the matches).
    private func finish(_ view: inout JoinedView, _ text: AlphabetText, into matches: inout [PatternMatch]) {
        guard let end = view.end else { return }
        view.append(text, end ..< text.forward(from: end, by: maxLength - 1))
        defer { view = JoinedView() }
        guard view.bytes.count >= minLength else { return }
        var found: [PatternMatch] = []
        _ = view.bytes.withUnsafeBytes { joined.scan($0, final: true, into: &found) }
        for match in found {
            matches.append(PatternMatch(start: view.original(match.start), end: view.original(match.end - 1) + 1))
        }
    }
}

/// A buffer being scanned and the patterns' alphabet: the walks over
/// alphabet bytes and joinable breaks.
private struct AlphabetText {
    let base: UnsafePointer<UInt8>
    let length: Int
    let alphabet: UnsafePointer<UInt8>

    @inline(__always) func inAlphabet(_ at: Int) -> Bool { alphabet[Int(base[at])] != 0 }

    /// The next run of short lines whose first opening `\n` is at or after
    /// `from`, from the first byte of its first line to the last of its last.
    func shortLines(from: Int) -> Range<Int>? {
        var end = 0
        let start = outpost_find_short_lines(base, length, from, NarrowWrapIndex.shortWidth, alphabet, &end)
        return start < length ? start ..< end : nil
    }

    /// The earliest alphabet byte reached going back `count` alphabet bytes
    /// from the one at `at`, across joinable breaks.
    func back(from at: Int, by count: Int) -> Int {
        var at = at
        var left = count
        while left > 0 && at > 0 {
            if inAlphabet(at - 1) {
                at -= 1
            } else if base[at - 1] == UInt8(ascii: "\n") {
                // `at` is in the alphabet: the break is joinable if the byte before it is.
                var breakStart = at - 1
                if breakStart > 0 && base[breakStart - 1] == UInt8(ascii: "\r") { breakStart -= 1 }
                guard breakStart > 0, inAlphabet(breakStart - 1) else { break }
                at = breakStart - 1
            } else {
                break
            }
            left -= 1
        }
        return at
    }

    /// Just past the last alphabet byte reached going forward `count`
    /// alphabet bytes from `end` (just past one), across joinable breaks.
    func forward(from end: Int, by count: Int) -> Int {
        var end = end
        var left = count
        while left > 0 && end < length {
            if inAlphabet(end) {
                end += 1
            } else if let next = joinableBreak(at: end) {
                end = next + 1
            } else {
                break
            }
            left -= 1
        }
        return end
    }

    /// When a joinable break starts at `at` (just after an alphabet byte),
    /// the position of the alphabet byte after it.
    @inline(__always) func joinableBreak(at: Int) -> Int? {
        var lineFeed = at
        if base[lineFeed] == UInt8(ascii: "\r") { lineFeed += 1 }
        guard lineFeed + 1 < length, base[lineFeed] == UInt8(ascii: "\n"), inAlphabet(lineFeed + 1) else { return nil }
        return lineFeed + 1
    }

    /// The last `count` alphabet bytes of the buffer, joinable breaks
    /// included, when it ends in alphabet text or in the start of a break
    /// after it (which the bytes to come may make joinable).
    func tailRun(length count: Int) -> Range<Int>? {
        var end = length
        if base[end - 1] == UInt8(ascii: "\n") {
            end -= 1
            if end > 0 && base[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        } else if base[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        }
        guard end > 0, inAlphabet(end - 1) else { return nil }
        return back(from: end - 1, by: count - 1) ..< end
    }
}

/// The joined view of ranges of a text: its alphabet bytes, without the
/// joinable breaks between them; anything else becomes one `\n` (which no
/// pattern holds, so nothing matches across it). Knows where each byte came from.
private struct JoinedView {
    var bytes: [UInt8] = []
    /// Text position just past the last range appended.
    private(set) var end: Int?
    /// Text position of the last byte appended when it is an alphabet byte
    /// (a joinable break may follow it).
    private var lastAlphabet = Int.min
    /// Runs without breaks: joined byte `joined` is text byte `original`, and so on up to the next run.
    private var runs: [(joined: Int, original: Int)] = []

    mutating func append(_ text: AlphabetText, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        // Room for every byte of the range, written through a pointer, then trimmed.
        let old = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: range.count))
        var runs = self.runs
        self.runs = []  // so that `runs` is unique and grows in place
        var lastAlphabet = self.lastAlphabet
        let count = bytes.withUnsafeMutableBufferPointer { out in
            let alphabet = text.alphabet
            let base = text.base
            var written = old
            var at = range.lowerBound
            while at < range.upperBound {
                if alphabet[Int(base[at])] != 0 {
                    // A whole span of alphabet bytes at once.
                    let spanStart = at
                    at += 1
                    while at < range.upperBound && alphabet[Int(base[at])] != 0 { at += 1 }
                    if spanStart != lastAlphabet &+ 1 { runs.append((written, spanStart)) }
                    (out.baseAddress! + written).update(from: base + spanStart, count: at - spanStart)
                    written += at - spanStart
                    lastAlphabet = at - 1
                } else if lastAlphabet == at - 1, let next = text.joinableBreak(at: at) {
                    at = next
                } else {
                    if written == 0 || out[written - 1] != UInt8(ascii: "\n") {
                        runs.append((written, at))
                        out[written] = UInt8(ascii: "\n")
                        written += 1
                    }
                    lastAlphabet = Int.min
                    at += 1
                }
            }
            return written
        }
        bytes.removeLast(bytes.count - count)
        self.runs = runs
        self.lastAlphabet = lastAlphabet
        end = max(end ?? range.upperBound, range.upperBound)
    }

    /// The text position of joined byte `index`.
    func original(_ index: Int) -> Int {
        var low = 0
        var high = runs.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if runs[middle].joined <= index { low = middle } else { high = middle - 1 }
        }
        return runs[low].original + (index - runs[low].joined)
    }
}
