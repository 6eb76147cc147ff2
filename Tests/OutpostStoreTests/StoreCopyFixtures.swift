import Foundation
import OutpostCore
import OutpostTestSupport
import SQLKit
import Testing

@testable import OutpostStore

/// A time with a fraction that is not a short decimal: a copy that rounds or goes
/// through text anywhere loses its last bits.
func fractional(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds + 0.123_456_789_012) }

/// What `seedEveryKindOfRow` wrote that only a hash or an id finds again.
struct SeededHub {
    /// Live API tokens' hashes, and one revoked token's (found by neither database).
    var apiTokenHashes: [String]
    var revokedAPITokenHash: String
    /// Current registration token hashes of the agent types.
    var registrationHashes: [String]
    /// Every agent's token hash.
    var agentTokenHashes: [String]
    /// Tasks with a stored log.
    var loggedTasks: [String]
    /// A running task with a log, and a queued task: the copy must leave them workable.
    var runningTask: (id: String, agentID: String)
    var queuedTask: String
}

/// Every byte value once, then back down: a log that text handling anywhere would mangle.
let everyByte: [UInt8] = Array(0...255) + Array((0...255).reversed())

extension SQLHubStore {
    /// Writes every kind of row the hub keeps, through the store's own API as the hub
    /// does: tokens (live, rotated, revoked, used), agent types (allowed tags, client
    /// certificates, exclusive, AWS naming, revoked registration), targets with pins and
    /// secrets, agents (live, offline with a reserved name), tasks in every status (one
    /// lost with a late result, one rejected, one with a cancel request) and logs of
    /// several chunks, binary and truncated.
    func seedEveryKindOfRow() async throws -> SeededHub {
        // API tokens.
        try await insertAPIToken(APITokenRow(id: "tok_admin", name: "admin", hash: "hash-admin", role: "admin", createdAt: t0))
        try await insertAPIToken(
            APITokenRow(id: "tok_ci", name: "ci", hash: "hash-ci-old", role: "operator", createdAt: fractional(1)))
        _ = try await rotateAPIToken(named: "ci", newHash: "hash-ci")
        try await recordAPITokenUse(id: "tok_ci", at: fractional(2))
        try await insertAPIToken(APITokenRow(id: "tok_old", name: "old", hash: "hash-old", role: "reader", createdAt: t0))
        _ = try await revokeAPIToken(named: "old", at: fractional(3))

        // Console sessions: a live one and one of the revoked token (found by neither database).
        try await insertConsoleSession(
            ConsoleSessionRow(idHash: "session-admin", tokenID: "tok_admin", createdAt: fractional(3), expiresAt: fractional(3603)))
        try await insertConsoleSession(
            ConsoleSessionRow(idHash: "session-old", tokenID: "tok_old", createdAt: t0, expiresAt: fractional(3600)))

        // Agent types; "default" comes with the first seeded agent.
        try await insertAgentType(
            AgentType(
                name: "pinned", nameReleaseSeconds: 300.5, exclusive: true,
                allowedTags: [try TagPattern("prod"), try TagPattern("team-*")], createdAt: fractional(4),
                tokenRotatedAt: fractional(4), requireClientCertificate: true),
            registrationTokenHash: "reg-hash-pinned-old")
        _ = try await rotateAgentTypeToken(named: "pinned", newHash: "reg-hash-pinned", at: fractional(5))
        try await insertAgentType(
            AgentType(
                name: "aws", namePolicy: .awsSTS, aws: AWSNamingRules(accountID: "123456789012", allowedRoles: ["ops"]),
                allowedTags: [try TagPattern("*")], createdAt: t0, tokenRotatedAt: t0),
            registrationTokenHash: "reg-hash-aws-old")
        _ = try await rotateAgentTypeToken(named: "aws", newHash: "reg-hash-aws", revoked: true, at: fractional(6))

        // Targets.
        try await insertTarget(
            Target(
                name: "orders", integration: "bash", tags: TagSet(["prod", "eu"]), agentTypes: ["pinned"],
                env: ["PGDATABASE": "orders", "EMPTY": ""],
                secrets: [SecretReference(provider: "vault", path: "kv/orders", mapping: ["PGPASSWORD": "password"])],
                timeoutSeconds: 120, createdAt: fractional(7)))
        try await insertTarget(Target(name: "local", integration: "bash", createdAt: t0))

        // Tasks in every status the hub reaches by itself, each with its own agent; timed
        // out first, as timing it out times out every task started before it.
        var agentIDs: [String] = []
        for status in [.timedOut] + TaskStatus.allCases.filter({ $0 != .timedOut && $0 != .rejected }) {
            let (_, agentID) = try await seedTask(in: status, at: fractional(Double(agentIDs.count)))
            if let agentID { agentIDs.append(agentID) }
        }
        // Rejected: it waited for a user token the hub no longer held.
        let waiting = TaskRecord(
            id: "tsk_waiting", target: "local", createdAt: t0, timeoutSeconds: 60, createdBy: "ci", userTokenRequired: true)
        try await insertTask(
            waiting, assignment: TaskAssignment(taskID: waiting.id, target: Target(name: "local", integration: "bash"),
                script: "echo needs a token", timeoutSeconds: 60), tags: .empty)
        _ = try await rejectTasksAwaitingUserToken(reason: "the hub restarted", at: fractional(8))
        // Queued on the pinned target: the task keeps the pins for the claim check.
        let orders = try #require(await target(named: "orders"))
        let queued = TaskRecord(id: "tsk_orders", target: "orders", createdAt: fractional(9), timeoutSeconds: 120, createdBy: "ci")
        try await insertTask(
            queued, assignment: TaskAssignment(taskID: queued.id, target: orders, script: "psql -c 'select 1'", timeoutSeconds: 120),
            route: orders.route)

        // A running task with a cancel request and a log of several chunks, binary included.
        let (running, runningAgent) = try await seedTask(in: .running, at: fractional(10))
        let runner = try #require(runningAgent)
        var offset: Int64 = 0
        for chunk in [Array("starting\n".utf8), everyByte, [0x00], Array("\r\nend".utf8)] {
            offset = try await appendLog(taskID: running.id, agentID: runner, offset: offset, bytes: chunk)
        }
        _ = try await requestCancel(id: running.id, at: fractional(11))

        // A truncated log on a finished task.
        let (truncated, truncatedAgent) = try await seedTask(in: .running)
        _ = try await appendLog(taskID: truncated.id, agentID: try #require(truncatedAgent), offset: 0, bytes: everyByte)
        try await markLogTruncated(taskID: truncated.id)
        _ = try await finishTask(
            id: truncated.id, agentID: try #require(truncatedAgent),
            finish: FinishRequest(status: .failed, exitCode: 2, error: "exit status 2", logBytes: Int64(everyByte.count)),
            at: fractional(12))

        // Lost, then the agent's next session delivers the rest of the log and its verdict.
        let (lost, lostAgentID) = try await seedTask(in: .running)
        let lostAgentIDValue = try #require(lostAgentID)
        let lostAgent = try #require(await agent(id: lostAgentIDValue))
        _ = try await appendLog(taskID: lost.id, agentID: lostAgent.id, offset: 0, bytes: Array("before ".utf8))
        _ = try await markAgentOffline(id: lostAgent.id, at: fractional(13), reason: "agent stopped sending heartbeats")
        let back = try await seedAgent(name: lostAgent.name, at: fractional(14))
        _ = try await appendLog(taskID: lost.id, agentID: back.id, offset: 7, bytes: [0xFF, 0x00, 0x41])
        _ = try await finishTask(
            id: lost.id, agentID: back.id, finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 10),
            at: fractional(15))

        // An agent of the exclusive type, then offline: its name stays reserved.
        let pinnedAgent = AgentRecord(
            id: "agt_pinned", name: "pinned-1", type: "pinned", tags: TagSet(["prod"]), status: .online, version: "1.2.3",
            os: "linux", concurrency: 4, providerFingerprint: "vault", registeredAt: fractional(16), lastSeenAt: fractional(17),
            awsARN: "arn:aws:sts::123456789012:assumed-role/ops/i-0abc", disconnectAfterJob: true, idleTimeoutSeconds: 12.75)
        try await insertAgent(pinnedAgent, tokenHash: "agent-hash-pinned", exclusiveKey: "pinned|prod")
        _ = try await markAgentOffline(id: pinnedAgent.id, at: fractional(18), reason: "agent disconnected")
        try await recordHeartbeats([runner: fractional(19)])

        let agents = try await listAgents(includeOffline: true)
        return SeededHub(
            apiTokenHashes: ["hash-admin", "hash-ci"], revokedAPITokenHash: "hash-old",
            registrationHashes: ["reg-hash-default", "reg-hash-pinned", "reg-hash-aws"],
            agentTokenHashes: ["agent-hash-pinned"] + agents.filter { $0.id != pinnedAgent.id }.map { "token-hash-\($0.id)" },
            loggedTasks: [running.id, truncated.id, lost.id], runningTask: (running.id, runner), queuedTask: queued.id)
    }

