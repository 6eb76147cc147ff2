extension Migration {
    /// The web console (issue 15): signed-in browser sessions, and the task list
    /// filtered by target, agent, submitter or user, newest first.
    ///
    /// Each filtered listing walks its own index backwards from its cursor and stops
    /// after one page, however long the history (see `Migration.hotTables` for why
    /// the indexes look as they do). None starts with `status`, so the dispatch
    /// path's queries keep their partial indexes: SQLite prefers an index it can
    /// search by equality, and none of these columns appears in those queries. A
    /// listing that filters by one of these columns and by status spells the status
    /// as a bound value, which no partial index matches, so it reads this index
    /// (`SQLHubStore.listingConditions`).
    static let console = Migration(version: 9, name: "console sessions and task filters") { d in
        [
            // id_hash: SHA-256 (hex) of the cookie's value, which is never stored.
            // A session has its API token's role and dies with it (revoked tokens stay in
            // api_tokens, so the reference always resolves).
            """
            CREATE TABLE console_sessions (
                id_hash TEXT PRIMARY KEY,
                token_id TEXT NOT NULL REFERENCES api_tokens (id),
                created_at \(d.realType) NOT NULL,
                expires_at \(d.realType) NOT NULL
            )
            """,
            // The leader's sweep deletes expired sessions.
            "CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at)",
            "CREATE INDEX tasks_target_created_id ON tasks (target, created_at, id)",
            "CREATE INDEX tasks_agent_name_created_id ON tasks (agent_name, created_at, id)",
            "CREATE INDEX tasks_created_by_created_id ON tasks (created_by, created_at, id)",
            "CREATE INDEX tasks_user_subject_created_id ON tasks (user_subject, created_at, id)",
        ]
    }
}
