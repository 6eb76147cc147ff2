extension Migration {
    /// Issue 13, "keep the hot tables hot": years of finished tasks must not slow the
    /// hub. The queries that run for every task (queue, claim, running counts,
    /// timeouts) and for every heartbeat sweep read partial indexes that hold only
    /// unfinished tasks and live agents, so their cost follows the work in flight, not
    /// the history. Listings walk an index in their own order, newest first, without
    /// sorting; retention finds the oldest finished tasks without a scan.
    ///
    /// A query can use a partial index only if its `WHERE` repeats the index's condition
    /// word for word: SQLite proves nothing cleverer, and without statistics it prefers
    /// any index it can search by equality. So no index here starts with `status` over
    /// all rows (it would win over the partial ones), and the finished-task indexes for
    /// listing and for retention use different spellings of "finished" so that each
    /// query meets exactly one. `QueryPlanTests` fails when a query stops using its index.
    static let hotTables = Migration(version: 7, name: "partial indexes of unfinished tasks and live agents") { _ in
        [
            // Replaced below: a full index on status would be preferred to the partial ones.
            "DROP INDEX tasks_status_created_at",
            "DROP INDEX tasks_agent_status",
            "DROP INDEX tasks_created_at",
            // The queue, oldest first (dispatcher reload; listing queued tasks).
            "CREATE INDEX tasks_queued ON tasks (created_at, id) WHERE status = 'queued'",
            // Assigned or running tasks, oldest first (reloads, timeouts; listing them). `status`
            // last: a listing of one of the two filters in the index, so SQLite prefers it.
            "CREATE INDEX tasks_active ON tasks (created_at, id, status) WHERE status IN ('assigned', 'running')",
            // One agent's assigned or running tasks: its running count reads only this index.
            "CREATE INDEX tasks_active_agent ON tasks (agent_id, status) WHERE status IN ('assigned', 'running')",
            // Tasks that wait for a user token (rejected when the hub restarts without it).
            """
            CREATE INDEX tasks_awaiting_user_token ON tasks (created_at, id)
            WHERE user_token_required = 1 AND status IN ('queued', 'assigned')
            """,
            // Listings: all tasks, and finished tasks of one status, walked newest first.
            "CREATE INDEX tasks_created_id ON tasks (created_at, id)",
            """
            CREATE INDEX tasks_finished_status ON tasks (status, created_at, id)
            WHERE status IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lost', 'rejected')
            """,
            // Retention: finished tasks by the time they ended, oldest first.
            """
            CREATE INDEX tasks_finished ON tasks ((COALESCE(finished_at, created_at)))
            WHERE status NOT IN ('queued', 'assigned', 'running')
            """,
            // Deleting an agent visits all its tasks (the foreign key check, unlinking its history).
            "CREATE INDEX tasks_agent ON tasks (agent_id)",
            // The leader's sweep for live agents that went silent, without the offline history.
            "CREATE INDEX agents_live_last_seen ON agents (last_seen_at, id) WHERE status <> 'offline'",
        ]
    }
}
