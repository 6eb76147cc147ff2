import Foundation
import OutpostCore

/// How the console writes times, durations, sizes and statuses. Times are UTC: a
/// fleet spans time zones, and the API and logs speak UTC too.
enum ConsoleFormat {
    /// `2026-12-07 12:30:05Z` in a `<time>` element whose `datetime` is exact.
    static func time(_ date: Date?) -> HTML {
        guard let date else { return "<span class=\"none\">—</span>" }
        return "<time datetime=\"\(iso(date))\">\(plain(date))</time>"
    }

    static func plain(_ date: Date) -> String {
        let c = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0,
            c.second ?? 0)
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false))
    }

    /// "just now", "4 s ago", "3 min ago", "2 h 5 min ago", "5 d 1 h ago".
    static func ago(_ date: Date, now: Date) -> String {
        let seconds = now.timeIntervalSince(date)
        return seconds < 1 ? "just now" : duration(seconds.rounded(.down)) + " ago"
    }

    /// "850 ms", "12 s", "3 min 4 s", "2 h 5 min", "3 d 4 h".
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int(seconds * 1000)) ms" }
        let s = Int(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60) min" : "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    /// How long a task ran (or has been running), or nothing before it started.
    static func runTime(of task: TaskRecord, now: Date) -> String {
        guard let started = task.startedAt else { return "" }
        return duration((task.finishedAt ?? now).timeIntervalSince(started))
    }

    /// "512 B", "3.2 KiB", "64.0 MiB".
    static func bytes(_ count: Int64) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// A status word in a badge coloured by what it means.
    static func status(_ status: TaskStatus, id: String? = nil, cssClass: String = "") -> HTML {
        let idAttribute: HTML = id.map { " id=\"\($0)\"" } ?? .empty
        return "<span\(idAttribute) class=\"status status-\(status.rawValue) \(cssClass)\">\(status.rawValue)</span>"
    }

    static func tags(_ tags: TagSet) -> HTML {
        let items = tags.description.split(separator: ",").map { "<span class=\"tag\">\(String($0))</span>" as HTML }
        return items.isEmpty ? "<span class=\"none\">untagged</span>" : items.joined()
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
