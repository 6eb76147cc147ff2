import OutpostCore

/// The `env` provider: a secret is an environment variable of the agent
/// process, holding a JSON object of key/values or a single value.
///
/// The path is the variable's full name (`OUTPOST_SECRET_DB`). With `prefix`
/// set, only variables whose name starts with it can be read or listed, so
/// targets cannot pull the agent's own credentials out of its environment.
struct EnvProvider: SecretProvider {
    /// The validated options of one `env` provider.
    struct Configuration: Sendable, Equatable {
        /// Only variables whose name starts with this can be read and listed (`prefix`, default none: any variable).
        var prefix: String?
    }

    static let optionKeys: Set<String> = ["prefix"]

    let name: String
    let configuration: Configuration
    /// A snapshot of the agent's environment taken when the provider was built.
    let environment: [String: String]

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.optionKeys)
        var prefix = try options.string("prefix")
        if prefix?.isEmpty == true { prefix = nil }
        if let prefix, !prefix.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            throw options.invalid("prefix", "expected the start of a variable name (letters, digits, _), got \"\(prefix)\"")
        }
        self.name = name
        self.configuration = Configuration(prefix: prefix)
        self.environment = context.environment
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let variable = path.trimmingSpaces()
        guard !variable.isEmpty else {
            throw SecretError(.notFound, "the path must name an environment variable of the agent")
        }
        if let prefix = configuration.prefix, !variable.hasPrefix(prefix) {
            throw SecretError(
                .denied,
                "environment variable \(variable) is outside this provider's prefix \(prefix); "
                    + "only variables named \(prefix)... can be read")
        }
        guard let value = environment[variable] else {
            throw SecretError(.notFound, "environment variable \(variable) is not set in the agent's environment")
        }
        return .text(value)
    }

    /// Every variable this provider may read, named by the variable: with `prefix`, those
    /// under it; without, every variable except the well-known non-secret ones of
    /// `notSecret` (masking PATH or HOME would blank ordinary output).
    var heldValues: [NamedSecretValue] {
        environment
            .filter { name, _ in
                if let prefix = configuration.prefix { return name.hasPrefix(prefix) }
                return !Self.notSecret.contains(name) && !name.hasPrefix("LC_")
            }
            .sorted { $0.key < $1.key }
            .map { NamedSecretValue(name: $0.key, value: $0.value) }
    }

    /// Variables every process has and that hold no secret; not masked for a provider without `prefix`.
    static let notSecret: Set<String> = [
        "PATH", "HOME", "LANG", "LANGUAGE", "PWD", "OLDPWD", "SHELL", "USER", "LOGNAME", "TERM", "SHLVL", "HOSTNAME",
        "TMPDIR", "TZ", "_", "INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "NOTIFY_SOCKET", "MAIL",
        "OUTPOST_LOG_LEVEL",
    ]

    /// Names of the variables under the configured prefix that start with `prefix`.
    /// - Throws: `.unsupported` without a configured `prefix`: the agent's whole
    ///   environment is not for browsing.
    func list(prefix: String) async throws(SecretError) -> [String] {
        guard let configured = configuration.prefix else {
            throw SecretError(
                .unsupported, "listing needs the provider option prefix (e.g. OUTPOST_SECRET_) to limit what is shown")
        }
        return environment.keys
            .filter { $0.hasPrefix(configured) && $0.hasPrefix(prefix) }
            .sorted()
    }
}
