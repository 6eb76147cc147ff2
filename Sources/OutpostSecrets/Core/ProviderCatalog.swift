/// The provider types an agent knows, by the `type:` spelling of its config.
package enum ProviderCatalog {
    package static let types = [
        "env", "aws-secrets-manager", "vault", "azure-key-vault", "gcp-secret-manager", "http",
    ]

    /// Builds one configured provider, wrapped with cache, timeout and retries.
    /// - Throws: `.invalidConfiguration` naming the key and where it was set.
    package static func make(options: ProviderOptions, context: ProviderContext) throws(SecretError) -> ManagedProvider {
        let name = try options.require("name")
        let type = try options.require("type")
        let settings = try ManagedProvider.Settings(options: options)
        var context = context
        context.requestTimeout = settings.timeout
        let provider: any SecretProvider
        switch type {
        case "env": provider = try EnvProvider(name: name, options: options, context: context)
        case "aws-secrets-manager": provider = try AWSSecretsManagerProvider(name: name, options: options, context: context)
        case "vault": provider = try VaultProvider(name: name, options: options, context: context)
        case "azure-key-vault": provider = try AzureKeyVaultProvider(name: name, options: options, context: context)
        case "gcp-secret-manager": provider = try GCPSecretManagerProvider(name: name, options: options, context: context)
        case "http": provider = try HTTPStoreProvider(name: name, options: options, context: context)
        default:
            throw options.invalid("type", "unknown provider type \"\(type)\"; use one of \(types.joined(separator: ", "))")
        }
        return ManagedProvider(name: name, type: type, provider: provider, settings: settings, logger: context.logger)
    }
}
