import HTTPTypes
import Hummingbird
import OutpostCore
import OutpostStore

/// `/api/v1/tasks`: submit and cancel (operator), list and get, optionally waiting (reader).
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
            let task = try await hub.createTask(body, createdBy: try context.apiToken().name, userToken: userToken)
            return try .json(task, status: .created)
        }

        add(.get, "/api/v1/tasks", auth: .reader) { request, _ in
            var status: TaskStatus?
            if let text = try request.query("status") {
                guard let parsed = TaskStatus(rawValue: text) else {
                    let known = TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw HubError.invalid("unknown status \"\(text)\"; use one of \(known)")
                }
                status = parsed
            }
            let limit = try request.queryInt("limit", in: 1...1000) ?? 100
            return try .json(ListResponse(items: try await hub.store.listTasks(status: status, limit: Int(limit))))
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

extension HTTPField.Name {
    /// The submitter's user session token (JWT) on `POST /api/v1/tasks`.
    static let outpostUserToken = Self("X-Outpost-User-Token")!
}
