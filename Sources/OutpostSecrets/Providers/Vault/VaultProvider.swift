import Foundation
import Logging
import NIOHTTP1

/// The `vault` provider: secrets from a HashiCorp Vault KV engine (v1 or v2)
/// over Vault's HTTP API, with token, AppRole, Kubernetes, JWT, AWS IAM or TLS
/// certificate auth.
///
/// A path reads `/v1/<mount>/data/<prefix>/<path>` (v2, `data.data`) or
/// `/v1/<mount>/<prefix>/<path>` (v1, `data`); the secret's key/values become a
/// JSON object payload. Listing uses `GET ...?list=true` on the metadata (v2)
/// or data (v1) path. The client token is cached in `VaultSession`; when Vault
/// answers 401/403 with a token that could have lapsed, the provider logs in
/// once more and repeats the request.
struct VaultProvider: SecretProvider {
    let name: String
    let configuration: VaultConfiguration
    let client: VaultClient
    let session: VaultSession

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try self.init(name: name, options: options, context: context, now: { ContinuousClock.now })
    }

    /// - Parameter now: the clock token leases are measured with (a test's moves by hand).
    init(
        name: String, options: ProviderOptions, context: ProviderContext, now: @escaping VaultSession.Now,
        consistencyBackoff: [Duration] = VaultClient.defaultConsistencyBackoff
    ) throws(SecretError) {
        let configuration = try VaultConfiguration(options: options, environment: context.environment)
        var certLogin: VaultCertLogin?
        if case .cert(let login) = configuration.auth { certLogin = login }
        var tls: VaultTLS?
        if configuration.caFile != nil || certLogin != nil {
            tls = try VaultTLS(
                caFile: configuration.caFile, caSource: configuration.caFileSource, clientCertificate: certLogin,
                options: options)
        }
        var client = VaultClient(
            http: SecretHTTP(client: context.http, timeout: context.requestTimeout), address: configuration.address,
            namespace: configuration.namespace, tls: tls)
        client.consistencyBackoff = consistencyBackoff
        self.name = name
        self.configuration = configuration
        self.client = client
        self.session = VaultSession(
            auth: configuration.auth, client: client, logger: context.logger, environment: context.environment, now: now)
        Self.warnAboutMissingFiles(configuration.auth, name: name, logger: context.logger)
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let secret = try VaultPath(reference: path, prefix: configuration.prefix)
        if secret.version != nil, configuration.kvVersion == 1 {
            throw SecretError(.unsupported, "KV version 1 keeps no versions; drop the version or set kv_version: 2")
        }
        let apiPath = configuration.dataPath(secret)
        let what = "GET \(apiPath)" + (secret.version.map { "?version=\($0)" } ?? "")
        let response = try await authorized(apiPath, query: secret.version.map { "version=\($0)" })
        let credentials = await session.credentials
        guard response.status == 200 else {
            if response.status == 404, let gone = Self.deletedVersion(response) {
                throw SecretError(.notFound, "Vault answered 404 for \(what): \(gone)")
            }
            throw VaultClient.failure(response, what, credentials: credentials)
        }
        let data: JSONValue?
        do {
            if configuration.kvVersion == 2 {
                let version = try JSONDecoder().decode(VaultKV2Body.self, from: Data(response.body)).data
                if let metadata = version?.metadata, metadata.destroyed == true || !(metadata.deletionTime ?? "").isEmpty {
                    throw SecretError(.notFound, "version \(metadata.version ?? 0) of \(secret.display) was deleted")
                }
                data = version?.data
            } else {
                data = try JSONDecoder().decode(VaultKV1Body.self, from: Data(response.body)).data
            }
        } catch let error as SecretError {
            throw error
        } catch {
            throw SecretError(.malformed, "Vault answered \(what) with a body that is not JSON")
        }
        guard case .object = data, let data else {
            let field = configuration.kvVersion == 2 ? "data.data (is the mount KV version 1? set kv_version: 1)" : "data"
            throw SecretError(.malformed, "Vault answered \(what) without a key/value object at \(field)")
        }
        return .text(Self.jsonText(data))
    }

    /// Names under `prefix`, one level deep as Vault lists them (folders end in
    /// `/`), each usable as a path: `app/db`, `app/legacy/`.
    func list(prefix: String) async throws(SecretError) -> [String] {
        let cut = prefix.lastIndex(of: "/").map { prefix.index(after: $0) } ?? prefix.startIndex
        let folder = try VaultPath.split(String(prefix[..<cut]), what: "list prefix")
        let partial = String(prefix[cut...])
        let apiPath = configuration.listPath(configuration.prefix + folder)
        let response = try await authorized(apiPath, query: "list=true")
        // Vault answers 404 for a folder with nothing in it.
        if response.status == 404 { return [] }
        guard response.status == 200 else {
            throw VaultClient.failure(response, "LIST \(apiPath)", credentials: await session.credentials)
        }
        guard let body = try? JSONDecoder().decode(VaultListBody.self, from: Data(response.body)) else {
            throw SecretError(.malformed, "Vault answered LIST \(apiPath) without data.keys")
        }
        let base = folder.isEmpty ? "" : folder.joined(separator: "/") + "/"
        return body.data.keys.filter { $0.hasPrefix(partial) }.map { base + $0 }.sorted()
    }

    /// Sends a GET with the session's token; on 401/403 logs in once more and
    /// repeats it, because Vault answers "permission denied" for a token that
    /// expired or was revoked just as for one without the right policy.
    private func authorized(_ apiPath: String, query: String?) async throws(SecretError) -> SecretHTTP.Response {
        let token = try await session.token()
        let response = try await client.send(.GET, apiPath, query: query, token: token.value)
        guard response.status == 401 || response.status == 403 else { return response }
        guard let fresh = try await session.renew(rejected: token) else { return response }
        return try await client.send(.GET, apiPath, query: query, token: fresh.value)
    }

    /// What a KV v2 404 says about a deleted or destroyed version, if it does.
    private static func deletedVersion(_ response: SecretHTTP.Response) -> String? {
        guard let metadata = (try? JSONDecoder().decode(VaultKV2Body.self, from: Data(response.body)))?.data?.metadata
        else {
            return nil
        }
        let version = metadata.version.map { "version \($0)" } ?? "the version"
        if metadata.destroyed == true { return "\(version) was destroyed" }
        if let time = metadata.deletionTime, !time.isEmpty { return "\(version) was deleted at \(time)" }
        return nil
    }

    /// Compact JSON text with sorted keys: the payload `SecretSet` splits into variables.
    static func jsonText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Credential files are read when needed (they rotate), but a missing one is
    /// worth a warning at start-up.
    private static func warnAboutMissingFiles(_ auth: VaultAuthMethod, name: String, logger: Logger) {
        let files: [String] =
            switch auth {
            case .token(.file(let path, _)), .appRole(_, .file(let path, _), _): [path]
            case .kubernetes(_, let jwtFile, _): [jwtFile]
            case .jwt(_, let tokenFile, _): [tokenFile]
            case .cert(let login): [login.certFile, login.keyFile]
            default: []
            }
        for file in files where !CredentialFile.exists(file) {
            logger.warning(
                "the Vault credential file does not exist (yet); fetches fail until it does",
                metadata: ["provider": "\(name)", "file": "\(file)"])
        }
    }
}
