import Foundation

/// The `aws-sts` name policy of an agent type: which AWS identities may
/// register, and where the hub checks them.
///
/// The agent signs `sts:GetCallerIdentity`; the hub replays it to `stsEndpoint`
/// only, and accepts the caller when it belongs to `accountID` and, when
/// `allowedRoles` is not empty, is a session of one of those roles.
package struct AWSNamingRules: Codable, Sendable, Equatable {
    /// The global STS endpoint, whose signing region is `us-east-1`.
    package static let defaultSTSEndpoint = "https://sts.amazonaws.com"

    /// The 12-digit AWS account the callers must belong to.
    package var accountID: String
    /// IAM role names whose sessions may register; empty: any role or user of the account.
    package var allowedRoles: [String]
    /// The STS endpoint the hub sends the agent's signed request to (default `https://sts.amazonaws.com`).
    package var stsEndpoint: String

    package init(accountID: String, allowedRoles: [String] = [], stsEndpoint: String = Self.defaultSTSEndpoint) {
        self.accountID = accountID
        self.allowedRoles = allowedRoles
        self.stsEndpoint = stsEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case allowedRoles = "allowed_roles"
        case stsEndpoint = "sts_endpoint"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accountID = try c.decode(String.self, forKey: .accountID)
        allowedRoles = try c.decodeIfPresent([String].self, forKey: .allowedRoles) ?? []
        stsEndpoint = try c.decodeIfPresent(String.self, forKey: .stsEndpoint) ?? Self.defaultSTSEndpoint
    }

    /// Checks the account id (12 digits), the role names (IAM's 1 to 64 of
    /// `[A-Za-z0-9+=,.@_-]`) and the endpoint (an http(s) URL with a host and
    /// no user, query or fragment: the hub keeps only its scheme, host and port).
    package func validate() throws(ValidationError) {
        guard accountID.utf8.count == 12, accountID.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw ValidationError(
                field: "aws_account_id", message: "AWS account id \"\(accountID)\" must be 12 digits")
        }
        for role in allowedRoles {
            guard (1...64).contains(role.utf8.count), role.utf8.allSatisfy(Self.isRoleNameByte) else {
                throw ValidationError(
                    field: "aws_role",
                    message: "AWS role name \"\(role)\" must be 1 to 64 characters of letters, digits and +=,.@_-")
            }
        }
        guard let url = URLComponents(string: stsEndpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty, url.user == nil,
            url.password == nil, url.query == nil, url.fragment == nil, url.path.isEmpty || url.path == "/"
        else {
            throw ValidationError(
                field: "sts_endpoint",
                message:
                    "STS endpoint \"\(stsEndpoint)\" must be an http:// or https:// URL with a host and no path or query")
        }
    }

    private static func isRoleNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || "+=,.@_-".utf8.contains(b)
    }
}
