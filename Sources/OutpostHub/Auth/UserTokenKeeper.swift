import Synchronization

/// The user session tokens (JWTs) of tasks submitted with one, by task id.
///
/// Memory only, by design: a token is a bearer credential of a person, so it is
/// never written to the database, a log or a spool. The hub adds it to the task's
/// assignment when an agent claims the task and forgets it once the task ends. A
/// hub restart loses every token; `Hub.reload` rejects the tasks that needed one.
final class UserTokenKeeper: Sendable {
    private let tokens = Mutex<[String: String]>([:])

    func keep(_ token: String, forTask taskID: String) {
        tokens.withLock { $0[taskID] = token }
    }

    func token(forTask taskID: String) -> String? {
        tokens.withLock { $0[taskID] }
    }

    func forget(tasks taskIDs: [String]) {
        tokens.withLock { stored in
            for id in taskIDs { stored[id] = nil }
        }
    }

    var count: Int { tokens.withLock { $0.count } }
}
