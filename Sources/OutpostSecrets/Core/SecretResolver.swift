package import OutpostCore

/// Turns a target's secret references into environment variables for one task,
/// right before it runs. Issue 2 only defines the seam; the providers (`env`,
/// AWS, Vault, ...) and their configuration arrive with issue 3.
package protocol SecretResolver: Sendable {
    /// Fingerprint of the provider layout (names and types, never credentials),
    /// reported at registration so agents sharing tags can be compared.
    var providerFingerprint: String { get }

    /// Resolves every reference; fails on the first one that cannot be resolved.
    /// - Throws: `SecretError` naming the provider, path and key, never a value.
    func resolve(_ references: [SecretReference]) async throws(SecretError) -> ResolvedSecrets

    /// Secret names (never values) under `prefix`, per provider: one provider, or
    /// every provider when `provider` is `nil`. A provider that cannot list gives an
    /// entry with its error; an unknown provider name throws.
    func listNames(provider: String?, prefix: String) async throws(SecretError) -> [SecretListingEntry]

    /// Values the providers hold in the agent's own memory (see `SecretProvider.heldValues`),
    /// masked in every task's log. Default: none.
    var heldValues: [NamedSecretValue] { get }
}

extension SecretResolver {
    package var heldValues: [NamedSecretValue] { [] }
}

/// Secrets resolved for one task.
package struct ResolvedSecrets: Sendable, CustomStringConvertible {
    /// Variables to add to the task's environment.
    package var environment: [String: String]
    /// Every value the log masker must replace, named for warnings (`aws:prod/db#password`).
    /// The masking policy adds each value's lines and encodings.
    package var valuesToMask: [NamedSecretValue]

    package init(environment: [String: String] = [:], valuesToMask: [NamedSecretValue] = []) {
        self.environment = environment
        self.valuesToMask = valuesToMask
    }

    /// Names only: a value never reaches a log line through `description`.
    package var description: String {
        "ResolvedSecrets(\(environment.keys.sorted().joined(separator: ", ")))"
    }
}

/// The resolver of an agent with no secret providers: a target without secret
/// references runs; one with references is refused with a clear reason.
package struct NoSecretProviders: SecretResolver {
    package init() {}

    package var providerFingerprint: String { "" }

    package func resolve(_ references: [SecretReference]) async throws(SecretError) -> ResolvedSecrets {
        if let first = references.first {
            throw SecretError(
                .providerNotConfigured,
                "secret provider \"\(first.provider)\" (path \"\(first.path)\") is not configured on this agent; "
                    + "add it to the agent's secrets.providers")
        }
        return ResolvedSecrets()
    }

    package func listNames(provider: String?, prefix: String) async throws(SecretError) -> [SecretListingEntry] {
        if let provider {
            throw SecretError(.providerNotConfigured, "this agent has no secret providers", provider: provider)
        }
        return []
    }
}

/// A secret value with a name that may appear in logs (`provider:path#key`).
/// `description` shows the name only.
package struct NamedSecretValue: Sendable, Equatable, CustomStringConvertible {
    package var name: String
    package var value: String

    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    package var description: String { "\(name)=<hidden>" }
}
