import ArgumentParser
import Foundation
import Logging
import OutpostStore

/// `outpost server migrate-store`: a stopped hub's SQLite database copied into an empty PostgreSQL database.
struct ServerMigrateStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy a stopped hub's SQLite database into an empty PostgreSQL database, for several hub replicas.",
        discussion: """
            Copies everything the hub stores: API tokens and agent types (as hashes: existing \
            tokens and registration tokens keep working), targets, agents, and every task with \
            its whole history, late results and log. The SQLite file is only read.

            Before: stop the hub (what it would write during or after the copy is not carried \
            over) and back up the SQLite file. The SQLite file must have this Outpost's schema \
            version: start this version's hub on it once if it is older. The destination must \
            be empty: a new database, or one holding only the hub's empty tables; one with \
            data is refused and left as it is. The copy is one transaction: it either \
            completes or leaves the destination empty.

            After: start every hub replica with --database and the same URL. Data directories \
            still hold what is not in the database (admin-token, and ca/ when agents use \
            client certificates): give each replica a copy. See docs/operations.md, \
            "Moving from SQLite to PostgreSQL".

            Example:
              systemctl stop outpost
              outpost server migrate-store --from /var/lib/outpost/outpost.sqlite \\
                --to 'postgres://outpost@db.internal/outpost?sslmode=verify-full' \\
                --database-password-file /etc/outpost/db-password

            Exit codes: 0 copied; 2 nothing copied because an input is wrong (no such file, \
            bad URL, unreachable server, other schema version, destination not empty); \
            1 the copy failed midway and was rolled back.
            """
    )

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp("The stopped hub's SQLite database (DATA_DIR/outpost.sqlite, or DATA_DIR).", valueName: "path"))
    var from: String

    @Option(
        name: .customLong("to"),
        help: ArgumentHelp(
            "The empty PostgreSQL database, as postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…] (as `outpost server --database`).",
            valueName: "url"))
    var to: String

    @Option(
        name: .customLong("database-password-file"),
        help: ArgumentHelp("File holding the database password, when neither the URL nor PGPASSWORD has it.", valueName: "path"))
    var databasePasswordFile: String?

    func run() async throws {
        let settings = try MigrateStoreSettings.resolve(from: from, to: to, passwordFile: databasePasswordFile)
        Output.line("copying \(settings.source) into \(settings.destination)")
        let started = ContinuousClock.now
        let report = try await StoreMigration.run(settings, logger: LogSetup.logger("outpost.migrate-store")) { table in
            Output.line("\(table.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(Self.rows(table.rows))")
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        Output.line(
            "copied \(Self.rows(report.rows)) in \(report.tables.count) tables (schema version \(report.schemaVersion)) "
                + "in \(String(format: "%.1f", seconds)) s")
        Output.line(
            "next: start the hubs with --database '\(settings.destination)'; keep \(settings.source) as the backup it now is")
    }

    private static func rows(_ count: Int) -> String { count == 1 ? "1 row" : "\(count) rows" }
}

/// Opening both databases, copying, and what each failure means for the exit code.
enum StoreMigration {
    static func run(
        _ settings: MigrateStoreSettings, logger: Logger, progress: (StoreCopier.CopiedTable) -> Void
    ) async throws(CLIExit) -> StoreCopier.Report {
        let source: SQLiteHubStore
        do {
            source = try await SQLiteHubStore.openExisting(path: settings.source, logger: logger)
        } catch {
            throw CLIExit.usage(error.message)
        }
        let destination: PostgresHubStore
        do {
            destination = try await PostgresHubStore.connect(settings.destination, logger: logger)
        } catch {
            await source.shutdown()
            throw CLIExit.usage(error.message)
        }
        do {
            let report = try await StoreCopier.copy(from: source, to: destination, progress: progress)
            await source.shutdown()
            await destination.shutdown()
            return report
        } catch {
            await source.shutdown()
            await destination.shutdown()
            // A refusal comes before anything is written; any other failure rolled the copy back.
            if error.code == .conflict { throw CLIExit.usage("not copied: \(error.message)") }
            throw CLIExit(
                code: CLIExit.Code.failure,
                message: "the copy failed and was rolled back (the destination holds none of the hub's rows): \(error.message)")
        }
    }
}
