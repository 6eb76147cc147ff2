package import Foundation
package import OutpostCore

/// Everything the hub persists, behind one protocol with an SQLite and (later) a
/// PostgreSQL implementation.
///
/// The methods are semantic (claim, append, finish), not generic SQL, so each
/// implementation can make them atomic its own way. State changes of tasks
/// follow `TaskStateMachine`: an implementation reads the current state, asks
/// the machine, and writes only if the state is still the one it read.
package protocol HubStore: Sendable {
    /// Brings the schema up to date. Safe to call on every start.
    func migrate() async throws(StoreError)
    /// Closes connections; no call may follow.
    func shutdown() async

    // MARK: API tokens

    /// - Throws: `.conflict` when a live token has the name (or the hash is taken).
    func insertAPIToken(_ token: APITokenRow) async throws(StoreError)
    /// A live (not revoked) token by its hash.
    func apiToken(hash: String) async throws(StoreError) -> APITokenRow?
    func countAPITokens() async throws(StoreError) -> Int
    /// Live tokens, ordered by name.
    func listAPITokens() async throws(StoreError) -> [APITokenRow]
    /// Gives the live token `name` a new hash; the old token stops working at once, and
    /// the console sessions signed in with it end.
    /// - Throws: `.notFound`.
    func rotateAPIToken(named name: String, newHash: String) async throws(StoreError) -> APITokenRow
    /// Revokes the live token `name` (kept, never matched again), in one statement
    /// that refuses to revoke the last live admin token.
    /// - Throws: `.notFound`; `.conflict` for the last admin token.
    func revokeAPIToken(named name: String, at: Date) async throws(StoreError) -> APITokenRow
    /// Records that the token authenticated a request.
    func recordAPITokenUse(id: String, at: Date) async throws(StoreError)

    // MARK: Console sessions

    /// - Throws: `.conflict` when the hash is taken; `.notFound` for an unknown token id.
    func insertConsoleSession(_ session: ConsoleSessionRow) async throws(StoreError)
    /// The session with this hash and its API token, when the session has not expired
    /// at `now` and the token is not revoked; otherwise `nil`.
    func consoleSession(idHash: String, now: Date) async throws(StoreError) -> (session: ConsoleSessionRow, token: APITokenRow)?
    /// Signs a session out (no error when it is already gone).
    func deleteConsoleSession(idHash: String) async throws(StoreError)
    /// Deletes sessions that expired before `cutoff`; returns how many.
    func deleteConsoleSessions(expiredBefore cutoff: Date) async throws(StoreError) -> Int

    // MARK: Agent types

    /// - Throws: `.conflict` when the name is taken.
    func insertAgentType(_ type: AgentType, registrationTokenHash: String) async throws(StoreError)
    func agentType(named name: String) async throws(StoreError) -> AgentType?
    func agentType(registrationTokenHash: String) async throws(StoreError) -> AgentType?
    func listAgentTypes() async throws(StoreError) -> [AgentType]
    /// Replaces the registration token; the old one stops working at once.
    /// `revoked` marks the new hash as one nobody holds (registration closed).
    /// - Throws: `.notFound`.
    func rotateAgentTypeToken(named name: String, newHash: String, revoked: Bool, at: Date) async throws(StoreError)
        -> AgentType
    /// Changes the fields of `change` that are set (the tags its agents may carry, the
    /// signed-task mode it asks for); the others stay.
    /// - Throws: `.notFound`.
    func updateAgentType(named name: String, _ change: AgentTypeChange) async throws(StoreError) -> AgentType

    // MARK: Targets

    /// - Throws: `.conflict` when the name is taken.
    func insertTarget(_ target: Target) async throws(StoreError)
    func target(named name: String) async throws(StoreError) -> Target?
    func listTargets() async throws(StoreError) -> [Target]
    /// Returns `false` when there was no such target. Tasks keep their own snapshot.
    func deleteTarget(named name: String) async throws(StoreError) -> Bool
    /// Replaces a target's integration, tags, agent types, env, secrets and timeout;
    /// keeps its name and `created_at`. Returns `false` when no target has that name.
    /// Tasks keep their own snapshot.
    func updateTarget(_ target: Target) async throws(StoreError) -> Bool

    // MARK: Agents

    /// Stores a registering agent after the admission checks, in one transaction:
    /// the name is not held by a live agent (`.conflict`) nor reserved
    /// (`.nameReserved`; an agent with the same verified AWS identity may reclaim it),
    /// `exclusiveKey` is not held by a live agent (`.exclusiveTagsHeld`), and every
    /// live agent with the same tag set reports the same provider layout
    /// (`.providerLayoutMismatch`).
    func insertAgent(_ agent: AgentRecord, tokenHash: String, exclusiveKey: String?) async throws(StoreError)
    func agent(tokenHash: String) async throws(StoreError) -> AgentRecord?
    func agent(id: String) async throws(StoreError) -> AgentRecord?
    /// Agents ordered by name; offline ones only when asked.
    func listAgents(includeOffline: Bool) async throws(StoreError) -> [AgentRecord]
    /// Writes heartbeat times (agent id → last seen) in one transaction, one statement
    /// per 500 agents. Only ever moves `last_seen_at` forward; unknown ids are skipped.
    func recordHeartbeats(_ lastSeen: [String: Date]) async throws(StoreError)
    /// Agents that are not offline and whose `last_seen_at` lies strictly before `cutoff`,
    /// oldest silence first: what the leader replica takes offline. Reads only live
    /// agents (a partial index), however many offline agents the table keeps.
    func agentsSilentSince(_ cutoff: Date) async throws(StoreError) -> [AgentRecord]
    func setAgentStatus(id: String, status: AgentRecord.Status) async throws(StoreError)
    /// Marks the agent offline (its name is free again, or reserved for its type's
    /// `name_release_seconds`) and its assigned or running tasks `lost` with
    /// `reason`. Returns the tasks it lost.
    func markAgentOffline(id: String, at: Date, reason: String) async throws(StoreError) -> [TaskRecord]
    /// Deletes offline agents last seen before `lastSeenBefore` whose name is no longer
    /// reserved at `now`; their tasks keep the agent's name but no longer point at its
    /// row. Returns the names deleted.
    func deleteOfflineAgents(lastSeenBefore: Date, now: Date) async throws(StoreError) -> [String]

    // MARK: Tasks

    /// `route` is what the task asks of its agent: `claimTask` checks it again (`Routing`).
    /// `sealedUserToken`: the submitter's token sealed with the replicas' cluster key
    /// (several replicas only); kept until the task starts or ends, never in clear.
    func insertTask(
        _ task: TaskRecord, assignment: TaskAssignment, route: TaskRoute, sealedUserToken: String?
    ) async throws(StoreError)
    /// The sealed user token of a claimed task not yet started (`nil`: none, or gone).
    func sealedUserToken(taskID: String) async throws(StoreError) -> String?
    func task(id: String) async throws(StoreError) -> TaskRecord?
    /// Newest first (ties by id, descending), optionally only one status; at most
    /// `limit`. Walks an index and stops after `limit` rows, however long the history.
    func listTasks(status: TaskStatus?, limit: Int) async throws(StoreError) -> [TaskRecord]
    /// One page of tasks, newest first (`created_at DESC, id DESC`), filtered by
    /// `query`, after its cursor. Keyset paging: each page walks one index from the
    /// cursor and stops after `limit` rows, however long the history and however deep
    /// the page; with one of `target`, `agent`, `createdBy` or `userSubject` it reads
    /// that column's index. `limit` below 1 returns an empty last page.
    func listTasks(_ query: TaskQuery) async throws(StoreError) -> TaskPage
    /// The stored assignment of a task (target snapshot, script, timeout) for showing
    /// and re-running it; `nil` for an unknown task. Never includes a user token.
    func taskAssignment(id: String) async throws(StoreError) -> TaskAssignment?
    /// Every queued task, oldest first: what the dispatcher reloads at start-up. Reads
    /// only queued tasks (a partial index), however many finished ones the table keeps.
    func queuedTasks() async throws(StoreError) -> [QueuedTask]
    /// The tasks among `ids` that are still queued, oldest first (another replica queued them).
    func queuedTasks(ids: [String]) async throws(StoreError) -> [QueuedTask]
    /// The stored assignment of a task this agent holds but has not started (the
    /// replica that claimed it died before the agent got it): sent again from here.
    /// `nil` when the task is not assigned to this agent.
    func pendingAssignment(taskID: String, agentID: String) async throws(StoreError) -> TaskAssignment?
    /// Every assigned or running task, oldest first: what the dispatcher and sweeper
    /// reload at start-up. Reads only those tasks (a partial index).
    func activeTasks() async throws(StoreError) -> [ActiveTask]
    /// Atomically moves a queued task to `assigned` for this agent. Returns its
    /// assignment, or `nil` when the task is no longer queued (claimed or cancelled):
    /// exactly one caller ever gets a task.
    /// - Throws: `.notFound`; `.forbidden` when `Routing` does not let this agent
    ///   (its type and tags) run the task: the task stays queued.
    func claimTask(id: String, agentID: String, agentName: String, at: Date) async throws(StoreError) -> TaskAssignment?
    /// `assigned → running`, sets `started_at` (and the verified user-token subject).
    /// Idempotent for a running task.
    /// - Throws: `.notFound`, `.forbidden` (another agent's task), `.conflict` (terminal).
    func startTask(id: String, agentID: String, submitter: VerifiedSubmitter, at: Date) async throws(StoreError) -> TaskRecord
    /// Queued or assigned tasks that need a user token the hub no longer holds (it
    /// restarted): they become `rejected` with `reason`. Returns them.
    func rejectTasksAwaitingUserToken(reason: String, at: Date) async throws(StoreError) -> [TaskRecord]
    /// Appends `bytes` at `offset`. A chunk the hub already has is not stored again;
    /// one that overlaps the end adds only its new tail. Returns the next offset.
    /// - Throws: `.logGap(expected:)` when `offset` is past the stored length,
    ///   `.notFound`, `.forbidden`, `.conflict` when the task is terminal. A `lost`
    ///   task still takes its agent's bytes (also from the agent's next session under
    ///   the same name and type) until its late result is in: see `lateLogOffset`.
    func appendLog(taskID: String, agentID: String, offset: Int64, bytes: [UInt8]) async throws(StoreError) -> Int64
    /// Marks the stored log as truncated (the agent or hub hit the cap).
    func markLogTruncated(taskID: String) async throws(StoreError)
    /// Reads up to `limit` bytes of log from `offset`.
    func readLog(taskID: String, offset: Int64, limit: Int) async throws(StoreError) -> LogSlice
    /// Applies the agent's final verdict. Idempotent: the same finish again returns
    /// the task unchanged.
    /// A verdict for a `lost` task is kept as its late result (status stays `lost`).
    /// - Throws: `.notFound`, `.forbidden`, `.conflict` (different verdict),
    ///   `.logIncomplete` (announced more log than stored).
    func finishTask(id: String, agentID: String, finish: FinishRequest, at: Date) async throws(StoreError) -> TaskRecord
    /// A queued task becomes `cancelled`; an assigned or running one gets
    /// `cancel_requested` (its agent is told on its next poll). Terminal: unchanged.
    /// - Throws: `.notFound`.
    func requestCancel(id: String, at: Date) async throws(StoreError) -> TaskRecord
    /// Running or assigned tasks whose start (or assignment) plus timeout plus
    /// `grace` lies before `now` become `timed_out`. Returns them.
    func timeOutOverdueTasks(now: Date, grace: TimeInterval) async throws(StoreError) -> [TaskRecord]

    // MARK: Requests relayed between replicas

    /// - Throws: `.conflict` when the id is taken.
    func insertRelayRequest(_ request: RelayRequest) async throws(StoreError)
    func relayRequest(id: String) async throws(StoreError) -> RelayRequest?
    func openRelayRequests() async throws(StoreError) -> [RelayRequest]
    func answerRelayRequest(id: String, agentID: String, answer: String) async throws(StoreError) -> Bool
    func deleteRelayRequest(id: String) async throws(StoreError)
    func deleteRelayRequests(createdBefore cutoff: Date) async throws(StoreError) -> Int

    // MARK: Retention

    /// Deletes at most `limit` finished tasks (any terminal status, `lost` included)
    /// whose `finished_at` — or `created_at` when it has none — lies strictly before
    /// `cutoff`, oldest first, with their log chunks, in one transaction. Queued,
    /// assigned and running tasks are never deleted, however old. Returns how many it
    /// deleted: call again while that equals `limit` to work through a backlog in
    /// bounded transactions. `limit` below 1 deletes nothing.
    func deleteFinishedTasks(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int
}

/// A stored API token (hashed).
package struct APITokenRow: Sendable, Equatable {
    package var id: String
    /// Shown as `created_by` of the tasks it submits.
    package var name: String
    package var hash: String
    package var role: String
    package var createdAt: Date
    /// When it last authenticated a request (written at most once a minute).
    package var lastUsedAt: Date?

    package init(id: String, name: String, hash: String, role: String, createdAt: Date, lastUsedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.hash = hash
        self.role = role
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

/// A signed-in browser session of the web console. The cookie's value is never
/// stored: only its SHA-256 hash (hex, as `TokenHasher` makes it).
package struct ConsoleSessionRow: Sendable, Equatable {
    package var idHash: String
    /// The API token the user signed in with (`api_tokens.id`): the session has its
    /// role, and dies with it.
    package var tokenID: String
    package var createdAt: Date
    package var expiresAt: Date

    package init(idHash: String, tokenID: String, createdAt: Date, expiresAt: Date) {
        self.idHash = idHash
        self.tokenID = tokenID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What the dispatcher keeps in memory of a queued task.
package struct QueuedTask: Sendable, Equatable {
    package var id: String
    package var route: TaskRoute
    package var createdAt: Date

    package init(id: String, route: TaskRoute, createdAt: Date) {
        self.id = id
        self.route = route
        self.createdAt = createdAt
    }

    /// A task whose target pins no agent type.
    package init(id: String, tags: TagSet, createdAt: Date) {
        self.init(id: id, route: TaskRoute(tags: tags), createdAt: createdAt)
    }

    package var tags: TagSet { route.tags }
}

/// An assigned or running task, as the dispatcher and sweeper see it.
package struct ActiveTask: Sendable, Equatable {
    package var id: String
    package var agentID: String
    package var status: TaskStatus
    package var cancelRequested: Bool

    package init(id: String, agentID: String, status: TaskStatus, cancelRequested: Bool) {
        self.id = id
        self.agentID = agentID
        self.status = status
        self.cancelRequested = cancelRequested
    }
}

/// A piece of a task's stored log.
package struct LogSlice: Sendable, Equatable {
    package var bytes: [UInt8]
    /// Where the next read should start.
    package var nextOffset: Int64
    /// Bytes stored so far in all.
    package var totalBytes: Int64
    package var truncated: Bool
    /// The task's status when the slice was read: a follower stops once it is terminal and drained.
    package var status: TaskStatus

    package init(bytes: [UInt8], nextOffset: Int64, totalBytes: Int64, truncated: Bool, status: TaskStatus) {
        self.bytes = bytes
        self.nextOffset = nextOffset
        self.totalBytes = totalBytes
        self.truncated = truncated
        self.status = status
    }
}

/// The one error type of the store.
package struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        case notFound
        case conflict
        case forbidden
        /// The log append left a hole; the store expects this offset next.
        case logGap(expected: Int64)
        /// The agent name is reserved after its last holder disconnected, until then.
        case nameReserved(until: Date)
        /// The agent type is exclusive and this live agent holds the tag set.
        case exclusiveTagsHeld(holder: String)
        /// This live agent shares the tag set with another provider layout.
        case providerLayoutMismatch(holder: String, layout: String)
        /// The database failed (I/O, corruption, connection).
        case database
        /// `finish` announced more log bytes than stored; the store holds `stored`.
        case logIncomplete(stored: Int64)
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

/// The common forms of the calls above.
extension HubStore {
    /// Stores an agent with no exclusive tag set.
    package func insertAgent(_ agent: AgentRecord, tokenHash: String) async throws(StoreError) {
        try await insertAgent(agent, tokenHash: tokenHash, exclusiveKey: nil)
    }

    /// Stores a task whose target pins no agent type.
    package func insertTask(_ task: TaskRecord, assignment: TaskAssignment, tags: TagSet) async throws(StoreError) {
        try await insertTask(task, assignment: assignment, route: TaskRoute(tags: tags))
    }

    /// Stores a task whose user token, if any, stays in the hub's memory.
    package func insertTask(_ task: TaskRecord, assignment: TaskAssignment, route: TaskRoute) async throws(StoreError) {
        try await insertTask(task, assignment: assignment, route: route, sealedUserToken: nil)
    }

    /// Starts a task that carried no user token.
    package func startTask(id: String, agentID: String, at: Date) async throws(StoreError) -> TaskRecord {
        try await startTask(id: id, agentID: agentID, submitter: .none, at: at)
    }

    /// Issues a new registration token.
    package func rotateAgentTypeToken(named name: String, newHash: String, at: Date) async throws(StoreError)
        -> AgentType
    {
        try await rotateAgentTypeToken(named: name, newHash: newHash, revoked: false, at: at)
    }
}

/// What `updateAgentType` changes: each field set replaces the stored one.
package struct AgentTypeChange: Sendable, Equatable {
    /// The tags the type's agents may carry (checked at registration).
    package var allowedTags: [TagPattern]?
    /// The signed-task mode its agents are asked to enforce.
    package var signedTasks: SignedTaskMode?

    package init(allowedTags: [TagPattern]? = nil, signedTasks: SignedTaskMode? = nil) {
        self.allowedTags = allowedTags
        self.signedTasks = signedTasks
    }
}
