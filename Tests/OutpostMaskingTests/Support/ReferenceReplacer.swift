import OutpostMasking

/// The obviously-correct (and slow) definition of what the streaming replacer
/// must produce for a whole text: at every start take the longest pattern that
/// matches, merge occurrences that share a byte, replace each merged run once.
/// A line-wrapped pattern matches with a "\n" or "\r\n" between any two of
/// its bytes, at any wrap width.
enum ReferenceReplacer {
    static func replace(_ text: [UInt8], patterns: [[UInt8]], lineWrapped: [[UInt8]] = [], replacement: [UInt8]) -> [UInt8] {
        let lineBreaks: Set<UInt8> = [10, 13]
        let wrapped = lineWrapped.filter { !$0.isEmpty && !$0.contains(where: lineBreaks.contains) }
        let patterns = (patterns + lineWrapped).filter { !$0.isEmpty }
        var runs: [(start: Int, end: Int)] = []
        for start in text.indices {
            let rest = text[start...]
            let plainLengths = patterns.filter { rest.starts(with: $0) }.map(\.count)
            let wrappedLengths = wrapped.compactMap { wrappedLength(of: $0, in: text, at: start) }
            guard let length = (plainLengths + wrappedLengths).max() else { continue }
            if let last = runs.last, start < last.end {
                runs[runs.count - 1].end = max(last.end, start + length)
            } else {
                runs.append((start, start + length))
            }
        }
        var output: [UInt8] = []
        var position = 0
        for run in runs {
            output += text[position ..< run.start]
            output += replacement
            position = run.end
        }
        return output + text[position...]
    }

    /// How many bytes of `text` from `start` the pattern covers, line breaks
    /// included, or `nil` when it does not match there.
    static func wrappedLength(of pattern: [UInt8], in text: [UInt8], at start: Int) -> Int? {
        var at = start
        for (j, byte) in pattern.enumerated() {
            if j > 0, at < text.count, text[at] == 10 || (text[at] == 13 && at + 1 < text.count && text[at + 1] == 10) {
                at += text[at] == 13 ? 2 : 1
            }
            guard at < text.count, text[at] == byte else { return nil }
            at += 1
        }
        return at - start
    }
}

/// `bytes` with a line break (`lineBreak`) after every `width` bytes,
/// counting from `phase` bytes in, as `base64 -w width` lays out a stream
/// whose first `phase` columns are already taken.
func wrapped(_ bytes: [UInt8], width: Int, phase: Int = 0, lineBreak: [UInt8] = [10]) -> [UInt8] {
    var output: [UInt8] = []
    for (i, byte) in bytes.enumerated() {
        if i > 0 && (i + phase) % width == 0 { output += lineBreak }
        output.append(byte)
    }
    return output
}

/// Feeds `text` to `masker` in pieces cut at `cuts` (positions, any order,
/// clamped) and returns everything released, `finish()` included.
func streamed(_ text: [UInt8], cuts: [Int], through masker: inout Masker) -> [UInt8] {
    let points = ([0, text.count] + cuts.map { min(max($0, 0), text.count) }).sorted()
    var output: [UInt8] = []
    for (from, to) in zip(points, points.dropFirst()) {
        output += masker.mask(Array(text[from ..< to]))
    }
    return output + masker.finish()
}

/// Whether `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
    return (0 ... haystack.count - needle.count).contains { haystack[$0 ..< $0 + needle.count].elementsEqual(needle) }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
