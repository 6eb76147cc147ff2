import OutpostMasking
import PropertyBased
import Testing

/// Random patterns, texts and chunkings. Small alphabets make overlaps, near
/// misses and partial matches at chunk ends common.
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
            let (patterns, _) = policy.patterns(for: values)
            var masker = policy.masker(for: values).masker
            let output = streamed(text, cuts: cuts, through: &masker)
            #expect(output == ReferenceReplacer.replace(text, patterns: patterns, replacement: Masker.replacement))
            // Cut the output at each replacement so that nothing can straddle one.
            let pieces = split(output, at: Masker.replacement)
            for value in values where value.value.utf8.count >= 4 {
                #expect(!pieces.contains { contains($0, value.value.bytes) })
            }
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

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
