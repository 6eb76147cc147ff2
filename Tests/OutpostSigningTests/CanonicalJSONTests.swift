import OutpostCore
import OutpostTestSupport
import PropertyBased
import Testing

/// RFC 8785's own examples, and the guarantee of `CanonicalJSON`: one spelling per value.
@Suite("Canonical JSON (RFC 8785)")
struct CanonicalJSONTests {
    private func canonical(_ json: String) throws -> String {
        String(decoding: try CanonicalJSON.encode(try JSONParser.parse(Array(json.utf8))), as: UTF8.self)
    }

    @Test("members sort by UTF-16 code units (RFC 8785 §3.2.3's example)")
    func sorting() throws {
        // The RFC's sorting example: "\u20ac" (€), "\r", "\ufb33", "1", "\ud83d\ude00" (😀), "\u0080", "\u00f6".
        let input = #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
        let expectedOrder = ["\r", "1", "\u{0080}", "\u{00F6}", "\u{20AC}", "\u{1F600}", "\u{FB33}"]
        let output = try canonical(input)
        guard case .object(let members) = try JSONParser.parse(Array(output.utf8)) else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == expectedOrder)
        #expect(output.hasPrefix(#"{"\r":"Carriage Return","1":"One","#))
    }

    @Test("strings are escaped as ECMAScript does (RFC 8785 §3.2.2.2)")
    func escaping() throws {
        // The RFC's example: control characters, quotes, backslash, non-ASCII kept literal.
        #expect(try canonical(#"["\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"]"#) == "[\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"]")
        #expect(try canonical(#""\b\f\t\r\u0000\u001f\u007f\u2028""#) == "\"\\b\\f\\t\\r\\u0000\\u001f\u{7F}\u{2028}\"")
    }

    @Test("whitespace goes, literals stay, nesting keeps array order")
    func structure() throws {
        #expect(try canonical(#" { "b" : [ 3 , 1 , { "z":null, "a":true } ], "a" : false } "#) == #"{"a":false,"b":[3,1,{"a":true,"z":null}]}"#)
    }

    @Test("integers are written as ECMAScript writes them; anything else is refused")
    func numbers() throws {
        #expect(try canonical("[0,-0,1,-1,9007199254740991,-9007199254740991]") == "[0,0,1,-1,9007199254740991,-9007199254740991]")
        for refused in ["[1.5]", "[1e3]", "[9007199254740992]", "[1.0]"] {
            #expect(throws: CanonicalJSON.Unsupported.self, "\(refused)") { try canonical(refused) }
        }
    }

    @Test("a repeated member has no canonical form")
    func duplicates() {
        let value = JSONValue.object([("a", .number("1")), ("a", .number("2"))])
        #expect(throws: CanonicalJSON.Unsupported.self) { try CanonicalJSON.encode(value) }
    }

    @Test("property: any member order gives the same bytes, and canonical output is a fixed point")
    func orderIndependence() async {
        await propertyCheck(input: Gen.int(in: 0...1_000_000)) { seed in
            var random = JSONValueSource(seed: UInt64(seed))
            let value = random.value(depth: 3)
            let shuffled = random.shuffled(value)
            let bytes = try? CanonicalJSON.encode(value)
            #expect(bytes != nil)
            #expect(bytes == (try? CanonicalJSON.encode(shuffled)))
            if let bytes {
                #expect((try? CanonicalJSON.encode(try JSONParser.parse(bytes))) == bytes)
            }
        }
    }
}

/// Random JSON values (unique keys, integers only) for the property test.
private struct JSONValueSource {
    private var random: SeededRandom
    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    private mutating func below(_ bound: Int) -> Int { Int.random(in: 0..<bound, using: &random) }

    mutating func string() -> String {
        let alphabet: [Character] = ["a", "Z", "0", "\"", "\\", "\n", "\u{1}", "é", "€", "😀", "\u{FB33}", " "]
        return String((0..<below(6)).map { _ in alphabet[below(alphabet.count)] })
    }

    mutating func value(depth: Int) -> JSONValue {
        switch depth == 0 ? below(4) : below(6) {
        case 0: return .null
        case 1: return .bool(below(2) == 0)
        case 2: return .number(String(Int64(below(2_000_001)) - 1_000_000))
        case 3: return .string(string())
        case 4: return .array((0..<below(4)).map { _ in value(depth: depth - 1) })
        default:
            var keys: Set<String> = []
            for _ in 0..<below(5) { keys.insert(string()) }
            return .object(keys.sorted().map { ($0, value(depth: depth - 1)) })
        }
    }

    mutating func shuffled(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var reordered = members.map { (key: $0.key, value: shuffled($0.value)) }
            for index in reordered.indices.reversed() where index > 0 { reordered.swapAt(index, below(index + 1)) }
            return .object(reordered)
        case .array(let elements): return .array(elements.map { shuffled($0) })
        default: return value
        }
    }
}
