import Foundation
import OutpostMasking
import Testing

/// The policy is checked against real encoders (Foundation's) where they exist,
/// not against its own idea of the encodings.
extension MaskingSuite {
    @Suite("MaskingPolicy")
    struct MaskingPolicyTests {
        /// Has every character some encoding escapes: space, quotes, slash,
        /// backslash, `&<>`, `%`, `+`, `$`, and a non-ASCII letter.
        static let awkward = #"p@ss w/rd"'\&<>%+$é!"#

        static func mask(_ text: String, values: [(name: String, value: String)], policy: MaskingPolicy = MaskingPolicy()) -> String {
            var masker = policy.masker(for: values).masker
            return (masker.mask(text.bytes) + masker.finish()).text
        }

        @Test("the value itself is masked", arguments: ["hunter2", awkward, "ünïcødé-sécret"])
        func plainValue(value: String) {
            #expect(Self.mask("x=\(value);", values: [("V", value)]) == "x=[SECURE];")
        }

        @Test("base64 of the value is masked wherever it sits in the encoded data, standard and URL-safe", arguments: 0 ..< 6)
        func base64(prefixLength: Int) {
            let prefix = String(repeating: "u", count: prefixLength) + ":"
            for value in ["hunter22", Self.awkward, "\u{FF}\u{FE}~~~>>>???"] {
                for suffix in ["", "x", "xy", ":more data"] {
                    let data = Data((prefix + value + suffix).utf8)
                    for encoded in [data.base64EncodedString(), Self.urlSafe(data.base64EncodedString())] {
                        let masked = Self.mask("auth: \(encoded)\n", values: [("V", value)])
                        #expect(masked.contains("[SECURE]"), "prefix \(prefixLength) suffix \(suffix.count)")
                        // At most the characters that also depend on the prefix or the suffix survive.
                        let survivors = masked.count - "auth: [SECURE]\n".count
                        let allowed = (prefix.utf8.count + 1) * 4 / 3 + 1 + (suffix.utf8.count + 1) * 4 / 3 + 1 + 2
                        #expect(survivors <= allowed, "prefix \(prefixLength) suffix \(suffix.count)")
                    }
                }
            }
        }

        @Test("URL-encoded forms of the value are masked")
        func percentEncoded() throws {
            let value = Self.awkward
            let rfc3986 = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let uriComponent = rfc3986.union(CharacterSet(charactersIn: "!*'()"))
            let encodedRFC = try #require(value.addingPercentEncoding(withAllowedCharacters: rfc3986))
            let encodedURI = try #require(value.addingPercentEncoding(withAllowedCharacters: uriComponent))
            let alphanumerics = try #require(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let form = encodedRFC.replacingOccurrences(of: "%20", with: "+")
            let dotNet = "p%40ss+w%2frd%22%27%5c%26%3c%3e%25%2b%24%c3%a9!"  // HttpUtility.UrlEncode
            for encoded in [encodedRFC, encodedURI, form, dotNet, alphanumerics] {
                #expect(Self.mask("GET /x?q=\(encoded) HTTP/1.1", values: [("V", value)]) == "GET /x?q=[SECURE] HTTP/1.1", "\(encoded)")
            }
        }

        @Test("the value as it appears inside a JSON string is masked (several encoders' styles)")
        func jsonEscaped() throws {
            let value = Self.awkward + "\n\t\u{1}end"
            let encoder = JSONEncoder()
            var encodings = [try encoder.encode(["k": value])]
            encoder.outputFormatting = [.withoutEscapingSlashes]
            encodings.append(try encoder.encode(["k": value]))
            encodings.append(try JSONSerialization.data(withJSONObject: ["k": value]))
            for data in encodings {
                let json = String(decoding: data, as: UTF8.self)
                #expect(Self.mask(json, values: [("V", value)]) == #"{"k":"[SECURE]"}"#, "\(json.count)")
            }
            // Python's json.dumps (ASCII only) and Go's encoding/json (HTML-safe), written out.
            let python = #"{"k": "p@ss w/rd\"'\\&<>%+$\u00e9!\n\t\u0001end"}"#
            let go = #"{"k":"p@ss w/rd\"'\\\u0026\u003c\u003e%+$é!\n\t\u0001end"}"#
            #expect(Self.mask(python, values: [("V", value)]) == #"{"k": "[SECURE]"}"#)
            #expect(Self.mask(go, values: [("V", value)]) == #"{"k":"[SECURE]"}"#)
        }

        @Test("the value inside single quotes ('\\'' escapes) and double quotes is masked")
        func shellQuoted() {
            let value = #"it's "$HOME" `x`"#
            let single = "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
            let double = "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "$", with: "\\$").replacingOccurrences(of: "`", with: "\\`") + "\""
            #expect(Self.mask("+ echo \(single)", values: [("V", value)]) == "+ echo '[SECURE]'")
            #expect(Self.mask("+ echo \(double)", values: [("V", value)]) == "+ echo \"[SECURE]\"")
        }

