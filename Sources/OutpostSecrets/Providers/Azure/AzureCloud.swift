import Foundation

/// What follows from the vault's host name: the audience of its tokens and the
/// Entra ID authority of its cloud (public, China, US Government, Germany).
enum AzureCloud {
    /// The public cloud's Key Vault audience and authority.
    static let publicResource = "https://vault.azure.net"
    static let publicAuthority = "https://login.microsoftonline.com"

    /// Key Vault's DNS suffix in each cloud, and that cloud's Entra ID authority.
    static let clouds: [(suffix: String, authority: String)] = [
        ("vault.azure.net", publicAuthority),
        ("vault.azure.cn", "https://login.chinacloudapi.cn"),
        ("vault.usgovcloudapi.net", "https://login.microsoftonline.us"),
        ("vault.microsoftazure.de", "https://login.microsoftonline.de"),
    ]

    /// The token audience for a vault at `url`: `https://<host minus the vault's name>`
    /// for a vault at `NAME.vault.<suffix>` (`https://vault.azure.cn`, ...), the cloud's
    /// audience for a private-link name (`NAME.privatelink.vaultcore.azure.net`), else
    /// the public cloud's (an IP address or a name of the operator's own DNS: the
    /// vault's challenge then corrects it, see `AzureChallenge`).
    static func resource(forVault url: String) -> String {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return publicResource }
        if let range = host.range(of: ".privatelink.vaultcore.") {
            return "https://vault.\(host[range.upperBound...])"
        }
        guard let range = host.range(of: ".vault."), !host[..<range.lowerBound].isEmpty else { return publicResource }
        return "https://vault.\(host[range.upperBound...])"
    }

    /// The Entra ID authority of the vault's cloud, when its host names a known one.
    static func authority(forVault url: String) -> String? {
        let resource = resource(forVault: url)
        return clouds.first { "https://\($0.suffix)" == resource }?.authority
    }

    /// Whether a token for `scope` may be sent to the vault at `url`, as the Key Vault
    /// SDKs decide for a challenge (`verify_challenge_resource`): the vault's host must
    /// end with `.` and the scope's host (`x.vault.azure.cn` for `https://vault.azure.cn`).
    /// Otherwise a server answering at the vault's address could ask for, and get, a
    /// token for any other service (Azure Resource Manager, Microsoft Graph).
    static func scope(_ scope: String, fitsVault url: String) -> Bool {
        guard let scopeHost = URLComponents(string: scope)?.host?.lowercased(), !scopeHost.isEmpty,
            let vaultHost = URLComponents(string: url)?.host?.lowercased()
        else { return false }
        return vaultHost.hasSuffix("." + scopeHost)
    }

    /// `https://vault.azure.net` for `https://vault.azure.net/.default` (the managed
    /// identity endpoints take a resource, Entra ID a scope).
    static func resource(ofScope scope: String) -> String {
        var resource = scope
        if resource.hasSuffix("/.default") { resource.removeLast("/.default".count) }
        while resource.hasSuffix("/") { resource.removeLast() }
        return resource
    }
}

/// A `WWW-Authenticate` challenge: `Bearer authorization="https://login.microsoftonline.com/TENANT",
/// resource="https://vault.azure.net"` (Key Vault), `Basic realm=/var/opt/azcmagent/tokens/x.key`
/// (Azure Arc).
struct AzureChallenge: Sendable, Equatable {
    /// `bearer`, `basic` (lower-cased).
    var scheme: String
    /// Parameters by lower-cased name, values unquoted.
    var parameters: [String: String]

    /// Parses one challenge; `nil` when the header has no scheme.
    init?(_ header: String) {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard let space = text.firstIndex(of: " ") else {
            guard !text.isEmpty else { return nil }
            scheme = text.lowercased()
            parameters = [:]
            return
        }
        scheme = text[..<space].lowercased()
        parameters = Self.parameters(text[text.index(after: space)...])
    }

    /// The scope a token must have: `scope`, else `resource` + `/.default`.
    var scope: String? {
        if let scope = parameters["scope"], !scope.isEmpty { return scope }
        if let resource = parameters["resource"], !resource.isEmpty { return AzureCloud.resource(ofScope: resource) + "/.default" }
        return nil
    }

    /// The authority URL naming the vault's tenant (`authorization` or `authorization_uri`).
    var authorization: String? { parameters["authorization"] ?? parameters["authorization_uri"] }

    /// `key=value, key="quoted, value"`; a value without quotes runs to the next comma
    /// (Arc's realm is a bare path).
    private static func parameters(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = text[...]
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...].drop { $0 == " " }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            if !name.isEmpty, result[name] == nil { result[name] = value }
        }
        return result
    }
}
