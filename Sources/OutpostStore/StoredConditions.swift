/// The `WHERE` conditions of the partial indexes (`Migration.hotTables`), for the
/// queries that must read those indexes instead of the whole history.
///
/// A query can use a partial index only if its `WHERE` holds the index's condition
/// word for word (SQLite proves no implication beyond that), so the queries take these
/// strings rather than their own spelling. The migration keeps its own copy, as a
/// released migration never changes; `QueryPlanTests` fails when the two drift apart.
enum StoredConditions {
    /// Waiting for an agent: `tasks_queued`.
    static let queued = "status = 'queued'"
    /// Held by an agent: `tasks_active`, `tasks_active_agent`.
    static let active = "status IN ('assigned', 'running')"
    /// Finished, for listings by status: `tasks_finished_status`.
    static let finished = "status IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lost', 'rejected')"
    /// Finished, for retention: `tasks_finished`. Spelled apart from `finished` so a
    /// listing never picks the retention index, nor retention the listing one.
    static let expirable = "status NOT IN ('queued', 'assigned', 'running')"
    /// Waiting for a user token the hub holds in memory: `tasks_awaiting_user_token`.
    static let awaitingUserToken = "user_token_required = 1 AND status IN ('queued', 'assigned')"
    /// An agent that is not offline (alias `a`): `agents_live_last_seen` and the other live-agent indexes.
    static let liveAgent = "a.status <> 'offline'"
}
