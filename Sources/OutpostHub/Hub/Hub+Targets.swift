import OutpostCore
import OutpostStore

/// Target operations shared by the API routes and the web console.
extension Hub {
    /// Validates and stores a new target; the hub sets its `created_at`.
    /// - Throws: `ValidationError` (400), `HubError` `.conflict` when the name is taken.
    func createTarget(_ body: Target) async throws -> Target {
        var target = body
        try InputValidation.validate(target: target)
        try await checkPinnedAgentTypes(of: target)
        target.createdAt = now()  // the hub owns the timestamp
        // Not `catch ... where`: Swift 6.3.1 crashes (MandatoryAllocBoxToStack) on a
        // non-exhaustive catch of a typed-throws call in this async function.
        do {
            try await store.insertTarget(target)
        } catch {
            if error.code == .conflict { throw HubError(.conflict, "a target named \"\(target.name)\" already exists") }
            throw error
        }
        return target
    }

    /// Replaces target `name`'s settings with `body`'s, validated as for a new target;
    /// it keeps its name and `created_at`. Tasks already submitted keep their own copy.
    /// - Throws: `ValidationError` (400) also when `body` names another target;
    ///   `HubError` `.notFound` for an unknown target.
    func updateTarget(named name: String, with body: Target) async throws -> Target {
        guard body.name == name else {
            throw ValidationError(
                field: "name",
                message: "the body names target \"\(body.name)\" but the path \"\(name)\"; a target cannot be renamed")
        }
        var target = body
        try InputValidation.validate(target: target)
        try await checkPinnedAgentTypes(of: target)
        guard let existing = try await store.target(named: name) else {
            throw HubError.notFound("no target named \"\(name)\"")
        }
        target.createdAt = existing.createdAt
        guard try await store.updateTarget(target) else {
            throw HubError.notFound("no target named \"\(name)\"")
        }
        return target
    }
}
