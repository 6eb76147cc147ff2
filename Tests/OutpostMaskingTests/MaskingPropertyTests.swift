import Foundation
import OutpostMasking
import PropertyBased
import Testing

/// Random patterns, texts and chunkings. Small alphabets make overlaps, near
/// misses and partial matches at chunk ends common.
extension MaskingSuite {
    @Suite("Masking properties")
    struct MaskingPropertyTests {
        /// Bytes from a 3-letter alphabet: patterns collide and overlap a lot.
        static let tinyAlphabet = Gen<UInt8>.value(in: 97 ... 99)
        /// Printable ASCII without `[`, `]` and capitals, so the `[SECURE]`
        /// replacement can never spell (part of) a secret.
        static let secretByte = Gen<UInt8>.value(in: 32 ... 126).filter { !(65 ... 93).contains($0) }

        @Test("streamed output equals whole-text masking for any chunking (tiny alphabet, short patterns)")
        func streamEqualsWholeTiny() async {
            await propertyCheck(
                count: 400,
                input: Self.tinyAlphabet.array(of: 1 ... 6).array(of: 1 ... 4),
                Self.tinyAlphabet.array(of: 0 ... 200),
                Gen.int(in: 0 ... 200).array(of: 0 ... 12)
            ) { patterns, text, cuts in
                var masker = Masker(patterns: patterns)
                let expected = ReferenceReplacer.replace(text, patterns: patterns, replacement: Masker.replacement)
                #expect(streamed(text, cuts: cuts, through: &masker) == expected)
            }
        }

        @Test("streamed output equals whole-text masking for patterns of mixed lengths inserted into the text")
        func streamEqualsWholeMixed() async {
            await propertyCheck(
                count: 300,
                input: Gen<UInt8>.value(in: 97 ... 100).array(of: 1 ... 24).array(of: 1 ... 8),
                Gen<UInt8>.value(in: 97 ... 102).array(of: 0 ... 40).array(of: 1 ... 12),
                Gen.int(in: 0 ... 7).array(of: 0 ... 12),
                Gen.int(in: 0 ... 400).array(of: 0 ... 20)
            ) { patterns, fillers, picks, cuts in
                // Interleave filler text with some of the patterns.
                var text: [UInt8] = []
                for (i, filler) in fillers.enumerated() {
                    text += filler
                    if i < picks.count { text += patterns[picks[i] % patterns.count] }
                }
                var masker = Masker(patterns: patterns)
                let expected = ReferenceReplacer.replace(text, patterns: patterns, replacement: Masker.replacement)
                #expect(streamed(text, cuts: cuts, through: &masker) == expected)
            }
        }

        // Shrinking inputs this large takes minutes; the small tests above shrink well.
        @Test("streamed output equals whole-text masking for long patterns, long texts and binary bytes", .shrinking(false))
        func streamEqualsWholeLong() async {
            await propertyCheck(
                count: 150,
                input: Gen<UInt8>.value(in: 0 ... 255).array(of: 2 ... 90).array(of: 1 ... 6),
                Gen<UInt8>.value(in: 0 ... 255).array(of: 0 ... 300).array(of: 1 ... 10),
                Gen.int(in: 0 ... 11).array(of: 0 ... 10),
                Gen.int(in: 0 ... 3000).array(of: 0 ... 40)
            ) { patterns, fillers, picks, cuts in
                // Patterns are also written cut short, to leave near misses and partial matches.
                var text: [UInt8] = []
                for (i, filler) in fillers.enumerated() {
                    text += filler
                    if i < picks.count {
                        let pattern = patterns[picks[i] % patterns.count]
                        text += picks[i] >= 6 ? Array(pattern.dropLast()) : pattern
                    }
                }
                var masker = Masker(patterns: patterns)
                let expected = ReferenceReplacer.replace(text, patterns: patterns, replacement: Masker.replacement)
                #expect(streamed(text, cuts: cuts, through: &masker) == expected)
            }
        }

        @Test("no secret of the minimum length or longer survives, in any chunking, and streaming equals whole-text masking")
        func noSecretSurvives() async {
            await propertyCheck(
                count: 300,
                input: Self.secretByte.array(of: 1 ... 20).array(of: 1 ... 5),
                Self.secretByte.array(of: 0 ... 60).array(of: 1 ... 8),
                Gen.int(in: 0 ... 500).array(of: 0 ... 16)
            ) { secrets, fillers, cuts in
                let values = secrets.enumerated().map { (name: "S\($0.offset)", value: String(decoding: $0.element, as: UTF8.self)) }
                // Each filler is followed by a secret, plainly or in one of its encoded forms.
                let policy = MaskingPolicy()
                var text: [UInt8] = []
                for (i, filler) in fillers.enumerated() {
                    text += filler
                    let value = values[i % values.count].value
                    text += [value.bytes, shellQuoted(value), urlEncoded(value)][i % 3]
                }
                let (patterns, lineWrapped, _) = policy.patterns(for: values)
                var masker = policy.masker(for: values).masker
                let output = streamed(text, cuts: cuts, through: &masker)
                #expect(output == ReferenceReplacer.replace(text, patterns: patterns, lineWrapped: lineWrapped, replacement: Masker.replacement))
                // Cut the output at each replacement so that nothing can straddle one.
                let pieces = split(output, at: Masker.replacement)
                for value in values where value.value.utf8.count >= 4 {
                    #expect(!pieces.contains { contains($0, value.value.bytes) })
                }
            }
        }

