import Foundation
import Testing

@testable import OutpostHub

/// The console's text handling: escaping, URL encoding, forms, UTF-8 cuts, JSON strings.
@Suite struct ConsoleTextTests {
    @Test func interpolatedTextIsEscapedForElementsAndQuotedAttributes() {
        let name = #"<script>alert("x")</script> & 'y'"#
        let html: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(
            html.text
                == "<td title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</td>"
        )
    }

    @Test func htmlValuesAreKeptAsMarkup() {
        let inner: HTML = "<b>\("a<b")</b>"
        let outer: HTML = "<p>\(inner)\([inner, inner])</p>"
        #expect(outer.text == "<p><b>a&lt;b</b><b>a&lt;b</b><b>a&lt;b</b></p>")
    }

    @Test func urlEncodingRoundTripsThroughFormDecoding() throws {
        for value in ["a b+c", "ümlaut/?&=#%", "", "plain-Name_1.2~"] {
            #expect(URLText.decodeForm(Substring(URLText.encode(value))) == value)
        }
        #expect(URLText.decodeForm("a+b%20c") == "a b c")
        #expect(URLText.decodeForm("%zz") == nil)
        #expect(URLText.decodeForm("%e2%82") == nil)  // not UTF-8
        #expect(URLText.query([("a", "1"), ("b", ""), ("c", "x y")]) == "a=1&c=x%20y")
    }

    @Test func formsKeepRepeatedFieldsInOrder() throws {
        let form = try ConsoleForm(encoded: "secret_path=a&x=1&secret_path=b%2Fc&empty=&flag")
        #expect(form.all("secret_path") == ["a", "b/c"])
        #expect(form["x"] == "1")
        #expect(form["empty"] == "")
        #expect(form.text("empty") == nil)
        #expect(form["flag"] == "")
        #expect(form["missing"] == nil)
        #expect(throws: HubError.self) { try ConsoleForm(encoded: "name=%G0") }
    }

    @Test func utf8CutsNeverSplitACharacter() {
        let text = Array("aé€😀".utf8)  // 1 + 2 + 3 + 4 bytes
        for end in 0...text.count {
            let prefix = Array(text[..<end])
            let cut = UTF8Boundary.completePrefix(prefix)
            #expect(String(validating: prefix[..<cut], as: UTF8.self) != nil, "cut \(cut) of \(end) bytes")
            #expect(end - cut < 4)
            let whole = [0, 1, 3, 6, 10]
            if whole.contains(end) { #expect(cut == end) }
        }
    }

    @Test func jsonStringsEscapeQuotesControlsAndLineSeparators() throws {
        let value = "a\"b\\c\n\r\t\u{1b}[31m\u{2028}é"
        let json = JSONText.string(value)
        #expect(!json.contains("\n"))
        let decoded = try JSONDecoder().decode(String.self, from: Data(json.utf8))
        #expect(decoded == value)
    }

    @Test func flashMessagesSurviveTheirCookie() {
        let flash = ConsoleFlash.error("no target named \"x; y\"")
        #expect(ConsoleFlash(cookieValue: flash.cookieValue) == flash)
        #expect(!flash.cookieValue.contains(";"))
        #expect(ConsoleFlash(cookieValue: "zabc") == nil)
    }

    @Test func onlyConsolePathsAreFollowedBack() {
        #expect(Console.localPath("/agents/a-1") == "/agents/a-1")
        #expect(Console.localPath("//evil.example/") == nil)
        #expect(Console.localPath("https://evil.example/") == nil)
        #expect(Console.localPath("/\\evil") == nil)
    }
}
