/// The names of the integrations every agent has built in, for the hub's console to
/// offer when a target is created (the hub never sees the agents' recipes, and an
/// agent may add its own). `BuiltInIntegrationNamesTests` keeps this list equal to
/// the agent's catalogue.
package enum IntegrationNames {
    package static let builtIn: [String] = [
        "bash", "sh", "python", "node", "ruby", "elixir", "rails", "rails-console",
        "postgres", "mysql", "mysql-csv", "mongodb", "sql-server",
        "k8s", "k8s-exec", "k8s-apply", "hashicorp-vault", "rails-console-ecs",
    ]
}
