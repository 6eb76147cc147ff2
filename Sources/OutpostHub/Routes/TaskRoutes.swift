import Foundation
import HTTPTypes
import Hummingbird
import OutpostCore
import OutpostStore

/// `/api/v1/tasks`: submit (and follow to the end with `?follow=true`) and cancel
/// (operator), list and get, optionally waiting (reader).
///
/// A task may carry its submitter's session token (JWT) in the `X-Outpost-User-Token`
/// header, for agents that enforce user tokens; the hub holds it in memory only.
extension RouteTable {
    /// Longest `?wait=` a client may ask for, in seconds.
    static let maxWaitSeconds = 60.0

    mutating func addTaskRoutes(hub: Hub) {
        add(.post, "/api/v1/tasks", auth: .operator) { request, context in
            let body = try await request.decodeJSON(
                CreateTaskRequest.self, limit: hub.configuration.maxScriptBytes + 64 * 1024)
            let userToken = try InputValidation.userToken(request.headers[.outpostUserToken])
            let follow = try request.queryBool("follow")
            let includeLog = try request.queryBool("log", default: true)
            let task = try await hub.createTask(body, createdBy: try context.apiToken().name, userToken: userToken)
            guard follow else { return try .json(task, status: .created) }
            return TaskRunStreaming.respond(hub: hub, task: task, includeLog: includeLog)
        }

        add(.get, "/api/v1/tasks", auth: .reader) { request, _ in
            let page = try await hub.store.listTasks(try request.taskQuery())
            return try .json(TaskListResponse(items: page.items, next: page.next?.description))
        }

        add(.get, "/api/v1/tasks/{id}", auth: .reader) { request, context in
            let id = try context.pathParameter("id")
            let wait = try request.querySeconds("wait", in: 0...Self.maxWaitSeconds) ?? 0
            let task = try await hub.waitForTask(id: id, until: .now + .milliseconds(Int64(wait * 1000)))
            return try .json(task)
        }

        add(.post, "/api/v1/tasks/{id}/cancel", auth: .operator) { _, context in
            let id = try context.pathParameter("id")
            return try .json(try await hub.cancelTask(id: id))
        }
    }
}

extension Request {
    /// The filters and page of `GET /api/v1/tasks`. An empty text value means no filter
    /// (as an HTML form sends a field left blank); a malformed one, or an empty status or
    /// time, is a 400 naming it.
    func taskQuery() throws -> TaskQuery {
        var query = TaskQuery()
        // An empty status is refused as before: the description's enum has no "".
        if let text = try self.query("status") {
            guard let status = TaskStatus(rawValue: text) else {
                let known = TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw HubError.invalid("unknown status \"\(text)\"; use one of \(known)")
            }
            query.status = status
        }
        query.target = try filter("target")
        query.agent = try filter("agent")
        query.createdBy = try filter("created_by")
        query.userSubject = try filter("user_subject")
        query.createdFrom = try timestamp("from")
        query.createdBefore = try timestamp("to")
        if let text = try filter("after") {
            guard let cursor = TaskCursor(text) else {
                throw HubError.invalid(
                    "query parameter \"after\" is not a cursor; pass the \"next\" value of the previous page unchanged")
            }
            query.after = cursor
        }
        query.limit = Int(try queryInt("limit", in: 1...1000) ?? 100)
        return query
    }

    /// A query parameter, `nil` when absent or empty.
    private func filter(_ name: String) throws -> String? {
        guard let text = try query(name), !text.isEmpty else { return nil }
        return text
    }

    /// An ISO 8601 timestamp query parameter (`2026-12-07T10:00:00Z`, fractions allowed).
    /// A time; unlike the other filters an empty value is refused, as the description's
    /// `date-time` format says.
    private func timestamp(_ name: String) throws -> Date? {
        guard let text = try query(name) else { return nil }
        guard let date = WireJSON.parseDate(text) else {
            throw HubError.invalid(
                "query parameter \"\(name)\" must be an ISO 8601 timestamp such as 2026-12-07T10:00:00Z")
        }
        return date
    }
}

extension HTTPField.Name {
    /// The submitter's user session token (JWT) on `POST /api/v1/tasks`.
    static let outpostUserToken = Self("X-Outpost-User-Token")!
}
