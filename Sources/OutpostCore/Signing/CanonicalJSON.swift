/// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte spelling of a JSON
/// value that a task signature covers.
///
/// Guarantee: values equal as JSON (same members and elements, whatever the member
/// order, whitespace or escaping of the source) serialize to the same bytes, and
/// serializing a parsed canonical document gives back the same bytes. Members are
/// sorted by the UTF-16 code units of their names; strings are escaped as
/// ECMAScript's `JSON.stringify` escapes them (only `"`, `\` and controls, with the
/// short forms where they exist); no whitespace.
///
/// Numbers: only integers within ±(2^53 − 1) are accepted, written as ECMAScript
/// writes them. Outpost signs nothing else, and refusing fractions and exponents
/// here means no floating-point formatting can ever decide what was signed.
package enum CanonicalJSON {
    /// Largest magnitude of an integer that every JSON implementation reads exactly.
    package static let maxSafeInteger: Int64 = (1 << 53) - 1

    /// Why a value has no canonical form here: a duplicate member or an unsupported number.
    package struct Unsupported: Error, Sendable, Equatable, CustomStringConvertible {
        package var description: String
    }

    package static func encode(_ value: JSONValue) throws(Unsupported) -> [UInt8] {
        var output: [UInt8] = []
        try write(value, to: &output)
        return output
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8]) throws(Unsupported) {
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .number(let text): output += Array(try canonicalInteger(text).utf8)
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.key == next.key {
                throw Unsupported(description: "the member \"\(next.key)\" appears twice")
            }
            output.append(UInt8(ascii: "{"))
            for (index, member) in sorted.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                try write(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// `-0` becomes `0`; leading zeros, fractions and exponents are refused.
    private static func canonicalInteger(_ text: String) throws(Unsupported) -> String {
        guard let number = Int64(text), abs(number) <= maxSafeInteger,
            text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw Unsupported(description: "the number \(text) is not an integer within ±(2^53 - 1)")
        }
        return String(number)
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: output += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
