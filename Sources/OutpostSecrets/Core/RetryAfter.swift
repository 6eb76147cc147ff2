package import Foundation

/// The `Retry-After` header of a 429 or 503 answer (RFC 9110 §10.2.3): a number of
/// seconds, or an HTTP date. `ManagedProvider` waits that long before its next retry.
package enum RetryAfter {
    /// The longest wait the agent honours: a store that asks for more is not retried
    /// (the task fails at once, saying what the store asked), so a task does not hang
    /// on a store that asks to come back in ten minutes.
    package static let longest: Duration = .seconds(30)

    /// The wait a `Retry-After` value asks for; `nil` when the value is neither form.
    /// A date in the past is a wait of zero.
    package static func parse(_ value: String?, now: Date = Date()) -> Duration? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) {
            // Ten digits or more is more than three centuries: it stays over `longest` anyway.
            return .seconds(Int64(text.prefix(9)) ?? 0)
        }
        guard let date = httpDate(text) else { return nil }
        let seconds = date.timeIntervalSince(now)
        return seconds <= 0 ? .zero : .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), and the two obsolete forms a
    /// recipient must also accept (RFC 850 and asctime).
    static func httpDate(_ text: String) -> Date? {
        // asctime pads the day with a space: `Sun Nov  6 08:49:37 1994`.
        let text = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// `1.5 s`, `30 s`.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        return milliseconds == 0 ? "\(seconds) s" : String(format: "%.1f s", Double(seconds) + Double(milliseconds) / 1000)
    }
}
