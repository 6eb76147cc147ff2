import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostSecrets
import Testing

/// A resolver that hands out fixed variables for any reference (the secrets of these tests).
struct FixedSecrets: SecretResolver {
    let variables: [String: String]
    var providerFingerprint: String { "fixed:test" }

    func resolve(_ references: [SecretReference]) async throws(SecretError) -> ResolvedSecrets {
        ResolvedSecrets(
            environment: variables, valuesToMask: variables.map { NamedSecretValue(name: "fixed:\($0.key)", value: $0.value) })
    }

    func listNames(provider: String?, prefix: String) async throws(SecretError) -> [SecretListingEntry] { [] }
}

/// Built-in integrations run against stand-in programs placed first on PATH: each
/// records its argv, environment, standard input and the files it was pointed at,
/// so the recipes are checked exactly — including that secrets never reach argv
/// and that credential files are 0600 and gone after the run.
@Suite("Integrations with stand-in programs")
struct IntegrationStandInTests {
    static let password = "pw-canary-5a1f9c3e"
    static let kubeconfig = "apiVersion: v1\nkind: Config\n# canary kube-6d2b8e41\n"

    /// A recorder script installed under each program name.
    static let recorder = #"""
        #!/bin/bash
        out="$STANDIN_DIR/$(basename "$0")"
        printf '%s\n' "$@" > "$out.argv"
        env | sort > "$out.env"
        cat > "$out.stdin"
        for a in "$@"; do
          case "$a" in --defaults-extra-file=*) f="${a#*=}"; cp "$f" "$out.file"; stat -c %a "$f" > "$out.mode"; echo "$f" > "$out.path";; esac
        done
        if [ -n "$KUBECONFIG" ]; then cp "$KUBECONFIG" "$out.file"; stat -c %a "$KUBECONFIG" > "$out.mode"; echo "$KUBECONFIG" > "$out.path"; fi
        echo "stand-in $(basename "$0") ran"
        """#

    func run(
        _ integration: String, program: String, script: String, env targetEnv: [String: String] = [:],
        secrets: [String: String] = [:]
    ) async throws -> IntegrationRun {
        try await IntegrationRun.run(
            integration, script: script, env: targetEnv, secrets: secrets, standIn: (program, Self.recorder))
    }

    @Test("postgres: psql without psqlrc, stopping on error, the SQL file in argv, credentials only in PG* variables")
    func postgres() async throws {
        let run = try await run(
            "postgres", program: "psql", script: "select 1;", env: ["PGHOST": "db.internal", "PGDATABASE": "app"],
            secrets: ["PGUSER": "reporter", "PGPASSWORD": Self.password])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(Array(run.argv.prefix(5)) == ["-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-f"])
        #expect(run.argv.last?.hasSuffix("/script.sql") == true)
        #expect(run.environment["PGPASSWORD"] == Self.password)
        #expect(run.environment["PGHOST"] == "db.internal")
        #expect(!run.argv.joined().contains(Self.password))
        #expect(run.log.contains("stand-in psql ran"))
    }

    @Test("mysql: the script on stdin, credentials in a 0600 option file that is gone afterwards, unset settings left out")
    func mysql() async throws {
        let run = try await run(
            "mysql", program: "mysql", script: "SELECT 1;", env: ["MYSQL_HOST": "127.0.0.1", "MYSQL_DATABASE": "shop"],
            secrets: ["MYSQL_USER": "app", "MYSQL_PASSWORD": Self.password])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv.count == 2)
        #expect(run.argv.first?.hasPrefix("--defaults-extra-file=") == true)
        #expect(run.argv.last == "--table")
        #expect(run.stdin == "SELECT 1;")
        #expect(
            run.file == "[client]\nhost=127.0.0.1\nuser=app\npassword=\(Self.password)\ndatabase=shop\n[mysql]\nabort-source-on-error")
        #expect(run.mode == "600")
        #expect(!run.argv.joined().contains(Self.password))
        #expect(run.environment["MYSQL_PASSWORD"] == Self.password, "the secret variable itself is in the environment")
        let path = try #require(run.filePath)
        #expect(!FileManager.default.fileExists(atPath: path), "the option file is deleted with the task")
    }

    @Test("k8s-exec: target and namespace from the target's env in argv, the kubeconfig from a secret in a 0600 file")
    func k8sExec() async throws {
        let run = try await run(
            "k8s-exec", program: "kubectl", script: "echo inside", env: ["K8S_TARGET": "deployment/web", "K8S_NAMESPACE": "shop"],
            secrets: ["KUBECONFIG_DATA": Self.kubeconfig])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv == ["exec", "-i", "--namespace=shop", "deployment/web", "--", "sh"])
        #expect(run.stdin == "echo inside")
        #expect(run.file == Self.kubeconfig.trimmingCharacters(in: .newlines) + "\n" || run.file == Self.kubeconfig)
        #expect(run.mode == "600")
        let path = try #require(run.filePath)
        #expect(run.environment["KUBECONFIG"] == path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a secret named in an argument template is refused, not passed on the command line")
    func secretInArgv() async throws {
        let run = try await run(
            "k8s-exec", program: "kubectl", script: "echo inside", secrets: ["K8S_TARGET": "pod/secret-canary-pod"])
        #expect(run.finish?.status == .rejected)
        #expect(run.finish?.error?.contains("K8S_TARGET, which comes from a secret, on the command line") == true)
        #expect(run.argv.isEmpty, "the program never ran")
    }

    @Test("a missing required variable and a missing program are clear rejections")
    func missing() async throws {
        let noTarget = try await run("k8s-exec", program: "kubectl", script: "true")
        #expect(noTarget.finish?.status == .rejected)
        #expect(noTarget.finish?.error?.contains("integration k8s-exec needs K8S_TARGET") == true)

        let noProgram = try await run("sql-server", program: "not-sqlcmd", script: "SELECT 1")
        #expect(noProgram.finish?.status == .rejected)
        #expect(noProgram.finish?.error == "integration sql-server needs `sqlcmd` on the agent's PATH")
    }

    @Test("templates: placeholders parse, unknown ones are refused, and empty optional parts are left out")
    func templates() throws {
        let template = try IntegrationTemplate("--namespace={env:NS}")
        let values = IntegrationValues(scriptPath: "/t/script.sh", files: [:], environment: ["NS": "prod"])
        #expect(template.expand(values) == "--namespace=prod")
        #expect(template.expand(IntegrationValues(scriptPath: "", files: [:], environment: [:])) == nil)
        #expect(try IntegrationTemplate("{{literal}").expand(values) == "{literal}")
        #expect(throws: IntegrationError.self) { try IntegrationTemplate("{password}") }
        #expect(throws: IntegrationError.self) { try IntegrationTemplate("{env:") }
        for integration in IntegrationCatalog.builtIn.entries.values {
            try integration.validate()
        }
    }
}
