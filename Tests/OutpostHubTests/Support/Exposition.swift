/// A strict reader of the Prometheus text exposition format (0.0.4), written from
/// the format's description rather than from the library that writes it, so a
/// malformed or badly escaped line fails a test instead of being skipped.
struct Exposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct FormatError: Error, CustomStringConvertible {
        var line: String
        var reason: String
        var description: String { "\(reason): \(line.debugDescription)" }
    }

    private(set) var samples: [Sample] = []
    private(set) var help: [String: String] = [:]
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        var familiesSeen: [String] = []  // in order, to check each family is contiguous
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw FormatError(line: line, reason: "no text") }
                let name = String(rest[..<space])
                let value = String(rest[rest.index(after: space)...])
                guard Self.isMetricName(name) else { throw FormatError(line: line, reason: "bad metric name") }
                if line.hasPrefix("# HELP ") {
                    guard help[name] == nil else { throw FormatError(line: line, reason: "second HELP") }
                    help[name] = value
                } else {
                    guard types[name] == nil else { throw FormatError(line: line, reason: "second TYPE") }
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(value) else {
                        throw FormatError(line: line, reason: "unknown type")
                    }
                    types[name] = value
                }
                continue
            }
            if line.hasPrefix("#") { continue }
            let sample = try Self.parseSample(line)
            let family = family(of: sample.name)
            guard types[family] != nil else { throw FormatError(line: line, reason: "sample before its TYPE") }
            if familiesSeen.last != family {
                guard !familiesSeen.contains(family) else {
                    throw FormatError(line: line, reason: "family \(family) is not contiguous")
                }
                familiesSeen.append(family)
            }
            samples.append(sample)
        }
    }

    /// The value of the sample with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Every sample of a name.
    func samples(named name: String) -> [Sample] { samples.filter { $0.name == name } }

    private func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return name
    }

    private static func parseSample(_ line: String) throws -> Sample {
        var rest = Substring(line)
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { throw FormatError(line: line, reason: "bad metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                guard isLabelName(key) else { throw FormatError(line: line, reason: "bad label name") }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw FormatError(line: line, reason: "label without value") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let char = rest.popFirst() else { throw FormatError(line: line, reason: "open quote") }
                    if char == "\"" { break }
                    if char == "\\" {
                        switch rest.popFirst() {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw FormatError(line: line, reason: "bad escape")
                        }
                    } else {
                        value.append(char)
                    }
                }
                guard labels[key] == nil else { throw FormatError(line: line, reason: "repeated label") }
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " ", let value = Double(rest.dropFirst()) ?? infinity(rest.dropFirst()) else {
            throw FormatError(line: line, reason: "bad value")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func infinity(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        default: nil
        }
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" || first == ":" else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == ":" }
    }

    private static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
