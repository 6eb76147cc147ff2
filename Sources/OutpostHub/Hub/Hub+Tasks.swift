import Foundation
import Logging
import OutpostCore
import OutpostStore

/// Task operations shared by the routes, the sweeper and the runtime. Each keeps
/// the store, the dispatcher and the watchers in step.
extension Hub {
    /// Validates and queues a task; hands it to a waiting agent at once if one may run it.
    /// `userToken` (the submitter's session JWT) is kept in memory only, for the agent to verify.
    func createTask(_ request: CreateTaskRequest, createdBy: String?, userToken: String? = nil) async throws
        -> TaskRecord
    {
        try InputValidation.validate(task: request, maxScriptBytes: configuration.maxScriptBytes)
        guard let target = try await store.target(named: request.target) else {
            throw HubError.notFound("no target named \"\(request.target)\"; create it first (outpost target create)")
        }
        let timeout = request.timeoutSeconds ?? target.timeoutSeconds ?? configuration.defaultTaskTimeoutSeconds
        let now = now()
        let task = TaskRecord(
            id: request.id ?? Identifiers.make(prefix: "tsk"), target: target.name, createdAt: now,
            timeoutSeconds: timeout, createdBy: createdBy, userTokenRequired: userToken != nil,
            signed: request.signature != nil)
        // The signature goes to the agent exactly as the client sent it.
        let assignment = TaskAssignment(
            taskID: task.id, target: target, script: request.script, timeoutSeconds: timeout,
            signature: request.signature)
        try await store.insertTask(
            task, assignment: assignment, route: target.route, sealedUserToken: try sealForReplicas(userToken, taskID: task.id))
        if let userToken { userTokens.keep(userToken, forTask: task.id) }
        await dispatcher.enqueue(QueuedTask(id: task.id, route: target.route, createdAt: now))
        publish(.queued(taskID: task.id))
        return task
    }

    /// A user token sealed for the other replicas (several replicas), or `nil`: a hub
    /// alone keeps it in memory only.
    private func sealForReplicas(_ userToken: String?, taskID: String) throws -> String? {
        guard let userToken, isClustered else { return nil }
        guard let userTokenSeal else {
            throw HubError.invalid(
                "this hub runs as several replicas and has no cluster_key_file, so it cannot hand a user token to the "
                    + "replica an agent polls; configure the same cluster_key_file on every replica (docs/operations.md)")
        }
        return try userTokenSeal.seal(userToken, taskID: taskID)
    }

    /// The user token of a task this replica hands out: from memory when it was
    /// submitted here, else sealed in the store by the replica that took it.
    func userToken(forTask taskID: String) async -> String? {
        if let token = userTokens.token(forTask: taskID) { return token }
        guard isClustered, let userTokenSeal,
            let sealed = try? await store.sealedUserToken(taskID: taskID)
        else { return nil }
        guard let token = userTokenSeal.open(sealed, taskID: taskID) else {
            logger.error(
                "a sealed user token does not open with this replica's cluster key; do all replicas have the same cluster_key_file?",
                metadata: ["task": "\(taskID)"])
            return nil
        }
        return token
    }

    /// Cancels a queued task at once, or asks the agent holding it to stop it.
    func cancelTask(id: String) async throws -> TaskRecord {
        let task = try await store.requestCancel(id: id, at: now())
        if task.status.isTerminal {
            await tasksEnded([task])
        } else if task.cancelRequested {
            await dispatcher.requestCancel(task.id)
            watchers.notify(taskID: task.id)
            publish(.cancelRequested(taskID: task.id))
        }
        return task
    }

    /// Tasks became terminal: drop them from memory, wake their watchers, count them.
    func tasksEnded(_ tasks: [TaskRecord]) async {
        guard !tasks.isEmpty else { return }
        await dispatcher.tasksEnded(tasks.map(\.id), now: now())
        userTokens.forget(tasks: tasks.map(\.id))
        metrics.recordFinished(tasks)
        watchers.notify(taskIDs: tasks.map(\.id))
        publish(tasks.map { .ended(taskID: $0.id) })
    }

    /// Takes an agent offline (deregistered, or silent): its polls end, its token stops
    /// working, and the tasks it held become `lost` with `reason`.
    func takeAgentOffline(agentID: String, reason: String) async throws {
        _ = await dispatcher.retire(agentID: agentID)
        do {
            let lost = try await store.markAgentOffline(id: agentID, at: now(), reason: reason)
            publish(.agentOffline(agentID: agentID))
            await tasksEnded(lost)
            await dispatcher.finishRetiring(agentID: agentID)
        } catch {
            await dispatcher.finishRetiring(agentID: agentID)
            throw error
        }
    }

    /// Waits until the task is terminal or `deadline` passes, then returns it.
    func waitForTask(id: String, until deadline: ContinuousClock.Instant) async throws -> TaskRecord {
        let subscription = watchers.subscribe(taskID: id, statusOnly: true)
        defer { watchers.unsubscribe(subscription) }
        while true {
            guard let task = try await store.task(id: id) else { throw HubError.notFound("no task with id \"\(id)\"") }
            if task.status.isTerminal || ContinuousClock.now >= deadline || isShuttingDown || Task.isCancelled {
                return task
            }
            await watchers.wait(subscription, until: deadline)
        }
    }
}
