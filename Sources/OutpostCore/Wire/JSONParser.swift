/// A strict RFC 8259 parser: bytes in, `JSONValue` out, or an error saying where the
/// body stopped being JSON. Stricter than `JSONSerialization` where that matters for
/// an API: a key repeated in one object is refused (naming it) rather than silently
/// letting the last one win, invalid UTF-8 is refused rather than replaced, and nesting
/// is bounded so hostile input cannot exhaust the stack. Pure: no I/O, no Foundation,
/// safe to call from a fuzzer.
package struct JSONParser {
    /// Deepest nesting of arrays and objects accepted; API bodies need a handful.
    package static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0
    /// Where the parser is, for the one message that needs it (a duplicate key).
    private var path: [Step] = []

    private enum Step {
        case key(String)
        case index(Int)
    }

    /// Parses one JSON document (surrounding whitespace allowed, nothing else).
    package static func parse(_ input: some Sequence<UInt8>) throws(WireDecodingError) -> JSONValue {
        var parser = JSONParser(bytes: Array(input))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.malformed("unexpected data after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func malformed(_ what: String) -> WireDecodingError {
        WireDecodingError(.malformed, field: "", "the request body is not valid JSON: \(what) at byte \(index)")
    }

    /// `secrets[0].path` from the steps of `path`.
    private static func fieldName(_ steps: [Step]) -> String {
        var text = ""
        for step in steps {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func parseValue(depth: Int) throws(WireDecodingError) -> JSONValue {
        guard let byte = current else { throw malformed("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw malformed("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(WireDecodingError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw malformed("unexpected end of input") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw malformed("unexpected character") }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(WireDecodingError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw malformed("nesting deeper than \(Self.maxDepth) levels") }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw malformed("expected a string key") }
            let key = try parseString()
            guard seen.insert(key).inserted else {
                let field = Self.fieldName(path + [.key(key)])
                throw WireDecodingError(.duplicateKey, field: field, "duplicate key \"\(field)\" in the request body")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw malformed("expected ':' after a key") }
            index += 1
            skipWhitespace()
            path.append(.key(key))
            let value = try parseValue(depth: depth)
            path.removeLast()
            members.append((key, value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default: throw malformed("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(WireDecodingError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw malformed("nesting deeper than \(Self.maxDepth) levels") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            path.append(.index(elements.count))
            elements.append(try parseValue(depth: depth))
            path.removeLast()
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw malformed("expected ',' or ']' in an array")
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func parseNumber() throws(WireDecodingError) -> String {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            guard try digits() else { throw malformed("a number needs digits") }
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard try digits() else { throw malformed("a number needs digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard try digits() else { throw malformed("a number needs digits in its exponent") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func digits() throws(WireDecodingError) -> Bool {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index > start
    }

    private mutating func parseString() throws(WireDecodingError) -> String {
        index += 1
        // Fast path: most strings have no escapes and are taken straight from the input.
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            guard let text = String(validating: bytes[index..<end], as: UTF8.self) else {
                throw malformed("a string is not valid UTF-8")
            }
            index = end + 1
            return text
        }
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw malformed("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw malformed("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &utf8)
            case 0..<0x20:
                throw malformed("a control character inside a string must be escaped")
            default:
                utf8.append(byte)
                index += 1
            }
        }
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(WireDecodingError) {
        guard let byte = current else { throw malformed("unterminated string") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                else { throw malformed("an unpaired surrogate in a \\u escape") }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw malformed("an unpaired surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw malformed("an unpaired surrogate in a \\u escape") }
            UTF8.encode(unicode) { utf8.append($0) }
        default:
            throw malformed("an unknown escape in a string")
        }
    }

    private mutating func hex4() throws(WireDecodingError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("a \\u escape needs 4 hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
