package import OutpostCore

extension AWSCallerIdentity {
    /// The identity STS answered, checked against an agent type's rules.
    ///
    /// The account must be the rules' account (in `Account` and in the ARN);
    /// with allowed roles, the caller must be a session of one of them (IAM
    /// role names are unique regardless of case, so they compare that way).
    /// - Throws: `HubError.identityRefused` naming what differs.
    package init(account: String, arn: String, userID: String, checkedAgainst rules: AWSNamingRules) throws(HubError) {
        guard let principal = Self.parse(arn: arn) else {
            throw HubError(
                .identityRefused, "the AWS caller \"\(arn)\" is not a role session, role, user or account root")
        }
        guard principal.account == account else {
            throw HubError(
                .identityRefused, "STS answered account \(account) for the caller \"\(arn)\" of another account")
        }
        guard account == rules.accountID else {
            throw HubError(
                .identityRefused, "AWS account \(account) is not the agent type's account \(rules.accountID)")
        }
        if !rules.allowedRoles.isEmpty {
            let allowed = rules.allowedRoles.joined(separator: ", ")
            guard principal.kind == .assumedRole || principal.kind == .role, let role = principal.role else {
                throw HubError(
                    .identityRefused,
                    "the AWS caller \"\(arn)\" is not a session of an IAM role; "
                        + "the agent type accepts the roles: \(allowed)")
            }
            guard rules.allowedRoles.contains(where: { $0.lowercased() == role.lowercased() }) else {
                throw HubError(
                    .identityRefused, "role \"\(role)\" is not among the agent type's roles: \(allowed)")
            }
        }
        self.init(
            account: account, arn: arn, userID: userID, role: principal.role, sessionName: principal.sessionName,
            agentName: Self.agentName(for: principal))
    }
}
