import Foundation
import OutpostCore
import OutpostStore

/// The task list's filter, as the form at the top of `/tasks` sends it and as the
/// `outpost_task_filter` cookie keeps it between visits.
struct ConsoleTaskFilter: Sendable, Equatable {
    var status: TaskStatus?
    var target: String?
    var agent: String?
    /// A user subject or the name of the API token that ran the task.
    var user: String?
    /// `from` ≤ created_at < `to`, read as UTC.
    var from: Date?
    var to: Date?

    static let cookieName = "outpost_task_filter"
    static let fields = ["status", "target", "agent", "user", "from", "to"]

    init(status: TaskStatus? = nil, target: String? = nil, agent: String? = nil, user: String? = nil, from: Date? = nil, to: Date? = nil) {
        self.status = status
        self.target = target
        self.agent = agent
        self.user = user
        self.from = from
        self.to = to
    }

    /// Reads the form's fields; a bad one is a 400 naming it.
    init(form: ConsoleForm) throws {
        if let text = form.text("status") {
            guard let status = TaskStatus(rawValue: text) else {
                let known = TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw HubError.invalid("status: unknown status \"\(text)\"; use one of \(known)")
            }
            self.status = status
        }
        target = form.text("target")
        agent = form.text("agent")
        user = form.text("user")
        from = try Self.time(form.text("from"), field: "from")
        to = try Self.time(form.text("to"), field: "to")
        for (name, value) in [("target", target), ("agent", agent), ("user", user)] where (value?.count ?? 0) > 256 {
            throw HubError.invalid("\(name): at most 256 characters")
        }
    }

    var isEmpty: Bool { self == ConsoleTaskFilter() }

    /// The fields as a query string (links, the cookie).
    var queryItems: [(String, String)] {
        [
            ("status", status?.rawValue ?? ""), ("target", target ?? ""), ("agent", agent ?? ""), ("user", user ?? ""),
            ("from", from.map(Self.inputValue) ?? ""), ("to", to.map(Self.inputValue) ?? ""),
        ]
    }

    /// The store queries that together make one page: a `user` matches either the
    /// user subject or the API token's name, so it takes two queries, merged.
    func queries(after cursor: TaskCursor?, limit: Int) -> [TaskQuery] {
        let base = TaskQuery(
            status: status, target: target, agent: agent, createdFrom: from, createdBefore: to, after: cursor,
            limit: limit)
        guard let user else { return [base] }
        var bySubject = base
        bySubject.userSubject = user
        var byToken = base
        byToken.createdBy = user
        return [bySubject, byToken]
    }

    /// Merges the answers of `queries` newest first, without duplicates, into one page of `size`.
    static func page(merging pages: [[TaskRecord]], size: Int) -> (items: [TaskRecord], next: TaskCursor?) {
        var seen = Set<String>()
        let merged = pages.joined()
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            .filter { seen.insert($0.id).inserted }
        let items = Array(merged.prefix(size))
        guard merged.count > size, let last = items.last else { return (items, nil) }
        return (items, TaskCursor(createdAt: last.createdAt, id: last.id))
    }

    /// `2026-12-07T12:30`, what `<input type="datetime-local">` shows and sends.
    static func inputValue(_ date: Date) -> String {
        let c = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// Reads `2026-12-07T12:30`, with optional seconds and an optional `Z`, as UTC.
    static func time(_ text: String?, field: String) throws -> Date? {
        guard var text else { return nil }
        if text.hasSuffix("Z") { text.removeLast() }
        let parts = text.split(separator: "T", omittingEmptySubsequences: false)
        let day = parts.first?.split(separator: "-", omittingEmptySubsequences: false).compactMap { Int($0) } ?? []
        let clock = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false) : []
        guard parts.count == 2, day.count == 3, (2...3).contains(clock.count) else {
            throw HubError.invalid("\(field): write a time as YYYY-MM-DDTHH:MM (UTC), not \"\(text.prefix(40))\"")
        }
        // Every number is checked against its range before it is used: a client sends them.
        let invalid = HubError.invalid("\(field): \"\(text.prefix(40))\" is not a valid date and time")
        guard let hour = Int(clock[0]), (0..<24).contains(hour), let minute = Int(clock[1]), (0..<60).contains(minute),
            (1...9999).contains(day[0])
        else { throw invalid }
        var second = 0.0
        if clock.count == 3 {
            guard let value = Double(clock[2]), value >= 0, value < 60 else { throw invalid }
            second = value
        }
        var components = DateComponents()
        components.year = day[0]
        components.month = day[1]
        components.day = day[2]
        components.hour = hour
        components.minute = minute
        guard components.isValidDate(in: Calendar.utc), let date = Calendar.utc.date(from: components) else { throw invalid }
        return date.addingTimeInterval(second)
    }
}
