import Foundation
import OutpostMasking
import Testing

/// Base64 wrapped into lines (`base64`, `openssl base64`, MIME) is masked
/// wherever the line breaks fall inside the encoded value.
extension MaskingSuite {
    @Suite("Line-wrapped base64")
    struct WrappedBase64Tests {
        /// A 20-byte pattern is too short for two separate windows (it gets
        /// variants); a 60-byte one has two.
        static let shortPattern = "Zm9vYmFyLXNlY3JldC14"
        static let longPattern = "c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2gtZm9yLXR3by13aW5k"
        /// Enough text before a pattern that the scan's samples, not its
        /// start-by-start check of a buffer's last bytes, must find it.
        static let lead = String(repeating: "log line, ", count: 12)

        @Test("a line-wrapped pattern is replaced with one line break (LF or CRLF) at any position, cut at any point",
              arguments: [shortPattern, longPattern], [[UInt8(10)], [13, 10]])
        func oneBreakAnywhere(pattern: String, lineBreak: [UInt8]) {
            let bytes = pattern.bytes
            for cut in 1 ..< bytes.count {
                let text = (Self.lead + "data: ").bytes + bytes[..<cut] + lineBreak + bytes[cut...] + ("\n" + Self.lead).bytes
                for split in stride(from: 0, through: text.count, by: 5) {
                    var masker = Masker(patterns: [], lineWrapped: [bytes])
                    let output = streamed(text, cuts: [split], through: &masker)
                    #expect(output.text == Self.lead + "data: [SECURE]\n" + Self.lead, "break after byte \(cut), split at \(split)")
                }
            }
        }

        @Test("a long line-wrapped pattern is replaced whatever the wrap width (one byte a line and up) and phase, cut at any point")
        func manyBreaks() {
            let value = Array((0 ..< 300).map { UInt8(ascii: "A") + UInt8($0 * 7 % 26) })
            for width in [1, 2, 3, 5, 16, 20, 37, 38, 60, 64, 76] {
                for phase in Set([0, 1, width / 2, width - 1]) {
                    let text = (Self.lead + "x").bytes + wrapped(value, width: width, phase: phase, lineBreak: [13, 10]) + "\r\ny".bytes
                    for split in stride(from: 0, through: text.count, by: 17) {
                        var masker = Masker(patterns: [], lineWrapped: [value])
                        #expect(streamed(text, cuts: [split, split + 40], through: &masker).text == Self.lead + "x[SECURE]\r\ny",
                                "width \(width), phase \(phase), split at \(split)")
                    }
                }
            }
        }

        @Test("only single line breaks are stepped over, and only in line-wrapped patterns")
        func whatIsNotAWrap() {
            let pattern = Self.longPattern.bytes
            func broken(at cuts: [Int], with lineBreak: String) -> [UInt8] {
                var text: [UInt8] = []
                for (i, byte) in pattern.enumerated() {
                    if cuts.contains(i) { text += lineBreak.bytes }
                    text.append(byte)
                }
                return text
            }
            let unchanged = [
                broken(at: [10], with: "\n\n"),  // a blank line in between
                broken(at: [10], with: "\r"),  // a carriage return alone
                broken(at: [10], with: " \n"),  // other bytes at the break
                broken(at: [5, 6, 7], with: "\r\r\n"),  // a carriage return before the break
                // A space in a narrow run.
                wrapped(Array(pattern[..<15]), width: 4) + " ".bytes + wrapped(Array(pattern[15...]), width: 4),
            ]
            for text in unchanged.map({ Self.lead.bytes + $0 }) {
                var masker = Masker(patterns: [], lineWrapped: [pattern])
                #expect(streamed(text, cuts: [], through: &masker) == text)
            }
            for cuts in [[5, 6], [5, 40], Array(stride(from: 1, to: pattern.count, by: 3))] {
                var masker = Masker(patterns: [], lineWrapped: [pattern])
                #expect(streamed(broken(at: cuts, with: "\n"), cuts: [], through: &masker).text == "[SECURE]")
            }
            var plain = Masker(patterns: [pattern])
            #expect(streamed(broken(at: [30], with: "\n"), cuts: [], through: &plain) == broken(at: [30], with: "\n"))
        }

