/// Parses human durations: `90s`, `5m`, `1h30m`, `250ms`, `2d`, or a bare number of seconds.
package enum DurationParser {
    /// Returns the duration in seconds.
    package static func seconds(_ text: String) throws(ValidationError) -> Double {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw invalid(text) }
        if let plain = Double(trimmed) {
            guard plain >= 0, plain.isFinite else { throw invalid(text) }
            return plain
        }
        var total = 0.0
        var number = ""
        var unit = ""
        func flush() throws(ValidationError) {
            guard let value = Double(number), !unit.isEmpty else { throw invalid(text) }
            let scale: Double
            switch unit {
            case "ms": scale = 0.001
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            default: throw invalid(text)
            }
            total += value * scale
            number = ""
            unit = ""
        }
        for ch in trimmed {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { try flush() }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { throw invalid(text) }
                unit.append(ch)
            } else {
                throw invalid(text)
            }
        }
        try flush()
        return total
    }

    /// Formats seconds the way `seconds(_:)` reads them (`1h30m`, `45s`, `250ms`).
    package static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var rest = Int(seconds.rounded())
        var parts: [String] = []
        for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.isEmpty ? "0s" : parts.joined()
    }

    private static func invalid(_ text: String) -> ValidationError {
        ValidationError(
            field: "duration",
            message: "\"\(text)\" is not a duration; use a number of seconds or forms like 90s, 5m, 1h30m, 250ms"
        )
    }
}

extension String {
    package func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
