import OutpostMasking
import Testing

extension MaskingSuite {
    @Suite("StreamingReplacer")
    struct StreamingReplacerTests {
        /// buildkite's TestReplacerWriteBoundaries: the text is written in three
        /// pieces cut at every pair of positions, so the secret is split across
        /// every possible pair of writes (and sometimes held back twice).
        @Test("a secret split across every possible pair of writes is masked", arguments: [
            ("before hunter2pass after", ["hunter2pass"], "before [SECURE] after"),
            ("hunter2pass", ["hunter2pass"], "[SECURE]"),
            ("xhunter2passhunter2passx", ["hunter2pass"], "x[SECURE][SECURE]x"),
            ("hunter2pashunter2pass", ["hunter2pass"], "hunter2pas[SECURE]"),
            ("a abcdef b", ["abcd", "abcdef", "cdef"], "a [SECURE] b"),
            ("ab abcabcd abcd", ["abcd"], "ab abc[SECURE] [SECURE]"),
            // The rare part of this one lies deep inside it, where its sampling window goes.
            (String(repeating: "log line, ", count: 8) + "see: the quick brown fox jumps over QZ9!XK7@ here",
             ["the quick brown fox jumps over QZ9!XK7@", "ee: t"],
             String(repeating: "log line, ", count: 8) + "s[SECURE] here"),
        ])
        func writeBoundaries(text: String, secrets: [String], expected: String) {
            let bytes = text.bytes
            for first in 0 ... bytes.count {
                for second in first ... bytes.count {
                    var masker = Masker(secrets: secrets)
                    let output = streamed(bytes, cuts: [first, second], through: &masker)
                    #expect(output.text == expected, "cut at \(first) and \(second)")
                }
            }
        }

        @Test("without patterns every chunk passes through and nothing is held back")
        func passthrough() {
            var replacer = StreamingReplacer(patterns: [[], []], replacement: Array("X".utf8))
            #expect(replacer.isPassthrough)
            #expect(replacer.process([0, 255, 10]) == [0, 255, 10])
            #expect(replacer.heldBackCount == 0)
            #expect(replacer.finish().isEmpty)
        }

        @Test("the replacement is whatever the caller chose, and binary patterns work")
        func customReplacement() {
            var replacer = StreamingReplacer(patterns: [[0, 1, 2], [255, 255]], replacement: Array("<x>".utf8))
            var output = replacer.process([9, 0, 1])
            output += replacer.process([2, 9, 255])
            output += replacer.process([255, 0])
            output += replacer.finish()
            #expect(output == [9] + Array("<x>".utf8) + [9] + Array("<x>".utf8) + [0])
        }

        @Test("only bytes that could still start a match are held back, and released unchanged once they cannot")
        func minimalHoldBack() {
            var masker = Masker(secrets: ["secret"])
            #expect(masker.mask("my sec".bytes).text == "my ")
            #expect(masker.mask("ret? no: se".bytes).text == "[SECURE]? no: ")
            #expect(masker.mask("cond".bytes).text == "second")
            #expect(masker.mask("s".bytes).isEmpty)
            #expect(masker.finish().text == "s")
        }

        @Test("a chunk with no possible match at its end is returned whole")
        func nothingHeld() {
            var masker = Masker(secrets: ["secret"])
            let chunk = "nothing to see here\n".bytes
            #expect(masker.mask(chunk) == chunk)
        }

        @Test("empty chunks change nothing, before, between and after data")
        func emptyChunks() {
            var masker = Masker(secrets: ["password1"])
            var output = masker.mask([])
            output += masker.mask("pass".bytes)
            output += masker.mask([])
            output += masker.mask("word1!".bytes)
            output += masker.mask([])
            output += masker.finish()
            output += masker.finish()
            #expect(output.text == "[SECURE]!")
        }

        @Test("finish releases held-back bytes that never became a secret")
        func finishFlushes() {
            var masker = Masker(secrets: ["supersecret"])
            #expect(masker.mask("value: supersec".bytes).text == "value: ")
            #expect(masker.finish().text == "supersec")
            // And the masker starts a new stream afterwards.
            #expect(masker.mask("supersecret".bytes).text == "[SECURE]")
        }

        @Test("the longest of two patterns at the same start wins")
        func longestWins() {
            var masker = Masker(secrets: ["abc", "abcdef"])
            #expect(streamed("xabcdefy abc abcde".bytes, cuts: [], through: &masker).text == "x[SECURE]y [SECURE] [SECURE]de")
        }

        @Test("overlapping matches become one replacement so no part of either leaks")
        func overlapsMerge() {
            var masker = Masker(secrets: ["abcd", "cdef"])
            #expect(streamed("1abcdef2 abcdcdef 3cdefabcd".bytes, cuts: [4], through: &masker).text
                == "1[SECURE]2 [SECURE][SECURE] 3[SECURE][SECURE]")
        }

        @Test("a long run of overlapping matches is released without buffering it")
        func longRunNotBuffered() {
            var masker = Masker(secrets: ["aaaa"])
            var output = masker.mask(Array(repeating: UInt8(ascii: "a"), count: 10))
            #expect(output.text == "[SECURE]")
            for _ in 0 ..< 100 {
                output += masker.mask(Array(repeating: UInt8(ascii: "a"), count: 1000))
                #expect(masker.heldBackCount < 4)
            }
            output += masker.mask("b".bytes) + masker.finish()
            #expect(output.text == "[SECURE]b")
        }

        @Test("text full of near misses passes through unchanged")
        func nearMisses() {
            let secrets = ["hunter2pass", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "p@ss w0rd!"]
            let text = """
                hunter2pas hunter2pasS Hunter2pass unter2pass hunter2 pass hunter3pass
                ghp_16C7e42F292c6912E7710c838347Ae178B4 ghp_16C7e42F292c6912E7710c838347Ae178b4a
                p@ss w0rd p@ssw0rd! p@ss_w0rd! P@ss w0rd!

                """.bytes
            var masker = Masker(secrets: secrets)
            for split in [1, 7, 64] {
                #expect(streamed(text, cuts: Array(stride(from: 0, to: text.count, by: split)), through: &masker) == text)
            }
        }

        @Test("patterns of every length from 1 to 40 match in long text at every offset", arguments: [1, 2, 3, 4, 5, 8, 13, 19, 20, 40])
        func everyLengthAndOffset(length: Int) {
            let pattern = (0 ..< length).map { UInt8(ascii: "A") + UInt8($0 % 26) }
            for offset in [0, 1, 2, 3, 17, 63, 64, 65, 999] {
                let text = Array(repeating: UInt8(ascii: "."), count: offset) + pattern + Array(repeating: UInt8(ascii: "."), count: 70)
                var masker = Masker(patterns: [pattern, Array("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".utf8)])
                let expected = Array(repeating: UInt8(ascii: "."), count: offset) + Masker.replacement + Array(repeating: UInt8(ascii: "."), count: 70)
                #expect(masker.mask(text) + masker.finish() == expected, "offset \(offset)")
            }
        }

        @Test("masking a whole string leaves the stream state alone")
        func maskingString() {
            var masker = Masker(secrets: ["topsecret"])
            #expect(masker.mask("a top".bytes).text == "a ")
            #expect(masker.masking("error: topsecret rejected") == "error: [SECURE] rejected")
            #expect((masker.mask("secret".bytes) + masker.finish()).text == "[SECURE]")
        }
    }
}
