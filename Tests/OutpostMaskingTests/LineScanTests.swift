import COutpostLineScan
import PropertyBased
import Testing

/// The C search for runs of short wrapped lines, checked against a plain
/// Swift reading of its definition, with every block search the CPU can run.
extension MaskingSuite {
    @Suite("Short-line search")
    struct LineScanTests {
        /// `A`, `B` and `/` are the alphabet; spaces, `\r` and `\n` are not.
        static let alphabet: [UInt8] = {
            var flags = [UInt8](repeating: 0, count: 256)
            for byte in "AB/".utf8 { flags[Int(byte)] = 1 }
            return flags
        }()

        /// Levels of `outpost_line_scan_select`: portable C, SSE2, AVX2, AVX-512.
        static let levels: [Int32] = [1, 2, 3, 4]

        @Test("every block search finds the same first run of short lines as the definition", arguments: levels)
        func matchesDefinition(level: Int32) async throws {
            guard outpost_line_scan_select(level) == 1 else { return }  // this CPU has no such instructions
            defer { _ = outpost_line_scan_select(0) }
            // Mostly alphabet bytes, with breaks often enough that short and
            // long lines, CRLFs, lone CRs and blank lines all occur, and texts
            // long enough for several 64-byte blocks.
            let byte = Gen.int(in: 0 ... 99).map { draw -> [UInt8] in
                switch draw {
                case 0 ..< 5: [10]
                case 5 ..< 7: [13, 10]
                case 7: [13]
                case 8: [32]
                case 9 ..< 12: Array(repeating: 65, count: draw * 4)  // a stretch that makes a long line
                default: [[65], [66], [47]][draw % 3]
                }
            }
            await propertyCheck(
                count: 400,
                input: byte.array(of: 0 ... 120),
                Gen.int(in: 0 ... 400),
                Gen.int(in: 2 ... 40)
            ) { pieces, from, width in
                let text = pieces.flatMap { $0 }
                let expected = Self.firstRun(in: text, from: from, maxWidth: width)
                var end = 0
                let start = text.withUnsafeBufferPointer { bytes in
                    Self.alphabet.withUnsafeBufferPointer { flags in
                        outpost_find_short_lines(bytes.baseAddress, text.count, from, width, flags.baseAddress, &end)
                    }
                }
                let found = start < text.count ? start ..< end : nil
                #expect(found == expected, "level \(level), width \(width), from \(from), text \(text)")
            }
        }

        /// The definition, one line at a time: a short line lies between two
        /// `\n` (no `\r` before the second), 1 to `maxWidth - 1` alphabet
        /// bytes, with an alphabet byte before the opening break (`\n` or
        /// `\r\n`) and after the closing `\n`; a run is such lines back to back.
        static func firstRun(in text: [UInt8], from: Int, maxWidth: Int) -> Range<Int>? {
            let breaks = text.indices.filter { text[$0] == 10 }
            func shortLine(_ open: Int, _ close: Int) -> Range<Int>? {
                var last = close
                if last > open + 1 && text[last - 1] == 13 { last -= 1 }
                let line = open + 1 ..< last
                guard !line.isEmpty, line.count < maxWidth, line.allSatisfy({ alphabet[Int(text[$0])] != 0 }) else { return nil }
                let before = open > 0 && text[open - 1] == 13 ? open - 1 : open
                guard before > 0, alphabet[Int(text[before - 1])] != 0 else { return nil }
                guard close + 1 < text.count, alphabet[Int(text[close + 1])] != 0 else { return nil }
                return line
            }
            for (i, open) in breaks.enumerated() where open >= from && i + 1 < breaks.count {
                guard let first = shortLine(open, breaks[i + 1]) else { continue }
                var run = first
                var j = i + 1
                while j + 1 < breaks.count, let next = shortLine(breaks[j], breaks[j + 1]) {
                    run = run.lowerBound ..< next.upperBound
                    j += 1
                }
                return run
            }
            return nil
        }
    }
}