        @Test("each line of a multi-line value is masked on its own; short lines are skipped")
        func multiLine() {
            let pem = "-----BEGIN KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEF\r\nAASCBKcwggSjAgEAAoIBAQC7\r\nab\r\n-----END KEY-----\r\n"
            let values = [(name: "TLS_KEY", value: pem)]
            #expect(Self.mask("key:\n" + pem, values: values) == "key:\n[SECURE]")
            // Printed line by line, with other line endings, or only partly.
            #expect(Self.mask("AASCBKcwggSjAgEAAoIBAQC7\nMIIEvQIBADANBgkqhkiG9w0BAQEF", values: values) == "[SECURE]\n[SECURE]")
            #expect(Self.mask("line ab here", values: values) == "line ab here")
            let (patterns, _, warnings) = MaskingPolicy().patterns(for: values)
            #expect(warnings.isEmpty)
            #expect(!patterns.contains(Array("ab".utf8)))
            // Neither is any encoding of a short line: base64 of "abc" is "YWJj", long enough on its own.
            let shortLine = MaskingPolicy().patterns(for: [(name: "K", value: "long enough line\nabc")])
            #expect(!shortLine.lineWrapped.contains(Array("YWJj".utf8)) && shortLine.patterns.contains(Array("long enough line".utf8)))
        }

        @Test("values shorter than the minimum are not masked; the warning names the secret, never the value")
        func minimumLength() {
            let values = [(name: "SHORT_TOKEN", value: "zq9"), (name: "db/password", value: "zq9x"), (name: "EMPTY_KEY", value: "")]
            let (patterns, _, warnings) = MaskingPolicy().patterns(for: values)
            #expect(warnings.map(\.name) == ["SHORT_TOKEN"])
            #expect(warnings.first?.reason == .tooShort(minimumLength: 4))
            let text = warnings.first?.description ?? ""
            #expect(text.contains("SHORT_TOKEN") && text.contains("4"))
            #expect(!text.contains("zq9"))
            #expect(patterns.contains(Array("zq9x".utf8)) && !patterns.contains(Array("zq9".utf8)))
            #expect(Self.mask("zq9 zq9x", values: values) == "zq9 [SECURE]")

            let strict = MaskingPolicy(.init(minimumLength: 8))
            #expect(strict.patterns(for: values).warnings.map(\.name) == ["SHORT_TOKEN", "db/password"])
        }

        @Test("encodings can be switched off")
        func encodingsConfigurable() {
            let value = "hunter22"
            let base64 = Data(value.utf8).base64EncodedString()
            let plain = MaskingPolicy(.init(encodings: []))
            #expect(plain.patterns(for: [("V", value)]).patterns == [Array(value.utf8)])
            #expect(plain.patterns(for: [("V", value)]).lineWrapped.isEmpty)
            #expect(Self.mask(base64, values: [("V", value)], policy: plain) == base64)
            #expect(Self.mask(base64, values: [("V", value)]) != base64)
        }

        @Test("a value with nothing to escape yields only the value and its base64 forms")
        func fewPatternsForPlainValues() {
            let (patterns, lineWrapped, _) = MaskingPolicy().patterns(for: [("V", "abcdefgh12345678")])
            // The value, and 3 alignments × 2 alphabets at most (identical ones merged).
            #expect(patterns == [Array("abcdefgh12345678".utf8)])
            #expect(lineWrapped.count <= 6)
        }

        @Test("environment variables ending in TOKEN, KEY, SECRET or PASSWORD are collected, in any case")
        func sensitiveEnvironment() {
            let environment = [
                "GITHUB_TOKEN": "t0ken-value", "AWS_SECRET_ACCESS_KEY": "k3y-value", "db_password": "pw-value",
                "CLIENT_SECRET": "s3cret", "PATH": "/usr/bin", "TOKEN_FILE": "/run/token", "HOME": "/root",
            ]
            let found = MaskingPolicy().sensitiveValues(in: environment)
            #expect(found.map(\.name) == ["AWS_SECRET_ACCESS_KEY", "CLIENT_SECRET", "GITHUB_TOKEN", "db_password"])
            #expect(found.map(\.value) == ["k3y-value", "s3cret", "t0ken-value", "pw-value"])

            let custom = MaskingPolicy(.init(sensitiveNameSuffixes: ["_FILE", ""]))
            #expect(custom.sensitiveValues(in: environment).map(\.name) == ["TOKEN_FILE"])
        }

        static func urlSafe(_ base64: String) -> String {
            base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
    }
}
