import OutpostMasking
import Testing

extension MaskingSuite {
    @Suite("Masker")
    struct MaskerTests {
        @Test("without secrets every chunk passes through unchanged and nothing is held back")
        func passthrough() {
            var masker = Masker(secrets: [])
            #expect(masker.isPassthrough)
            let chunks: [[UInt8]] = [Array("hello ".utf8), [], Array("wörld\n".utf8), [0, 255, 10]]
            var out: [UInt8] = []
            for chunk in chunks {
                let masked = masker.mask(chunk)
                #expect(masked == chunk)
                out += masked
            }
            out += masker.finish()
            #expect(out == chunks.flatMap { $0 })
        }

        @Test("empty secret values are ignored")
        func emptySecretsIgnored() {
            var masker = Masker(secrets: ["", ""])
            #expect(masker.isPassthrough)
            #expect(masker.mask(Array("abc".utf8)) == Array("abc".utf8))
        }

        @Test("a secret split across two chunks is masked at every split point", arguments: 0...23)
        func splitSecret(split: Int) {
            let text = Array("before hunter2pass after".utf8)
            var masker = Masker(secrets: ["hunter2pass"])
            var out = masker.mask(Array(text[..<split]))
            out += masker.mask(Array(text[split...]))
            out += masker.finish()
            #expect(String(decoding: out, as: UTF8.self) == "before [SECURE] after")
        }

        @Test("a held-back prefix that turns out not to be a secret is released unchanged")
        func falsePrefixReleased() {
            var masker = Masker(secrets: ["secret"])
            var out = masker.mask(Array("my sec".utf8))
            #expect(String(decoding: out, as: UTF8.self) == "my ")
            out += masker.mask(Array("ond try, secr".utf8))
            out += masker.finish()
            #expect(String(decoding: out, as: UTF8.self) == "my second try, secr")
        }

        @Test("the longer of two overlapping secrets wins")
        func longestFirst() {
            var masker = Masker(secrets: ["abc", "abcdef"])
            var out = masker.mask(Array("xabcdefy abc".utf8))
            out += masker.finish()
            #expect(String(decoding: out, as: UTF8.self) == "x[SECURE]y [SECURE]")
        }
    }
}
