/// The integrations every agent knows. Each is only data: users add or replace
/// entries in the agent's config (`integrations:`) with the same fields.
///
/// Credentials reach programs through variables the programs read themselves
/// (`PGPASSWORD`, `SQLCMDPASSWORD`, `VAULT_TOKEN`) or a 0600 file in the task
/// directory (`my.cnf`, `kubeconfig`), never through argv. `reads` lists the
/// variables each one uses, so a target can `--map` existing secrets onto them.
enum BuiltInIntegrations {
    static let all: [Integration] = interpreters + databases + kubernetes + [vault, railsConsoleECS]

    // MARK: Interpreters

    static let interpreters: [Integration] = [
        Integration(
            name: "bash", program: "bash", arguments: ["--noprofile", "--norc", "{script}"], scriptFileName: "script.sh",
            summary: "a bash script (no profile or rc files)"),
        Integration(name: "sh", program: "sh", arguments: ["{script}"], scriptFileName: "script.sh", summary: "a POSIX sh script"),
        Integration(
            name: "python", program: "python3", arguments: ["-u", "{script}"], scriptFileName: "script.py",
            environment: ["PYTHONUNBUFFERED": "1"], summary: "a Python 3 script, unbuffered"),
        Integration(name: "node", program: "node", arguments: ["{script}"], scriptFileName: "script.js", summary: "a Node.js script"),
        Integration(
            name: "ruby", program: "ruby", arguments: ["{script}"], scriptFileName: "script.rb",
            environment: ["RUBYOPT": "-W0"], summary: "a Ruby script"),
        Integration(name: "elixir", program: "elixir", arguments: ["{script}"], scriptFileName: "script.exs", summary: "an Elixir script"),
        // Rails finds its app by the working directory; RAILS_ROOT says where it is
        // (through the environment, so the path need not be quoted into argv).
        Integration(
            name: "rails", program: "sh",
            arguments: ["-c", #"cd "$RAILS_ROOT" && exec bin/rails runner "$0""#, "{script}"], scriptFileName: "script.rb",
            reads: ["RAILS_ROOT", "RAILS_ENV"], summary: "Ruby run by `bin/rails runner` in $RAILS_ROOT",
            requires: ["RAILS_ROOT"]),
        Integration(
            name: "rails-console", program: "sh", arguments: ["-c", #"cd "$RAILS_ROOT" && exec bin/rails console"#],
            scriptFileName: "script.rb", scriptDelivery: .standardInput,
            reads: ["RAILS_ROOT", "RAILS_ENV"], summary: "statements typed into `bin/rails console` in $RAILS_ROOT",
            requires: ["RAILS_ROOT"]),
    ]

    // MARK: Databases

    static let databases: [Integration] = [
        // -X: no ~/.psqlrc; ON_ERROR_STOP: a failing statement ends the run with exit code 3.
        Integration(
            name: "postgres", program: "psql",
            arguments: ["-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-f", "{script}"], scriptFileName: "script.sql",
            // A DATABASE_URL becomes psql's own variables (its password never reaches argv);
            // PG* variables the target sets itself win.
            environment: [
                "PGHOST": "{url:DATABASE_URL:host}", "PGPORT": "{url:DATABASE_URL:port}",
                "PGUSER": "{url:DATABASE_URL:user}", "PGPASSWORD": "{url:DATABASE_URL:password}",
                "PGDATABASE": "{url:DATABASE_URL:path}", "PGSSLMODE": "{url:DATABASE_URL:query.sslmode}",
            ],
            reads: ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "DATABASE_URL"],
            summary: "SQL run by psql, stopping at the first error"),
        mysql(
            name: "mysql", mode: "--table", output: .text,
            summary: "SQL run by the mysql (or MariaDB) client, stopping at the first error"),
        mysql(
            name: "mysql-csv", mode: "--batch", output: .csvFromTSV,
            summary: "SQL run by the mysql client, results as CSV (header row first)"),
        // mongosh takes a URI only in argv: connect from a file instead, with the URI from the environment.
        Integration(
            name: "mongodb", program: "mongosh", arguments: ["--nodb", "--quiet", "{file:connect.js}", "{script}"],
            scriptFileName: "script.js",
            files: [IntegrationFile(name: "connect.js", content: "db = connect(process.env.MONGODB_URI);")],
            reads: ["MONGODB_URI"], summary: "JavaScript run by mongosh against $MONGODB_URI", requires: ["MONGODB_URI"]),
        Integration(
            name: "sql-server", program: "sqlcmd", arguments: ["-b", "-i", "{script}"], scriptFileName: "script.sql",
            reads: ["SQLCMDSERVER", "SQLCMDUSER", "SQLCMDPASSWORD", "SQLCMDDBNAME"],
            summary: "T-SQL run by sqlcmd, stopping at the first error"),
    ]

    /// The client reads host, user and password from a 0600 option file; lines whose
    /// variable is empty are left out, so only what the target sets is passed.
    static func mysql(name: String, mode: String, output: Integration.OutputFormat, summary: String) -> Integration {
        Integration(
            name: name, program: "mysql", arguments: ["--defaults-extra-file={file:my.cnf}", mode],
            scriptFileName: "script.sql", scriptDelivery: .standardInput,
            files: [IntegrationFile(name: "my.cnf", content: mysqlOptions)],
            reads: ["MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"], summary: summary,
            output: output)
    }

    static let mysqlOptions = """
        [client]
        host={env:MYSQL_HOST}
        port={env:MYSQL_PORT}
        user={env:MYSQL_USER}
        password={env:MYSQL_PASSWORD}
        database={env:MYSQL_DATABASE}
        [mysql]
        abort-source-on-error
        """

    // MARK: Kubernetes

    /// A kubeconfig from a secret (`KUBECONFIG_DATA`), written 0600 and deleted after
    /// the run; without one kubectl keeps its own default (in-cluster, ~/.kube/config).
    static let kubeconfig = IntegrationFile(name: "kubeconfig", content: "{env:KUBECONFIG_DATA}", onlyIfSet: "KUBECONFIG_DATA")

    static let kubernetes: [Integration] = [
        Integration(
            name: "k8s", program: "bash", arguments: ["--noprofile", "--norc", "{script}"], scriptFileName: "script.sh",
            environment: ["KUBECONFIG": "{file:kubeconfig}"], files: [kubeconfig],
            reads: ["KUBECONFIG_DATA", "K8S_NAMESPACE"], summary: "a bash script with kubectl set up from $KUBECONFIG_DATA",
            tools: ["kubectl"]),
        Integration(
            name: "k8s-exec", program: "kubectl",
            arguments: [
                "exec", "-i", "--namespace={env:K8S_NAMESPACE}", "--container={env:K8S_CONTAINER}", "{env:K8S_TARGET}", "--",
                "{env:K8S_SHELL}",
            ],
            scriptFileName: "script.sh", scriptDelivery: .standardInput,
            environment: ["KUBECONFIG": "{file:kubeconfig}", "K8S_SHELL": "sh"], files: [kubeconfig],
            reads: ["KUBECONFIG_DATA", "K8S_TARGET", "K8S_NAMESPACE", "K8S_CONTAINER", "K8S_SHELL"],
            summary: "a shell script run inside $K8S_TARGET (pod/NAME or deployment/NAME) by kubectl exec",
            requires: ["K8S_TARGET"]),
        Integration(
            name: "k8s-apply", program: "kubectl", arguments: ["apply", "--namespace={env:K8S_NAMESPACE}", "-f", "{script}"],
            scriptFileName: "manifest.yaml", environment: ["KUBECONFIG": "{file:kubeconfig}"], files: [kubeconfig],
            reads: ["KUBECONFIG_DATA", "K8S_NAMESPACE"], summary: "the script is a manifest, applied by kubectl apply"),
    ]

    // MARK: Vault

    static let vault = Integration(
        name: "hashicorp-vault", program: "bash", arguments: ["--noprofile", "--norc", "{script}"], scriptFileName: "script.sh",
        reads: ["VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE"],
        summary: "a bash script with the vault CLI pointed at $VAULT_ADDR with $VAULT_TOKEN", requires: ["VAULT_ADDR"],
        tools: ["vault"])

    // MARK: AWS

    /// A Rails console inside a running ECS task, through ECS Exec. The AWS CLI reads its
    /// credentials and region from the environment (`AWS_*` from a secret) or the agent's
    /// role; cluster, task and container are arguments, so they must not be secrets.
    /// `--interactive` is the only mode ECS Exec has; the statements arrive on standard
    /// input as if typed, and the console's answers come back in the log.
    static let railsConsoleECS = Integration(
        name: "rails-console-ecs", program: "aws",
        arguments: [
            "ecs", "execute-command", "--interactive", "--cluster={env:ECS_CLUSTER}", "--task={env:ECS_TASK}",
            "--container={env:ECS_CONTAINER}", "--command={env:RAILS_CONSOLE_COMMAND}",
        ],
        scriptFileName: "script.rb", scriptDelivery: .standardInput,
        environment: ["RAILS_CONSOLE_COMMAND": "bin/rails console"],
        reads: [
            "ECS_CLUSTER", "ECS_TASK", "ECS_CONTAINER", "RAILS_CONSOLE_COMMAND", "AWS_REGION", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        ],
        summary: "statements typed into a Rails console in a running ECS task (aws ecs execute-command)",
        requires: ["ECS_CLUSTER", "ECS_TASK"],
        // ECS Exec runs its session through the Session Manager plugin.
        tools: ["session-manager-plugin"])
}
