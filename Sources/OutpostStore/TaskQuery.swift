package import Foundation
package import OutpostCore

/// Which tasks a listing shows (every filter optional), and which page of them.
package struct TaskQuery: Sendable, Equatable {
    package var status: TaskStatus? = nil
    package var target: String? = nil
    /// The agent's name (`tasks.agent_name`).
    package var agent: String? = nil
    /// The API token name that submitted it (`tasks.created_by`).
    package var createdBy: String? = nil
    /// The verified user-token subject (`tasks.user_subject`).
    package var userSubject: String? = nil
    /// `created_at >= createdFrom`
    package var createdFrom: Date? = nil
    /// `created_at < createdBefore`
    package var createdBefore: Date? = nil
    /// Tasks strictly after this cursor in newest-first order (the next page).
    package var after: TaskCursor? = nil
    package var limit: Int = 100

    package init(
        status: TaskStatus? = nil, target: String? = nil, agent: String? = nil, createdBy: String? = nil,
        userSubject: String? = nil, createdFrom: Date? = nil, createdBefore: Date? = nil, after: TaskCursor? = nil,
        limit: Int = 100
    ) {
        self.status = status
        self.target = target
        self.agent = agent
        self.createdBy = createdBy
        self.userSubject = userSubject
        self.createdFrom = createdFrom
        self.createdBefore = createdBefore
        self.after = after
        self.limit = limit
    }
}

/// One page of a task listing.
package struct TaskPage: Sendable, Equatable {
    package var items: [TaskRecord]
    /// The cursor of the next page; `nil` when this page is the last.
    package var next: TaskCursor?

    package init(items: [TaskRecord], next: TaskCursor?) {
        self.items = items
        self.next = next
    }
}

/// Where a page of the task list stops: the last task shown (newest-first order is
/// `created_at DESC, id DESC`).
///
/// Its text is opaque and URL-safe: base64url of `<unix seconds>_<id>`, the seconds
/// written as the shortest decimal that reads back as the same `Double`, so the next
/// page starts exactly after the stored timestamp (ties broken by id).
package struct TaskCursor: Sendable, Equatable, CustomStringConvertible, LosslessStringConvertible {
    /// The instant as the store keeps it, unix seconds: a `Date` made by arithmetic may
    /// differ from every stored value in its last bit, and a cursor must name exactly one.
    private var unixSeconds: Double
    package var id: String

    package var createdAt: Date {
        get { Date(timeIntervalSince1970: unixSeconds) }
        set { unixSeconds = newValue.timeIntervalSince1970 }
    }

    /// Longest cursor text accepted: far above any real one (ids are short).
    static let maxTextLength = 1024

    package init(createdAt: Date, id: String) {
        self.unixSeconds = createdAt.timeIntervalSince1970
        self.id = id
    }

    /// The cursor that continues after `task`.
    package init(after task: TaskRecord) {
        self.init(createdAt: task.createdAt, id: task.id)
    }

    /// `created_at` as the listing binds it.
    var storedCreatedAt: Double { unixSeconds }

    package var description: String {
        Base64URL.encode(Array("\(unixSeconds)_\(id)".utf8))
    }

    /// Parses `description`; `nil` for anything else.
    package init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= Self.maxTextLength,
            let bytes = Base64URL.decode(text[...]),
            let plain = String(validating: bytes, as: UTF8.self),
            let separator = plain.firstIndex(of: "_")
        else { return nil }
        let id = String(plain[plain.index(after: separator)...])
        guard let seconds = Double(plain[..<separator]), seconds.isFinite, !id.isEmpty,
            !id.contains(where: { $0.isNewline || $0 == "\0" })
        else { return nil }
        self.unixSeconds = seconds
        self.id = id
    }
}
