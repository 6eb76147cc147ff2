import Foundation
@testable import OutpostAgent
import OutpostCore
import OutpostTestSupport
import Testing

/// Integrations run with the real programs: interpreters on this machine, and
/// psql against the PostgreSQL server `scripts/test` starts on loopback
/// (`OUTPOST_POSTGRES_*`; required when `OUTPOST_REQUIRE_MOTO` marks a full run).
@Suite("Integrations with real programs")
struct IntegrationRealProgramTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test("ruby runs its script")
    func ruby() async throws {
        guard ExecutableLookup.find("ruby", path: Self.environment["PATH"] ?? "") != nil else {
            if Self.environment["OUTPOST_REQUIRE_MOTO"] == "1" { Issue.record("ruby is not installed (scripts/test installs it)") }
            return
        }
        let run = try await IntegrationRun.run("ruby", script: "puts [1, 2, 3].sum")
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "") \(run.log)")
        #expect(run.log == "6\n")
    }

    @Test("python and node run their scripts and report the exit code")
    func interpreters() async throws {
        let python = try await IntegrationRun.run("python", script: "import sys\nprint('py', sys.version_info[0])\nsys.exit(4)")
        #expect(python.finish?.status == .failed)
        #expect(python.finish?.exitCode == 4)
        #expect(python.log == "py 3\n")
        let node = try await IntegrationRun.run("node", script: "console.log('js', 1 + 1)")
        #expect(node.finish?.status == .succeeded, "\(node.finish?.error ?? "")")
        #expect(node.log == "js 2\n")
    }

    /// What `scripts/test` exported about one of its servers (`OUTPOST_POSTGRES_*`,
    /// `OUTPOST_MARIADB_*`): port, password, host, user, database. `nil` when it is
    /// not running — an issue on a full run (`OUTPOST_REQUIRE_MOTO`).
    static func server(_ name: String) -> (port: String, password: String, host: String, user: String, database: String?)? {
        let prefix = "OUTPOST_\(name.uppercased())_"
        guard let port = environment[prefix + "PORT"], let password = environment[prefix + "PASSWORD"] else {
            if environment["OUTPOST_REQUIRE_MOTO"] == "1" {
                Issue.record("\(prefix)* is not set: run the tests with scripts/test, which starts \(name)")
            }
            return nil
        }
        return (port, password, environment[prefix + "HOST"] ?? "127.0.0.1", environment[prefix + "USER"] ?? "outpost",
            environment[prefix + "DATABASE"])
    }

    /// The PostgreSQL server's settings as the target's env and secrets would give them.
    static func postgres() throws -> (env: [String: String], secrets: [String: String])? {
        guard let server = server("postgres") else { return nil }
        return (
            ["PGHOST": server.host, "PGPORT": server.port, "PGDATABASE": "postgres"],
            ["PGUSER": server.user, "PGPASSWORD": server.password]
        )
    }

    @Test("postgres: rows come back in the log; the password is masked when printed and absent from psql's argv")
    func postgresRows() async throws {
        guard let (env, secrets) = try Self.postgres(), let password = secrets["PGPASSWORD"] else { return }
        let script = """
            SELECT 'row-' || g AS label FROM generate_series(1, 3) AS g;
            \\! cat /proc/$PPID/cmdline | tr '\\0' ' ' > "$SCRATCH/cmdline"
            \\! echo "printed: $PGPASSWORD"
            """
        let run = try await IntegrationRun.run("postgres", script: script, env: env, secrets: secrets)
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "") \(run.log)")
        for row in ["row-1", "row-2", "row-3"] { #expect(run.log.contains(row)) }
        #expect(run.log.contains("(3 rows)"))
        #expect(run.log.contains("printed: [SECURE]"))
        expectAbsent(password, in: run.log, "run.log")
        let cmdline = try #require(run.scratch["cmdline"])
        // Debian's /usr/bin/psql wrapper execs the real binary by its full path.
        #expect(cmdline.contains("psql -X --no-password -v ON_ERROR_STOP=1 -f "))
        expectAbsent(password, in: cmdline, "cmdline")
    }

    @Test("postgres: a DATABASE_URL secret alone connects; its password is masked too and never in argv")
    func postgresDatabaseURL() async throws {
        guard let (env, secrets) = try Self.postgres(), let password = secrets["PGPASSWORD"] else { return }
        let user = secrets["PGUSER"] ?? "outpost"
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        let url = "postgresql://\(user):\(encoded)@\(env["PGHOST"] ?? "127.0.0.1"):\(env["PGPORT"] ?? "5432")/postgres?sslmode=disable"
        let script = """
            SELECT current_user AS who, current_database() AS db;
            \\! cat /proc/$PPID/cmdline | tr '\\0' ' ' > "$SCRATCH/cmdline"
            \\! echo "password: $PGPASSWORD"
            """
        let run = try await IntegrationRun.run("postgres", script: script, secrets: ["DATABASE_URL": url])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "") \(run.log)")
        #expect(run.log.contains(" \(user) | postgres"))
        #expect(run.log.contains("password: [SECURE]"), "the password cut out of the URL is masked as well")
        expectAbsent(password, in: run.log, "run.log")
        let cmdline = try #require(run.scratch["cmdline"])
        expectAbsent(password, in: cmdline, "cmdline")
    }

    @Test("postgres: a failing statement stops the script with a non-zero exit code")
    func postgresFailure() async throws {
        guard let (env, secrets) = try Self.postgres() else { return }
        let run = try await IntegrationRun.run(
            "postgres", script: "SELECT 1/0;\nSELECT 'never reached';", env: env, secrets: secrets)
        #expect(run.finish?.status == .failed)
        #expect(run.finish?.exitCode == 3)
        #expect(run.log.contains("division by zero"))
        #expect(!run.log.contains("never reached"))
    }

    @Test("postgres: a wrong password fails clearly, without showing it")
    func postgresWrongPassword() async throws {
        guard let (env, secrets) = try Self.postgres() else { return }
        var wrong = secrets
        wrong["PGPASSWORD"] = "not-the-password-7c1d"
        let run = try await IntegrationRun.run("postgres", script: "SELECT 1;", env: env, secrets: wrong)
        #expect(run.finish?.status == .failed)
        #expect(run.log.contains("password authentication failed"))
        #expect(!run.log.contains("not-the-password-7c1d"))
    }

    /// The MariaDB server's settings as the target's env and secrets would give them.
    static func mariadb() -> (env: [String: String], secrets: [String: String])? {
        guard let server = server("mariadb") else { return nil }
        return (
            ["MYSQL_HOST": server.host, "MYSQL_PORT": server.port, "MYSQL_DATABASE": server.database ?? "outpost"],
            ["MYSQL_USER": server.user, "MYSQL_PASSWORD": server.password]
        )
    }

    @Test("mysql (MariaDB): rows come back; the password is masked when printed and absent from the client's argv")
    func mysqlRows() async throws {
        guard let (env, secrets) = Self.mariadb(), let password = secrets["MYSQL_PASSWORD"] else { return }
        let script = """
            CREATE TABLE IF NOT EXISTS fruit (name VARCHAR(20));
            DELETE FROM fruit;
            INSERT INTO fruit VALUES ('apple'), ('pear');
            SELECT name FROM fruit ORDER BY name;
            system cat /proc/$PPID/cmdline | tr '\\0' ' ' > "$SCRATCH/cmdline"
            system echo "printed: $MYSQL_PASSWORD"
            """
        let run = try await IntegrationRun.run("mysql", script: script, env: env, secrets: secrets)
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "") \(run.log)")
        #expect(run.log.contains("| apple |"))
        #expect(run.log.contains("| pear  |"))
        #expect(run.log.contains("printed: [SECURE]"))
        expectAbsent(password, in: run.log, "run.log")
        let cmdline = try #require(run.scratch["cmdline"])
        #expect(cmdline.contains("--defaults-extra-file="))
        expectAbsent(password, in: cmdline, "cmdline")
    }

    @Test("mysql (MariaDB): a failing statement stops the script with a non-zero exit code")
    func mysqlFailure() async throws {
        guard let (env, secrets) = Self.mariadb() else { return }
        let run = try await IntegrationRun.run(
            "mysql", script: "SELECT * FROM no_such_table;\nSELECT 'never reached';", env: env, secrets: secrets)
        #expect(run.finish?.status == .failed)
        #expect(run.finish?.exitCode == 1)
        #expect(run.log.contains("no_such_table"))
        #expect(!run.log.contains("never reached"))
    }

    @Test("mysql-csv (MariaDB): the result comes back as CSV with a header row")
    func mysqlCSV() async throws {
        guard let (env, secrets) = Self.mariadb() else { return }
        let script = """
            CREATE TABLE IF NOT EXISTS people (name VARCHAR(40), note VARCHAR(40));
            DELETE FROM people;
            INSERT INTO people VALUES ('Ada', 'plain'), ('Grace, Rear Admiral', 'says "hi"');
            SELECT name, note FROM people ORDER BY name;
            """
        let run = try await IntegrationRun.run("mysql-csv", script: script, env: env, secrets: secrets)
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "") \(run.log)")
        #expect(run.log == "name,note\nAda,plain\n\"Grace, Rear Admiral\",\"says \"\"hi\"\"\"\n")
    }
}
