/// Who signed an agent's `sts:GetCallerIdentity` request, as STS answered,
/// and the agent name the hub derives from it.
package struct AWSCallerIdentity: Sendable, Equatable {
    /// The 12-digit account of the caller (`Account`).
    package var account: String
    /// `arn:aws:sts::123456789012:assumed-role/runner/i-0abc…` or `arn:aws:iam::123456789012:user/ci`.
    package var arn: String
    /// STS's `UserId` (`AROA…:i-0abc…` for a role session, `AIDA…` for a user).
    package var userID: String
    /// The IAM role of a role session (or of a role ARN); `nil` for users and the root.
    package var role: String?
    /// The role session name (on EC2: the instance id); `nil` when not a role session.
    package var sessionName: String?
    /// The agent name the hub gives the caller (see `AWSCallerIdentity.agentName`).
    package var agentName: String

    package init(
        account: String, arn: String, userID: String, role: String?, sessionName: String?, agentName: String
    ) {
        self.account = account
        self.arn = arn
        self.userID = userID
        self.role = role
        self.sessionName = sessionName
        self.agentName = agentName
    }
}

extension AWSCallerIdentity {
    /// What an ARN of a caller says: the principal's kind and names.
    package struct Principal: Sendable, Equatable {
        package enum Kind: String, Sendable, Equatable {
            /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`
            case assumedRole = "assumed-role"
            /// `arn:aws:iam::ACCOUNT:role/[PATH/]ROLE` (not what STS answers today, but accepted)
            case role
            /// `arn:aws:iam::ACCOUNT:user/[PATH/]NAME`
            case user
            /// `arn:aws:sts::ACCOUNT:federated-user/NAME`
            case federatedUser = "federated-user"
            /// `arn:aws:iam::ACCOUNT:root`
            case root
        }

        package var kind: Kind
        package var account: String
        /// The role name (assumed role, role), without path.
        package var role: String?
        /// The role session name (assumed role).
        package var sessionName: String?
        /// The user name (user, federated user), without path.
        package var userName: String?

        package init(
            kind: Kind, account: String, role: String? = nil, sessionName: String? = nil, userName: String? = nil
        ) {
            self.kind = kind
            self.account = account
            self.role = role
            self.sessionName = sessionName
            self.userName = userName
        }
    }

    /// Reads a caller ARN; `nil` when it is not one of the kinds above.
    package static func parse(arn: String) -> Principal? {
        // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE — the resource may itself hold ':'.
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, parts[3].isEmpty else { return nil }
        let service = parts[2]
        let account = String(parts[4])
        let resource = parts[5].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !account.isEmpty, let head = resource.first, resource.allSatisfy({ !$0.isEmpty }) else { return nil }
        switch (service, head) {
        case ("sts", "assumed-role") where resource.count == 3:
            return Principal(kind: .assumedRole, account: account, role: resource[1], sessionName: resource[2])
        case ("sts", "federated-user") where resource.count == 2:
            return Principal(kind: .federatedUser, account: account, userName: resource[1])
        case ("iam", "role") where resource.count >= 2:
            return Principal(kind: .role, account: account, role: resource.last)
        case ("iam", "user") where resource.count >= 2:
            return Principal(kind: .user, account: account, userName: resource.last)
        case ("iam", "root") where resource.count == 1:
            return Principal(kind: .root, account: account)
        default:
            return nil
        }
    }

    /// The agent name of a caller: the role session name (an EC2 instance id,
    /// a pod name), else the user or role name, else `root`; characters outside
    /// `[A-Za-z0-9._-]` become `-`; shorter than 8, it is prefixed with the role
    /// (`ROLE.SESSION`) and, if still short, with the account; cut at 80.
    package static func agentName(for principal: Principal) -> String {
        let base = principal.sessionName ?? principal.userName ?? principal.role ?? "root"
        var name = sanitize(base)
        if name.utf8.count < 8, principal.sessionName != nil, let role = principal.role {
            name = sanitize(role) + "." + name
        }
        if name.utf8.count < 8 {
            name = principal.account + "." + name
        }
        return String(decoding: name.utf8.prefix(80), as: UTF8.self)
    }

    /// Replaces every byte outside `[A-Za-z0-9._-]` with `-` (a non-ASCII character
    /// becomes one `-` per UTF-8 byte, which keeps the name ASCII).
    static func sanitize(_ text: String) -> String {
        String(decoding: text.utf8.map { isNameByte($0) ? $0 : UInt8(ascii: "-") }, as: UTF8.self)
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}
