/// One step of the schema's history.
///
/// Applied migrations are recorded in `schema_migrations(version, applied_at)`;
/// `migrate()` runs every newer one, in order, inside one transaction. A released
/// migration is never edited: change the schema by appending a new one. A new
/// table also goes into `StoreTable.all` (new columns need nothing more).
struct Migration: Sendable {
    /// Strictly increasing, starting at 1.
    var version: Int
    /// What it does, for logs.
    var name: String
    /// The statements to run, one per string (drivers prepare one statement at a time),
    /// spelled for the given dialect.
    var statements: @Sendable (StoreDialect) -> [String]
}

extension Migration {
    /// Every migration, oldest first.
    static let all: [Migration] = [
        initialSchema, fleetAndTrust, allowedTagsAndPinning, namedAPITokens, lateResults, clientCertificates,
        hotTables,
        replicaRelay,
        console,
        signedTasks,
    ]

    /// Timestamps are unix seconds as doubles, booleans are 0/1 integers, JSON is
    /// text: the same columns work on SQLite and PostgreSQL.
    static let initialSchema = Migration(version: 1, name: "initial schema") { d in
        [
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                created_at \(d.realType) NOT NULL
            )
            """,
            """
            CREATE TABLE agent_types (
                name TEXT PRIMARY KEY,
                registration_token_hash TEXT NOT NULL UNIQUE,
                created_at \(d.realType) NOT NULL,
                token_rotated_at \(d.realType) NOT NULL
            )
            """,
            // tags: JSON array; env: JSON object; secrets: JSON array of references (names only).
            """
            CREATE TABLE targets (
                name TEXT PRIMARY KEY,
                integration TEXT NOT NULL,
                tags TEXT NOT NULL,
                env TEXT NOT NULL,
                secrets TEXT NOT NULL,
                timeout_seconds \(d.integerType),
                created_at \(d.realType) NOT NULL
            )
            """,
            """
            CREATE TABLE agents (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                type TEXT NOT NULL REFERENCES agent_types (name),
                tags TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('online', 'busy', 'draining', 'offline')),
                version TEXT NOT NULL,
                os TEXT NOT NULL,
                concurrency \(d.integerType) NOT NULL,
                provider_fingerprint TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                registered_at \(d.realType) NOT NULL,
                last_seen_at \(d.realType) NOT NULL
            )
            """,
            // A name is held only while its agent is not offline; then it is free again.
            "CREATE UNIQUE INDEX agents_live_name ON agents (name) WHERE status <> 'offline'",
            // tags: the target's tag set as its comma-separated key (TagSet.description);
            // assignment: the TaskAssignment JSON handed to the agent (target snapshot, script).
            """
            CREATE TABLE tasks (
                id TEXT PRIMARY KEY,
                target TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN (
                    'queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'lost', 'rejected'
                )),
                tags TEXT NOT NULL,
                assignment TEXT NOT NULL,
                agent_id TEXT REFERENCES agents (id),
                agent_name TEXT,
                exit_code \(d.integerType),
                error TEXT,
                created_at \(d.realType) NOT NULL,
                assigned_at \(d.realType),
                started_at \(d.realType),
                finished_at \(d.realType),
                timeout_seconds \(d.integerType) NOT NULL,
                log_bytes \(d.integerType) NOT NULL DEFAULT 0,
                log_truncated \(d.integerType) NOT NULL DEFAULT 0,
                cancel_requested \(d.integerType) NOT NULL DEFAULT 0,
                created_by TEXT
            )
            """,
            "CREATE INDEX tasks_created_at ON tasks (created_at)",
            "CREATE INDEX tasks_status_created_at ON tasks (status, created_at)",
            "CREATE INDEX tasks_agent_status ON tasks (agent_id, status)",
            // One row per accepted append; `size` avoids dialect-specific length functions.
            """
            CREATE TABLE task_log_chunks (
                task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                byte_offset \(d.integerType) NOT NULL,
                size \(d.integerType) NOT NULL,
                data \(d.blobType) NOT NULL,
                PRIMARY KEY (task_id, byte_offset)
            )
            """,
        ]
    }

    /// Agent-type naming and admission rules, agent lifecycle flags and name
    /// reservations, and the user-token columns of tasks (never the token itself).
    static let fleetAndTrust = Migration(version: 2, name: "agent types, lifecycle, user tokens") { d in
        [
            "ALTER TABLE agent_types ADD COLUMN name_policy TEXT NOT NULL DEFAULT 'agent'",
            // JSON AWSNamingRules for the aws-sts policy.
            "ALTER TABLE agent_types ADD COLUMN aws_rules TEXT",
            "ALTER TABLE agent_types ADD COLUMN name_release_seconds \(d.realType) NOT NULL DEFAULT 0",
            "ALTER TABLE agent_types ADD COLUMN exclusive \(d.integerType) NOT NULL DEFAULT 0",
            "ALTER TABLE agent_types ADD COLUMN token_revoked \(d.integerType) NOT NULL DEFAULT 0",
            "ALTER TABLE agents ADD COLUMN aws_arn TEXT",
            "ALTER TABLE agents ADD COLUMN disconnect_after_job \(d.integerType) NOT NULL DEFAULT 0",
            "ALTER TABLE agents ADD COLUMN idle_timeout_seconds \(d.realType)",
            // Set when the agent goes offline with a type that reserves names.
            "ALTER TABLE agents ADD COLUMN name_reserved_until \(d.realType)",
            // "type|tags" for agents of exclusive types: one live holder per key.
            "ALTER TABLE agents ADD COLUMN exclusive_key TEXT",
            """
            CREATE UNIQUE INDEX agents_live_exclusive_key ON agents (exclusive_key)
            WHERE status <> 'offline' AND exclusive_key IS NOT NULL
            """,
            "CREATE INDEX agents_name ON agents (name)",
            // The provider-layout check at registration probes live agents by (tags, layout).
            """
            CREATE INDEX agents_live_tags_layout ON agents (tags, provider_fingerprint)
            WHERE status <> 'offline'
            """,
            "ALTER TABLE tasks ADD COLUMN user_token_required \(d.integerType) NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN user_subject TEXT",
        ]
    }

    /// Agent types' allowed tags and targets pinned to agent types (issue 11).
    static let allowedTagsAndPinning = Migration(version: 3, name: "allowed tags, targets pinned to agent types") { _ in
        [
            // JSON array of TagPattern. Types that exist at upgrade keep working: they allow
            // every tag ("*"), as before. New types always store their list explicitly.
            #"ALTER TABLE agent_types ADD COLUMN allowed_tags TEXT NOT NULL DEFAULT '["*"]'"#,
            // JSON arrays of agent-type names; empty: any type.
            "ALTER TABLE targets ADD COLUMN agent_types TEXT NOT NULL DEFAULT '[]'",
            // The target's pins when the task was queued, next to its `tags`, for the claim check.
            "ALTER TABLE tasks ADD COLUMN agent_types TEXT NOT NULL DEFAULT '[]'",
        ]
    }

    /// Named API tokens with roles: rotated in place, revoked (kept for the record,
    /// never matched again), and when each was last used.
    static let namedAPITokens = Migration(version: 4, name: "named API tokens") { d in
        [
            "ALTER TABLE api_tokens ADD COLUMN last_used_at \(d.realType)",
            "ALTER TABLE api_tokens ADD COLUMN revoked_at \(d.realType)",
            // A name identifies one live token (it is the tasks' created_by); a revoked
            // token's name may be given again.
            "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL",
        ]
    }

    /// The late result of a `lost` task whose agent came back: the verdict it reported,
    /// when, and where in the log the late bytes begin. The status stays `lost`.
    static let lateResults = Migration(version: 5, name: "late results of lost tasks") { d in
        [
            "ALTER TABLE tasks ADD COLUMN late_status TEXT",
            "ALTER TABLE tasks ADD COLUMN late_exit_code \(d.integerType)",
            "ALTER TABLE tasks ADD COLUMN late_finished_at \(d.realType)",
            "ALTER TABLE tasks ADD COLUMN late_log_offset \(d.integerType)",
        ]
    }

    /// Agent types whose agents must present a hub-issued client certificate (issue 12).
    static let clientCertificates = Migration(version: 6, name: "client certificates for agent types") { d in
        ["ALTER TABLE agent_types ADD COLUMN require_client_cert \(d.integerType) NOT NULL DEFAULT 0"]
    }

    /// Several hub replicas (issue 13): requests relayed to an agent through whichever
    /// replica holds its poll, with the agent's answer (secret names, never values);
    /// user tokens sealed for the replica that hands the task out.
    static let replicaRelay = Migration(version: 8, name: "requests relayed between hub replicas") { d in
        [
            """
            CREATE TABLE relay_requests (
                id TEXT PRIMARY KEY,
                agent_id TEXT NOT NULL,
                provider TEXT,
                prefix TEXT NOT NULL,
                answer TEXT,
                created_at \(d.realType) NOT NULL
            )
            """,
            "CREATE INDEX relay_requests_open ON relay_requests (created_at) WHERE answer IS NULL",
            // The submitter's user token sealed with the replicas' cluster key, until the task starts.
            "ALTER TABLE tasks ADD COLUMN sealed_user_token TEXT",
        ]
    }

    /// Signed tasks (issue 17): whether a task came with its submitter's signature (the
    /// envelope itself is part of the stored assignment), and the key id the agent
    /// verified it with.
    static let signedTasks = Migration(version: 10, name: "signed tasks") { d in
        [
            "ALTER TABLE tasks ADD COLUMN signed \(d.integerType) NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN signed_by TEXT",
            // `warn` mode: why the agent's check failed when it ran the task anyway.
            "ALTER TABLE tasks ADD COLUMN signature_warning TEXT",
            // The mode an agent type asks its agents to enforce, and the one each agent reported.
            "ALTER TABLE agent_types ADD COLUMN signed_tasks TEXT NOT NULL DEFAULT 'off'",
            "ALTER TABLE agents ADD COLUMN signed_tasks TEXT NOT NULL DEFAULT 'off'",
        ]
    }
}