        @Test("a narrow base64 dump streams through: only a possible match is held back, never the run of short lines")
        func narrowDumpIsNotBuffered() {
            let pattern = Self.longPattern.bytes
            var random = SystemRandomNumberGenerator()
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
            let noise = (0 ..< 4_000).map { _ in alphabet.randomElement(using: &random)! }
            for (width, lineBreak) in [(1, [UInt8(10)]), (4, [13, 10]), (20, [10])] {
                let dump = wrapped(noise + pattern + noise, width: width, lineBreak: lineBreak)
                var masker = Masker(patterns: [], lineWrapped: [pattern])
                var output: [UInt8] = []
                var mostHeld = 0
                for start in stride(from: 0, to: dump.count, by: 1000) {
                    output += masker.mask(Array(dump[start ..< min(start + 1000, dump.count)]))
                    mostHeld = max(mostHeld, masker.heldBackCount)
                }
                output += masker.finish()
                #expect(output == ReferenceReplacer.replace(dump, patterns: [], lineWrapped: [pattern], replacement: Masker.replacement))
                #expect(contains(output, Masker.replacement), "width \(width)")
                // A possible match is shorter than the pattern; with its breaks, at most three times as long.
                #expect(mostHeld < pattern.count * (width == 1 ? 3 : 2), "width \(width): held back \(mostHeld) bytes")
            }
        }

        @Test("the policy masks a value's base64 wrapped at 76, 64, 20 and 4 columns, at every offset in the encoded stream")
        func policyWrapsEveryOffset() {
            for value in ["hunter2!", "a 58-byte secret: " + String(repeating: "k3y", count: 14), MaskingPolicyTests.awkward] {
                for prefixLength in 0 ..< 80 {
                    let data = Data((String(repeating: "0", count: prefixLength) + value + "\n").utf8)
                    for (width, lineBreak) in [(76, "\n"), (64, "\r\n"), (20, "\n"), (4, "\r\n")] {
                        let encoded = wrapped(data.base64EncodedString().bytes, width: width, lineBreak: lineBreak.bytes)
                        let masked = MaskingPolicyTests.mask(encoded.text, values: [("V", value)])
                        #expect(masked.contains("[SECURE]"), "prefix \(prefixLength), width \(width)")
                        let fragments = SecretFragments(value: value)
                        #expect(!fragments.survive(in: masked.bytes), "prefix \(prefixLength), width \(width)")
                    }
                }
            }
        }
    }
}

/// The base64 characters a value becomes at each alignment, to check that
/// none is left in masked output (with its line breaks taken out).
struct SecretFragments {
    let fragments: [[UInt8]]

    init(value: String) {
        fragments = (0 ..< 3).map { alignment in
            let digits = Data(Array(repeating: 0, count: alignment) + value.bytes).base64EncodedString().bytes
            // Drop the characters that also depend on the bytes around the value.
            let usable = (alignment + value.utf8.count) * 8 / 6
            return Array(digits[[0, 2, 3][alignment] ..< usable])
        }
    }

    /// Whether a fragment survives in `output`, line breaks removed, without
    /// crossing a replacement.
    func survive(in output: [UInt8]) -> Bool {
        let stripped = output.filter { $0 != 10 && $0 != 13 }
        var pieces: [[UInt8]] = [[]]
        var i = 0
        while i < stripped.count {
            if stripped[i...].starts(with: Masker.replacement) {
                pieces.append([])
                i += Masker.replacement.count
            } else {
                pieces[pieces.count - 1].append(stripped[i])
                i += 1
            }
        }
        return pieces.contains { piece in fragments.contains { contains(piece, $0) } }
    }
}
