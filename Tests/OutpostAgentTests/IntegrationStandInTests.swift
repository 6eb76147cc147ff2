import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostSecrets
import OutpostTestSupport
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
          f=""
          case "$a" in --defaults-extra-file=*) f="${a#*=}";; */files/*) f="$a";; esac
          if [ -n "$f" ]; then cp "$f" "$out.file"; stat -c %a "$f" > "$out.mode"; echo "$f" > "$out.path"; fi
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
        expectSecret(run.environment["PGPASSWORD"], is: Self.password, "PGPASSWORD")
        #expect(run.environment["PGHOST"] == "db.internal")
        expectAbsent(Self.password, in: run.argv.joined(), "run.argv.joined()")
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
        expectSecret(
            run.file, is: "[client]\nhost=127.0.0.1\nuser=app\npassword=\(Self.password)\ndatabase=shop\n[mysql]\nabort-source-on-error",
            "the option file")
        #expect(run.mode == "600")
        expectAbsent(Self.password, in: run.argv.joined(), "run.argv.joined()")
        expectSecret(run.environment["MYSQL_PASSWORD"], is: Self.password, "MYSQL_PASSWORD (the secret variable itself is in the environment)")
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
        expectSecret(run.file, is: Self.kubeconfig, "the kubeconfig file")
        #expect(run.mode == "600")
        let path = try #require(run.filePath)
        #expect(run.environment["KUBECONFIG"] == path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("rails-console-ecs: aws ecs execute-command into the target's cluster, task and container, the statements on stdin, AWS credentials only in the environment")
    func railsConsoleECS() async throws {
        let run = try await IntegrationRun.run(
            "rails-console-ecs", script: "puts User.count\nexit\n",
            env: ["ECS_CLUSTER": "shop-prod", "ECS_TASK": "0f1e2d3c4b5a", "ECS_CONTAINER": "web", "AWS_REGION": "eu-west-1"],
            secrets: ["AWS_ACCESS_KEY_ID": "AKIAOUTPOSTSTANDIN01", "AWS_SECRET_ACCESS_KEY": Self.password],
            standIn: ("aws", Self.recorder), alsoOnPath: ["session-manager-plugin"])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(
            run.argv == [
                "ecs", "execute-command", "--interactive", "--cluster=shop-prod", "--task=0f1e2d3c4b5a", "--container=web",
                "--command=bin/rails console",
            ])
        #expect(run.stdin == "puts User.count\nexit\n")
        #expect(run.environment["AWS_REGION"] == "eu-west-1")
        expectSecret(run.environment["AWS_SECRET_ACCESS_KEY"], is: Self.password, "AWS_SECRET_ACCESS_KEY")
        expectAbsent(Self.password, in: run.argv.joined(), "run.argv.joined()")
        #expect(run.log.contains("stand-in aws ran"))
    }

    @Test("rails-console-ecs: no container leaves --container out, the console command can be replaced, and a missing task, a task id from a secret or a missing Session Manager plugin are rejections")
    func railsConsoleECSVariants() async throws {
        let custom = try await IntegrationRun.run(
            "rails-console-ecs", script: "1 + 1",
            env: ["ECS_CLUSTER": "shop", "ECS_TASK": "arn:aws:ecs:eu-west-1:123456789012:task/shop/0f1e", "RAILS_CONSOLE_COMMAND": "bundle exec rails c"],
            standIn: ("aws", Self.recorder), alsoOnPath: ["session-manager-plugin"])
        #expect(custom.finish?.status == .succeeded, "\(custom.finish?.error ?? "")")
        #expect(
            custom.argv == [
                "ecs", "execute-command", "--interactive", "--cluster=shop", "--task=arn:aws:ecs:eu-west-1:123456789012:task/shop/0f1e",
                "--command=bundle exec rails c",
            ])

        let noTask = try await IntegrationRun.run(
            "rails-console-ecs", script: "1", env: ["ECS_CLUSTER": "shop"], standIn: ("aws", Self.recorder),
            alsoOnPath: ["session-manager-plugin"])
        #expect(noTask.finish?.status == .rejected)
        #expect(noTask.finish?.error?.contains("integration rails-console-ecs needs ECS_TASK in the target's env or secrets") == true)

        let secretTask = try await IntegrationRun.run(
            "rails-console-ecs", script: "1", env: ["ECS_CLUSTER": "shop"], secrets: ["ECS_TASK": "0f1e"],
            standIn: ("aws", Self.recorder), alsoOnPath: ["session-manager-plugin"])
        #expect(secretTask.finish?.status == .rejected)
        #expect(secretTask.finish?.error?.contains("ECS_TASK, which comes from a secret, on the command line") == true)

        let noPlugin = try await IntegrationRun.run(
            "rails-console-ecs", script: "1", env: ["ECS_CLUSTER": "shop", "ECS_TASK": "0f1e"], standIn: ("aws", Self.recorder))
        #expect(noPlugin.finish?.status == .rejected)
        #expect(noPlugin.finish?.error?.contains("integration rails-console-ecs needs `session-manager-plugin` on the agent's PATH") == true)
        #expect(noPlugin.argv.isEmpty, "aws never ran")
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
        #expect(throws: IntegrationError.self) { try IntegrationTemplate("{url:DATABASE_URL:secret}") }
        let url = IntegrationValues(
            scriptPath: "", files: [:], environment: ["U": "postgres://app:p%40ss@db.internal:6432/shop?sslmode=require"])
        #expect(try IntegrationTemplate("{url:U:user}").expand(url) == "app")
        #expect(try IntegrationTemplate("{url:U:password}").expand(url) == "p@ss")
        #expect(try IntegrationTemplate("{url:U:host}:{url:U:port}").expand(url) == "db.internal:6432")
        #expect(try IntegrationTemplate("{url:U:path}").expand(url) == "shop")
        #expect(try IntegrationTemplate("{url:U:query.sslmode}").expand(url) == "require")
        #expect(try IntegrationTemplate("{url:U:query.missing}").expand(url) == nil)
        #expect(try IntegrationTemplate("{url:U:password}").secretURLParts(url, secretVariables: ["U"]) == ["p@ss"])
        for integration in IntegrationCatalog.builtIn.entries.values {
            try integration.validate()
        }
    }

    @Test("k8s: a bash script with KUBECONFIG pointing at the 0600 kubeconfig from the secret; none without the secret")
    func k8s() async throws {
        let run = try await run(
            "k8s", program: "kubectl", script: "kubectl get pods --namespace \"$K8S_NAMESPACE\"", env: ["K8S_NAMESPACE": "shop"],
            secrets: ["KUBECONFIG_DATA": Self.kubeconfig])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv == ["get", "pods", "--namespace", "shop"])
        expectSecret(run.file, is: Self.kubeconfig, "the kubeconfig file")
        #expect(run.mode == "600")
        #expect(!FileManager.default.fileExists(atPath: try #require(run.filePath)))

        let without = try await self.run("k8s", program: "kubectl", script: "kubectl version")
        #expect(without.finish?.status == .succeeded)
        #expect(without.environment["KUBECONFIG"] == nil, "kubectl keeps its own default without a kubeconfig secret")
    }

    @Test("k8s-apply: the script is the manifest file")
    func k8sApply() async throws {
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\n"
        let run = try await run("k8s-apply", program: "kubectl", script: manifest)
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv.count == 3)
        #expect(Array(run.argv.prefix(2)) == ["apply", "-f"])
        #expect(run.argv.last?.hasSuffix("/manifest.yaml") == true)
    }

    @Test("mongodb: connects from a file with the URI from the environment, never in argv")
    func mongodb() async throws {
        let uri = "mongodb://app:\(Self.password)@mongo.internal:27017/events"
        let run = try await run("mongodb", program: "mongosh", script: "db.events.countDocuments()", secrets: ["MONGODB_URI": uri])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(Array(run.argv.prefix(2)) == ["--nodb", "--quiet"])
        #expect(run.argv.count == 4)
        #expect(run.argv.last?.hasSuffix("/script.js") == true)
        #expect(run.file == "db = connect(process.env.MONGODB_URI);")
        expectSecret(run.environment["MONGODB_URI"], is: uri, "MONGODB_URI")
        expectAbsent(Self.password, in: run.argv.joined(), "run.argv.joined()")
    }

    @Test("sql-server: sqlcmd stops at the first error; credentials in its SQLCMD* variables")
    func sqlServer() async throws {
        let run = try await run(
            "sql-server", program: "sqlcmd", script: "SELECT 1", env: ["SQLCMDSERVER": "erp.internal"],
            secrets: ["SQLCMDUSER": "erp", "SQLCMDPASSWORD": Self.password])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(Array(run.argv.prefix(2)) == ["-b", "-i"])
        #expect(run.argv.last?.hasSuffix("/script.sql") == true)
        expectSecret(run.environment["SQLCMDPASSWORD"], is: Self.password, "SQLCMDPASSWORD")
        expectAbsent(Self.password, in: run.argv.joined(), "run.argv.joined()")
    }

    @Test("hashicorp-vault: the script calls vault with its address and token in the environment; no VAULT_ADDR is a rejection")
    func vault() async throws {
        let run = try await run(
            "hashicorp-vault", program: "vault", script: "vault kv get secret/apps/web",
            env: ["VAULT_ADDR": "https://vault.internal:8200"], secrets: ["VAULT_TOKEN": Self.password])
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv == ["kv", "get", "secret/apps/web"])
        expectSecret(run.environment["VAULT_TOKEN"], is: Self.password, "VAULT_TOKEN")
        #expect(run.environment["VAULT_ADDR"] == "https://vault.internal:8200")

        let missing = try await self.run("hashicorp-vault", program: "vault", script: "vault status")
        #expect(missing.finish?.status == .rejected)
        #expect(missing.finish?.error?.contains("needs VAULT_ADDR") == true)
    }

    @Test("elixir: elixir runs the .exs script")
    func elixir() async throws {
        let run = try await run("elixir", program: "elixir", script: "IO.puts(1 + 1)")
        #expect(run.finish?.status == .succeeded, "\(run.finish?.error ?? "")")
        #expect(run.argv.count == 1)
        #expect(run.argv.first?.hasSuffix("/script.exs") == true)
    }

    @Test("rails and rails-console: bin/rails in $RAILS_ROOT, runner with the script file, console with the script on stdin")
    func rails() async throws {
        let root = FileManager.default.temporaryDirectory.path + "/outpost-rails-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A stand-in bin/rails that records like the others, named "rails" in $STANDIN_DIR.
        try Self.recorder.write(toFile: root + "/bin/rails", atomically: true, encoding: .utf8)
        chmod(root + "/bin/rails", 0o755)

        let runner = try await IntegrationRun.run(
            "rails", script: "puts Order.count", env: ["RAILS_ROOT": root, "RAILS_ENV": "production"],
            recordedAs: "rails")
        #expect(runner.finish?.status == .succeeded, "\(runner.finish?.error ?? "") \(runner.log)")
        #expect(runner.argv.count == 2)
        #expect(runner.argv.first == "runner")
        #expect(runner.argv.last?.hasSuffix("/script.rb") == true)
        #expect(runner.environment["PWD"] == root)

        let console = try await IntegrationRun.run(
            "rails-console", script: "Order.count", env: ["RAILS_ROOT": root], recordedAs: "rails")
        #expect(console.finish?.status == .succeeded, "\(console.finish?.error ?? "")")
        #expect(console.argv == ["console"])
        #expect(console.stdin == "Order.count")
    }
}
