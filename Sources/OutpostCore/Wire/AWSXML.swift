import Foundation

/// Just enough XML for AWS Query-protocol answers (STS, IAM): the text of the
/// first element with a given name. Those answers are flat, machine-written
/// documents; a full parser would add a dependency for nothing.
///
/// In the core because both sides read STS answers: the agent's credential
/// chain (`AssumeRole`) and the hub's check of an agent's AWS identity.
package enum AWSXML {
    /// The decoded text of the first `<name>…</name>` (or `<name attr="…">…</name>`).
    package static func firstValue(of name: String, in xml: String) -> String? {
        var searchStart = xml.startIndex
        while let open = xml.range(of: "<\(name)", range: searchStart..<xml.endIndex) {
            guard let close = xml[open.upperBound...].firstIndex(of: ">") else { return nil }
            let between = xml[open.upperBound..<close]
            // `<NameSuffix>` is another element; `<Name/>` is empty.
            if let first = between.first, first != " ", first != "/" {
                searchStart = close
                continue
            }
            if between.hasSuffix("/") { return "" }
            let contentStart = xml.index(after: close)
            guard let end = xml.range(of: "</\(name)>", range: contentStart..<xml.endIndex) else { return nil }
            return decodeEntities(String(xml[contentStart..<end.lowerBound]))
        }
        return nil
    }

    /// The text of every `<name>…</name>`, in document order.
    package static func allValues(of name: String, in xml: String) -> [String] {
        var values: [String] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<\(name)>") {
            guard let end = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) else { break }
            values.append(decodeEntities(String(rest[open.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return values
    }

    /// Replaces the five predefined entities and numeric character references.
    package static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "&", let semicolon = text[index...].firstIndex(of: ";"),
                text.distance(from: index, to: semicolon) <= 10
            else {
                out.append(character)
                index = text.index(after: index)
                continue
            }
            let entity = text[text.index(after: index)..<semicolon]
            var replacement: String?
            switch entity {
            case "amp": replacement = "&"
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    replacement = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
                } else if entity.hasPrefix("#") {
                    replacement = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
                }
            }
            if let replacement {
                out += replacement
                index = text.index(after: semicolon)
            } else {
                out.append(character)
                index = text.index(after: index)
            }
        }
        return out
    }

    /// `&`, `<`, `>`, `"`, `'` escaped, for values put into a document (test fixtures).
    package static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
