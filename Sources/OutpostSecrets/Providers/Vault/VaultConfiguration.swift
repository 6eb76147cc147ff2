/// The validated options of one `vault` provider.
struct VaultConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Base URL of the Vault server (`address`, default `VAULT_ADDR`), without a trailing `/`.
    var address: String
    /// Enterprise namespace sent as `X-Vault-Namespace` (`namespace`, default `VAULT_NAMESPACE`, else none).
    var namespace: String?
    /// PEM file of the CAs trusted for an https `address` (`tls_ca_file`, default
    /// `VAULT_CACERT`, else the system's roots).
    var caFile: String?
    /// Where `caFile` was set, for messages: `tls_ca_file` or `VAULT_CACERT`.
    var caFileSource = "tls_ca_file"
    /// KV secrets engine version of the mount (`kv_version`, 1 or 2, default 2).
    var kvVersion: Int = 2
    /// Where the KV engine is mounted (`mount`, default `secret`), as segments.
    var mount: [String] = ["secret"]
    /// Segments put in front of every path and list prefix (`prefix`, default none).
    var prefix: [String] = []
    /// How the client token is obtained (`auth`, default `VAULT_TOKEN` from the agent's environment).
    var auth: VaultAuthMethod

    static let optionKeys: Set<String> = ["address", "namespace", "tls_ca_file", "kv_version", "mount", "prefix", "auth"]

    /// Reads and checks the options. `address`, `namespace` and `tls_ca_file` fall
    /// back to the agent's `VAULT_ADDR`, `VAULT_NAMESPACE` and `VAULT_CACERT`, as
    /// Vault's own CLI and SDKs read them; the configuration wins over them.
    /// - Throws: `.invalidConfiguration` naming the key and where it was set.
    init(options: ProviderOptions, environment: [String: String]) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.optionKeys)
        func fromEnvironment(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let address = try options.url("address") {
            self.address = address
        } else if var address = fromEnvironment("VAULT_ADDR") {
            guard address.hasPrefix("http://") || address.hasPrefix("https://"), address.count > 8 else {
                throw options.invalid("address", "not set, and VAULT_ADDR \"\(address)\" is not an http:// or https:// URL")
            }
            while address.hasSuffix("/") { address.removeLast() }
            self.address = address
        } else {
            throw options.invalid("address", "required: set address or VAULT_ADDR in the agent's environment")
        }
        if let namespace = try options.string("namespace") ?? fromEnvironment("VAULT_NAMESPACE"), !namespace.isEmpty {
            do { self.namespace = try VaultPath.split(namespace, what: "namespace").joined(separator: "/") } catch {
                throw options.invalid("namespace", error.detail)
            }
        }
        if let caFile = try options.string("tls_ca_file"), !caFile.isEmpty {
            guard address.hasPrefix("https://") else {
                throw options.invalid("tls_ca_file", "only applies to an https:// address")
            }
            self.caFile = caFile
        } else if let caFile = fromEnvironment("VAULT_CACERT"), address.hasPrefix("https://") {
            // Unlike the option, VAULT_CACERT is ignored for an http:// address (it may be meant for another Vault).
            self.caFile = caFile
            caFileSource = "VAULT_CACERT"
        }
        kvVersion = try options.int("kv_version", in: 1...2) ?? 2
        if let mount = try options.string("mount") {
            do { self.mount = try VaultPath.split(mount, what: "mount") } catch { throw options.invalid("mount", error.detail) }
            guard !self.mount.isEmpty else { throw options.invalid("mount", "must name the KV engine's mount, e.g. secret") }
        }
        if let prefix = try options.string("prefix") {
            do { self.prefix = try VaultPath.split(prefix, what: "prefix") } catch { throw options.invalid("prefix", error.detail) }
        }
        auth = try VaultAuthMethod(options: options, environment: environment)
        if case .cert = auth, !self.address.hasPrefix("https://") {
            throw options.invalid("auth", "method cert presents a TLS client certificate: the address must be https://")
        }
    }

    /// The API path (below `/v1/`) of a secret's data: `secret/data/app/db` (v2) or `secret/app/db` (v1).
    func dataPath(_ path: VaultPath) -> String {
        VaultPath.escape(mount) + (kvVersion == 2 ? "/data/" : "/") + path.escaped
    }

    /// The API path to list a folder (segments below the mount, prefix included); ends in `/`.
    func listPath(_ folder: [String]) -> String {
        let base = VaultPath.escape(mount) + (kvVersion == 2 ? "/metadata/" : "/")
        return folder.isEmpty ? base : base + VaultPath.escape(folder) + "/"
    }

    var description: String {
        "vault \(address) kv v\(kvVersion) mount \(mount.joined(separator: "/"))"
            + (namespace.map { " namespace \($0)" } ?? "") + ", auth \(auth)"
    }
}
