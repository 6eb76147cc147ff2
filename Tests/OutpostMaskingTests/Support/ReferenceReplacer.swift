import OutpostMasking

/// The obviously-correct (and slow) definition of what the streaming replacer
/// must produce for a whole text: at every start take the longest pattern that
/// matches, merge occurrences that share a byte, replace each merged run once.
enum ReferenceReplacer {
    static func replace(_ text: [UInt8], patterns: [[UInt8]], replacement: [UInt8]) -> [UInt8] {
        let patterns = patterns.filter { !$0.isEmpty }
        var runs: [(start: Int, end: Int)] = []
        for start in text.indices {
            let rest = text[start...]
            guard let length = patterns.filter({ rest.starts(with: $0) }).map(\.count).max() else { continue }
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