        /// Bytes of the standard base64 alphabet.
        static let base64Alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        static let base64Byte = Gen<UInt8>.value(in: 43 ... 122).filter { base64Alphabet.contains($0) }

        @Test("line-wrapped patterns among plain ones: streamed output equals whole-text masking for any wrapping and chunking",
              .shrinking(false))
        func wrappedStreamEqualsWhole() async {
            await propertyCheck(
                count: 200,
                input: Self.base64Byte.array(of: 4 ... 120).array(of: 1 ... 5),
                Self.base64Byte.array(of: 3 ... 30).array(of: 0 ... 3),
                Gen.int(in: 1 ... 90),
                Gen.int(in: 0 ... 200).array(of: 1 ... 6),
                Gen.bool,
                Gen.int(in: 0 ... 2000).array(of: 0 ... 16)
            ) { wrappedPatterns, plainPatterns, width, phases, crlf, cuts in
                // Each pattern (or a piece of one) in a run of base64 text, wrapped
                // at `width` from some phase: down to one byte a line.
                var text: [UInt8] = []
                for (i, phase) in phases.enumerated() {
                    let pattern = wrappedPatterns[i % wrappedPatterns.count]
                    let piece = phase % 5 == 4 ? Array(pattern.dropFirst(phase % pattern.count)) : pattern
                    let run = Array("QUJD".utf8) + piece + Array("eHl6".utf8)
                    text += Array("line \(i): ".utf8) + wrapped(run, width: width, phase: phase, lineBreak: crlf ? [13, 10] : [10])
                    text += crlf ? [13, 10] : [10]
                }
                var masker = Masker(patterns: plainPatterns, lineWrapped: wrappedPatterns)
                let expected = ReferenceReplacer.replace(
                    text, patterns: plainPatterns, lineWrapped: wrappedPatterns, replacement: Masker.replacement)
                #expect(streamed(text, cuts: cuts, through: &masker) == expected)
            }
        }

        @Test("two-letter line-wrapped and plain patterns in two-letter text with line breaks: streamed output equals the reference",
              .shrinking(false))
        func wrappedTinyAlphabet() async {
            let letter = Gen<UInt8>.value(in: 65 ... 66)
            await propertyCheck(
                count: 300,
                input: letter.array(of: 4 ... 70).array(of: 1 ... 4),
                letter.array(of: 2 ... 9).array(of: 0 ... 2),
                Gen.int(in: 0 ... 99).array(of: 100 ... 600),
                Gen.int(in: 0 ... 2000).array(of: 0 ... 16)
            ) { wrappedPatterns, plainPatterns, draws, cuts in
                // Mostly letters; now and then a line break, a CRLF or a lone CR,
                // and copies of the patterns so that matches, overlaps and near misses occur.
                var text: [UInt8] = []
                for draw in draws {
                    switch draw {
                    case 0: text.append(10)
                    case 1: text += [13, 10]
                    case 2: text.append(13)
                    case 3 ... 6: text += wrappedPatterns[draw % wrappedPatterns.count]
                    default: text.append(draw % 2 == 0 ? 65 : 66)
                    }
                }
                var masker = Masker(patterns: plainPatterns, lineWrapped: wrappedPatterns)
                let expected = ReferenceReplacer.replace(
                    text, patterns: plainPatterns, lineWrapped: wrappedPatterns, replacement: Masker.replacement)
                #expect(streamed(text, cuts: cuts, through: &masker) == expected)
            }
        }