    /// Every row of every table, each value in its stored form, sorted (the two
    /// databases order text differently): equal dumps mean equal databases.
    func dump() async throws -> [String: [[StoredCell]]] {
        try await read("dumping") { db in
            let endpoint = CopyEndpoint(db: db, dialect: dialect)
            var tables: [String: [[StoredCell]]] = [:]
            for table in StoreTable.all {
                let columns = try await endpoint.columns(of: table.name).sorted { $0.name < $1.name }
                // A table a later migration adds is absent from an older schema.
                if columns.isEmpty { continue }
                let rows = try await db.raw("SELECT * FROM \(ident: table.name)").all()
                tables[table.name] = try rows.map { row in
                    try columns.map { column in try StoredCell(row, column) }
                }.sorted { "\($0)" < "\($1)" }
            }
            return tables
        }
    }
}

/// One stored value, compared exactly: doubles by their bits, bytes as bytes.
enum StoredCell: Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(bits: UInt64)
    case text(String)
    case blob([UInt8])

    init(_ row: any SQLRow, _ column: StoredColumn) throws {
        if try row.decodeNil(column: column.name) {
            self = .null
            return
        }
        switch column.kind {
        case .integer: self = .integer(try row.decode(column: column.name, as: Int64.self))
        case .real: self = .real(bits: try row.decode(column: column.name, as: Double.self).bitPattern)
        case .text: self = .text(try row.decode(column: column.name, as: String.self))
        case .blob: self = .blob(Array(try row.decode(column: column.name, as: Data.self)))
        }
    }

    var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): "\(value)"
        case .real(let bits): "r\(bits)"
        case .text(let text): text.debugDescription
        case .blob(let bytes): "x\(bytes.map { String($0, radix: 16) }.joined())"
        }
    }
}

