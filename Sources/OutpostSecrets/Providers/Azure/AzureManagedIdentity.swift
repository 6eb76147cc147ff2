import Foundation
import NIOHTTP1

/// A managed identity: the token comes from an endpoint of the machine the agent
/// runs on, told apart by the variables Azure sets there, as azure-identity's
/// `ManagedIdentityCredential` does.
struct AzureManagedIdentity: Sendable {
    enum Source: Sendable, Equatable {
        /// The Instance Metadata Service (VMs, scale sets, AKS nodes, Container
        /// Instances): `Metadata: true`, api-version 2018-02-01.
        case imds(url: String)
        /// App Service, Functions, Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`):
        /// header `X-IDENTITY-HEADER`, api-version 2019-08-01.
        case appService(url: String, header: String)
        /// An Azure Arc-enabled server (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`): the first
        /// request is answered 401 naming a key file, whose contents authorise the second.
        case arc(url: String, keyDirectory: String)
        /// Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`):
        /// header `secret`, api-version 2019-07-01-preview, the server certificate pinned.
        case serviceFabric(url: String, header: String, thumbprint: String)
    }

    var source: Source
    /// A user-assigned identity's client id (`client_id`, `AZURE_CLIENT_ID`); the
    /// system-assigned identity when `nil`.
    var clientID: String?

    static let defaultIMDSEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
    /// Where the Azure Connected Machine agent writes its key files on Linux.
    static let defaultArcKeyDirectory = "/var/opt/azcmagent/tokens"
    /// The largest Arc key file the agent reads (azure-identity's limit).
    static let arcKeyFileLimit = 4096

    /// Asks the endpoint for a token for `resource` (`https://vault.azure.net`).
    func fetchToken(http: SecretHTTP, resource: String) async throws(SecretError) -> OAuthToken {
        var query = [("resource", resource)]
        if let clientID { query.append(("client_id", clientID)) }
        switch source {
        case .imds(let url):
            let response = try await http.send(
                .GET, Self.url(url, apiVersion: "2018-02-01", query),
                headers: [("Metadata", "true"), ("Accept", "application/json")])
            return try AzureCredential.token(
                from: response, source: "the managed identity endpoint (\(SecretHTTP.host(of: url)))", hiding: [],
                managedIdentity: true)
        case .appService(let url, let header):
            let response = try await http.send(
                .GET, Self.url(url, apiVersion: "2019-08-01", query),
                headers: [("X-IDENTITY-HEADER", header), ("Accept", "application/json")])
            return try AzureCredential.token(
                from: response, source: "the App Service identity endpoint (\(SecretHTTP.host(of: url)))", hiding: [header],
                managedIdentity: true)
        case .serviceFabric(let url, let header, let thumbprint):
            let response = try await AzurePinnedHTTPS.get(
                Self.url(url, apiVersion: "2019-07-01-preview", [("resource", resource)]),
                headers: [("secret", header), ("Accept", "application/json")], thumbprint: thumbprint, timeout: http.timeout)
            return try AzureCredential.token(
                from: response, source: "the Service Fabric identity endpoint (\(SecretHTTP.host(of: url)))", hiding: [header],
                managedIdentity: true)
        case .arc(let url, let directory):
            return try await arcToken(http: http, url: Self.url(url, apiVersion: "2020-06-01", query), directory: directory)
        }
    }

    /// Azure Arc's two requests: the first is answered 401 `WWW-Authenticate: Basic
    /// realm=<key file>`; the key file's contents, readable only by the agent's
    /// administrators and the `himds` group, authorise the second.
    private func arcToken(http: SecretHTTP, url: String, directory: String) async throws(SecretError) -> OAuthToken {
        let source = "the Azure Arc identity endpoint (\(SecretHTTP.host(of: url)))"
        let first = try await http.send(.GET, url, headers: [("Metadata", "true"), ("Accept", "application/json")])
        guard first.status == 401 else {
            // Arc always challenges first; an answer without one is an error (or not Arc).
            return try AzureCredential.token(from: first, source: source, hiding: [], managedIdentity: true)
        }
        guard let header = first.headers.first(name: "WWW-Authenticate"), let challenge = AzureChallenge(header),
            challenge.scheme == "basic", let path = challenge.parameters["realm"], !path.isEmpty
        else {
            throw SecretError(.denied, "\(source) answered 401 without the Basic realm=<key file> challenge Azure Arc sends")
        }
        let key = try Self.readArcKey(path, directory: directory)
        let second = try await http.send(
            .GET, url, headers: [("Metadata", "true"), ("Authorization", "Basic \(key)"), ("Accept", "application/json")])
        let token = try AzureCredential.token(from: second, source: source, hiding: [key], managedIdentity: true)
        if let clientID {
            // Arc agents without user-assigned identities answer with the system-assigned one.
            struct Confirmation: Decodable { var client_id: String? }
            let confirmed = try? JSONDecoder().decode(Confirmation.self, from: Data(second.body)).client_id
            guard confirmed?.lowercased() == clientID.lowercased() else {
                throw SecretError(
                    .denied,
                    "\(source) did not confirm the user-assigned identity \(clientID) (it answered for "
                        + "\(confirmed ?? "no named identity")): this Arc agent likely has only the system-assigned identity")
            }
        }
        return token
    }

    /// The contents of the Arc key file the endpoint named, after checking that it is
    /// a `.key` file directly in `directory` (symbolic links resolved) of at most 4096
    /// bytes: the contents go back to the endpoint, so a rogue endpoint must not get
    /// the agent to send it any other file.
    static func readArcKey(_ path: String, directory: String) throws(SecretError) -> String {
        let named = URL(fileURLWithPath: path).standardizedFileURL
        let resolved = named.resolvingSymlinksInPath()
        let home = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath()
        func refuse(_ why: String) -> SecretError {
            SecretError(
                .denied,
                "the Azure Arc identity endpoint named the key file \(path), which \(why); refused, since the file's "
                    + "contents would be sent to the endpoint (Arc's key files are .key files in \(directory))")
        }
        guard path.hasPrefix("/") else { throw refuse("is not an absolute path") }
        guard named.deletingLastPathComponent().path == home.path, resolved.deletingLastPathComponent().path == home.path
        else { throw refuse("is not in \(directory)") }
        guard named.pathExtension == "key", resolved.pathExtension == "key" else { throw refuse("is not a .key file") }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved.path) else {
            throw SecretError(
                .denied,
                "the Azure Arc key file \(path) cannot be read (missing, or the agent's user is not in the himds group)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw refuse("is not a regular file") }
        guard let size = attributes[.size] as? Int, size <= arcKeyFileLimit else {
            throw refuse("is larger than \(arcKeyFileLimit) bytes")
        }
        guard let handle = FileHandle(forReadingAtPath: resolved.path) else {
            throw SecretError(
                .denied, "the Azure Arc key file \(path) cannot be read (the agent's user must be in the himds group)")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: arcKeyFileLimit + 1)) ?? Data()
        guard data.count <= arcKeyFileLimit else { throw refuse("is larger than \(arcKeyFileLimit) bytes") }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw SecretError(.denied, "the Azure Arc key file \(path) is empty") }
        return key
    }

    /// `url?api-version=...&resource=...[&client_id=...]`.
    static func url(_ base: String, apiVersion: String, _ query: [(String, String)]) -> String {
        let separator = base.contains("?") ? "&" : "?"
        return base + separator
            + ([("api-version", apiVersion)] + query).map { "\($0.0)=\(CloudText.percentEncoded($0.1))" }.joined(separator: "&")
    }
}