        @Test("a secret's base64, wrapped at any width and any offset in the encoded stream, never survives any chunking",
              .shrinking(false))
        func wrappedBase64NeverSurvives() async {
            await propertyCheck(
                count: 200,
                input: Self.secretByte.array(of: 4 ... 90),
                Gen<UInt8>.value(in: 0 ... 255).array(of: 0 ... 5),
                Gen.int(in: 1 ... 100),
                Gen.int(in: 0 ... 100),
                Gen.bool,
                Gen.int(in: 0 ... 400).array(of: 0 ... 12)
            ) { secret, before, width, phase, crlf, cuts in
                let value = String(decoding: secret, as: UTF8.self)
                let stream = Data(before + value.bytes + Array("after".utf8)).base64EncodedString()
                let text = Array("body: ".utf8) + wrapped(Array(stream.utf8), width: width, phase: phase, lineBreak: crlf ? [13, 10] : [10])
                let policy = MaskingPolicy()
                let (patterns, lineWrapped, _) = policy.patterns(for: [("V", value)])
                var masker = policy.masker(for: [("V", value)]).masker
                let output = streamed(text, cuts: cuts, through: &masker)
                #expect(output == ReferenceReplacer.replace(text, patterns: patterns, lineWrapped: lineWrapped, replacement: Masker.replacement))
                #expect(!SecretFragments(value: value).survive(in: output))
            }
        }

        @Test("values printed HTML-escaped, backslash-quoted or with lowercase percent-encoding never survive any chunking")
        func newEncodingsNeverSurvive() async {
            await propertyCheck(
                count: 300,
                input: Self.secretByte.array(of: 4 ... 24).array(of: 1 ... 4),
                Self.secretByte.array(of: 0 ... 40).array(of: 1 ... 8),
                Gen.int(in: 0 ... 400).array(of: 0 ... 12)
            ) { secrets, fillers, cuts in
                let values = secrets.enumerated().map { (name: "S\($0.offset)", value: String(decoding: $0.element, as: UTF8.self)) }
                var text: [UInt8] = []
                for (i, filler) in fillers.enumerated() {
                    text += filler
                    let value = values[i % values.count].value
                    text += [htmlEscaped(value), backslashQuoted(value), lowercaseURLEncoded(value)][i % 3]
                }
                let policy = MaskingPolicy()
                let (patterns, lineWrapped, _) = policy.patterns(for: values)
                var masker = policy.masker(for: values).masker
                let output = streamed(text, cuts: cuts, through: &masker)
                #expect(output == ReferenceReplacer.replace(text, patterns: patterns, lineWrapped: lineWrapped, replacement: Masker.replacement))
                let pieces = split(output, at: Masker.replacement)
                for value in values {
                    for form in [htmlEscaped(value.value), backslashQuoted(value.value), lowercaseURLEncoded(value.value)] {
                        #expect(!pieces.contains { contains($0, form) })
                    }
                }
            }
        }

        private func htmlEscaped(_ value: String) -> [UInt8] {
            let entities: [UInt8: String] = [38: "&amp;", 60: "&lt;", 62: "&gt;", 34: "&quot;", 39: "&#x27;"]
            return value.bytes.flatMap { entities[$0].map { Array($0.utf8) } ?? [$0] }
        }

        /// bash `printf %q` for printable ASCII, written out from bash's shquote.c.
        private func backslashQuoted(_ value: String) -> [UInt8] {
            let special = Set(" '\"\\|&;()<>!{}*[?]^$`,".utf8)
            var quoted: [UInt8] = []
            for (i, byte) in value.bytes.enumerated() {
                let previous = i > 0 ? value.bytes[i - 1] : 0
                if special.contains(byte) || (byte == UInt8(ascii: "#") && i == 0)
                    || (byte == UInt8(ascii: "~") && (i == 0 || previous == UInt8(ascii: "=") || previous == UInt8(ascii: ":"))) {
                    quoted.append(UInt8(ascii: "\\"))
                }
                quoted.append(byte)
            }
            return quoted
        }

        private func lowercaseURLEncoded(_ value: String) -> [UInt8] {
            value.bytes.flatMap { byte -> [UInt8] in
                let keep = (48 ... 57).contains(byte) || (65 ... 90).contains(byte) || (97 ... 122).contains(byte) || "-_.~".utf8.contains(byte)
                return keep ? [byte] : Array("%\(String(byte, radix: 16).leftPadded)".utf8)
            }
        }

        private func shellQuoted(_ value: String) -> [UInt8] {
            Array("'".utf8) + value.bytes.flatMap { $0 == UInt8(ascii: "'") ? Array("'\\''".utf8) : [$0] } + Array("'".utf8)
        }

        private func urlEncoded(_ value: String) -> [UInt8] {
            value.bytes.flatMap { byte -> [UInt8] in
                let keep = (48 ... 57).contains(byte) || (97 ... 122).contains(byte) || "-_.~".utf8.contains(byte)
                return keep ? [byte] : Array("%\(String(byte, radix: 16, uppercase: true).leftPadded)".utf8)
            }
        }

        private func split(_ bytes: [UInt8], at separator: [UInt8]) -> [[UInt8]] {
            var pieces: [[UInt8]] = [[]]
            var i = 0
            while i < bytes.count {
                if bytes[i...].starts(with: separator) {
                    pieces.append([])
                    i += separator.count
                } else {
                    pieces[pieces.count - 1].append(bytes[i])
                    i += 1
                }
            }
            return pieces
        }
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