/// An in-memory SQLite store (migrated unless asked not to) and a PostgreSQL store on a
/// new, empty schema (not migrated: the copy does that), both shut down afterwards.
func withCopyStores<T>(
    migrateSource: Bool = true, _ body: (SQLiteHubStore, PostgresHubStore, PostgresSettings) async throws -> T
) async throws -> T {
    try await TestPostgres.withSchema { settings in
        let source = try await SQLiteHubStore.inMemory(logger: quietLogger)
        let destination: PostgresHubStore
        do {
            if migrateSource { try await source.migrate() }
            destination = try await PostgresHubStore.connect(settings, logger: quietLogger)
        } catch {
            await source.shutdown()
            throw error
        }
        do {
            let result = try await body(source, destination, settings)
            await source.shutdown()
            await destination.shutdown()
            return result
        } catch {
            await source.shutdown()
            await destination.shutdown()
            throw error
        }
    }
}

extension SQLHubStore {
    /// The names of the tables in the store's schema.
    func tableNames() async throws -> Set<String> {
        try await read("listing tables") { db in try await CopyEndpoint(db: db, dialect: dialect).tables() }
    }

    /// Rows in each of the hub's tables that exist.
    func rowCounts() async throws -> [String: Int] {
        try await read("counting rows") { db in
            let endpoint = CopyEndpoint(db: db, dialect: dialect)
            let present = try await endpoint.tables()
            var counts: [String: Int] = [:]
            for table in StoreTable.all where present.contains(table.name) {
                counts[table.name] = try await endpoint.rowCount(of: table.name)
            }
            return counts
        }
    }
}
