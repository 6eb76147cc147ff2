import HTTPTypes
import OutpostCore
import Testing

@testable import OutpostHub

@Suite("AWS caller identity: ARNs, agent names and the agent type's rules")
struct AWSCallerIdentityTests {
    typealias Principal = AWSCallerIdentity.Principal

    static let arns: [(String, Principal?)] = [
        (
            "arn:aws:sts::123456789012:assumed-role/runner/i-0123456789abcdef0",
            Principal(kind: .assumedRole, account: "123456789012", role: "runner", sessionName: "i-0123456789abcdef0")
        ),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/runner/bob@example.com",
            Principal(kind: .assumedRole, account: "123456789012", role: "runner", sessionName: "bob@example.com")
        ),
        ("arn:aws:iam::123456789012:role/ops/deployer", Principal(kind: .role, account: "123456789012", role: "deployer")),
        ("arn:aws:iam::123456789012:user/ci", Principal(kind: .user, account: "123456789012", userName: "ci")),
        ("arn:aws:iam::123456789012:user/teams/ci", Principal(kind: .user, account: "123456789012", userName: "ci")),
        (
            "arn:aws:sts::123456789012:federated-user/carol",
            Principal(kind: .federatedUser, account: "123456789012", userName: "carol")
        ),
        ("arn:aws:iam::123456789012:root", Principal(kind: .root, account: "123456789012")),
        ("arn:aws:sts::123456789012:assumed-role/runner", nil),
        ("arn:aws:sts::123456789012:assumed-role/runner/a/b", nil),
        ("arn:aws:sts::123456789012:assumed-role//s", nil),
        ("arn:aws:iam::123456789012:group/admins", nil),
        ("arn:aws:s3:::bucket", nil),
        ("arn:aws:sts:us-east-1:123456789012:assumed-role/runner/s", nil),
        ("not an arn", nil),
        ("", nil),
    ]

    @Test("caller ARNs are read into kind, account, role, session and user", arguments: arns)
    func parseARN(_ arn: String, _ expected: Principal?) {
        #expect(AWSCallerIdentity.parse(arn: arn) == expected)
    }

    static let names: [(Principal, String)] = [
        (
            Principal(kind: .assumedRole, account: "123456789012", role: "runner", sessionName: "i-0123456789abcdef0"),
            "i-0123456789abcdef0"
        ),
        (Principal(kind: .assumedRole, account: "123456789012", role: "runner", sessionName: "bob"), "runner.bob"),
        (Principal(kind: .assumedRole, account: "123456789012", role: "ab", sessionName: "cd"), "123456789012.ab.cd"),
        (
            Principal(kind: .assumedRole, account: "123456789012", role: "runner", sessionName: "bob@example.com"),
            "bob-example.com"
        ),
        (Principal(kind: .assumedRole, account: "123456789012", role: "r+w", sessionName: "a=b"), "123456789012.r-w.a-b"),
        (Principal(kind: .user, account: "123456789012", userName: "ci"), "123456789012.ci"),
        (Principal(kind: .user, account: "123456789012", userName: "deploy bot+x"), "deploy-bot-x"),
        (Principal(kind: .role, account: "123456789012", role: "deployer"), "deployer"),
        (Principal(kind: .root, account: "123456789012"), "123456789012.root"),
        (Principal(kind: .user, account: "123456789012", userName: "ü-user"), "123456789012.---user"),
        (
            Principal(kind: .user, account: "123456789012", userName: String(repeating: "x", count: 90)),
            String(repeating: "x", count: 80)
        ),
    ]

    @Test("the agent name is the session (or user) name made valid, prefixed when short, cut at 80", arguments: names)
    func agentName(_ principal: Principal, _ expected: String) throws {
        let name = AWSCallerIdentity.agentName(for: principal)
        #expect(name == expected)
        try Names.validateAgentName(name)
    }

    static let rules = AWSNamingRules(accountID: "123456789012", allowedRoles: ["deployer", "runner"])
    static let session = "arn:aws:sts::123456789012:assumed-role/runner/i-0123456789abcdef0"

    @Test("a session of an allowed role of the account is accepted and named after the session")
    func accepted() throws {
        let identity = try AWSCallerIdentity(
            account: "123456789012", arn: Self.session, userID: "AROAEXAMPLE:i-0123456789abcdef0",
            checkedAgainst: Self.rules)
        #expect(
            identity
                == AWSCallerIdentity(
                    account: "123456789012", arn: Self.session, userID: "AROAEXAMPLE:i-0123456789abcdef0",
                    role: "runner", sessionName: "i-0123456789abcdef0", agentName: "i-0123456789abcdef0"))
        // IAM role names are unique regardless of case.
        let upper = AWSNamingRules(accountID: "123456789012", allowedRoles: ["RUNNER"])
        #expect(throws: Never.self) {
            try AWSCallerIdentity(account: "123456789012", arn: Self.session, userID: "x", checkedAgainst: upper)
        }
        // An IAM role ARN counts as the role.
        let roleARN = "arn:aws:iam::123456789012:role/deployer"
        let role = try AWSCallerIdentity(account: "123456789012", arn: roleARN, userID: "x", checkedAgainst: Self.rules)
        #expect(role.role == "deployer" && role.agentName == "deployer")
    }

    @Test("without allowed roles any user of the account is accepted")
    func anyCallerOfTheAccount() throws {
        let rules = AWSNamingRules(accountID: "123456789012")
        let user = try AWSCallerIdentity(
            account: "123456789012", arn: "arn:aws:iam::123456789012:user/build-agent", userID: "AIDAEXAMPLE",
            checkedAgainst: rules)
        #expect(user.agentName == "build-agent" && user.role == nil && user.sessionName == nil)
    }

    static let refusals: [(account: String, arn: String, rules: AWSNamingRules, message: String)] = [
        (
            "111111111111", "arn:aws:sts::111111111111:assumed-role/runner/i-0123456789abcdef0", rules,
            "AWS account 111111111111 is not the agent type's account 123456789012"
        ),
        (
            "123456789012", "arn:aws:sts::123456789012:assumed-role/intruder/i-0123456789abcdef0", rules,
            "role \"intruder\" is not among the agent type's roles: deployer, runner"
        ),
        (
            "123456789012", "arn:aws:iam::123456789012:user/ci-user", rules,
            "the AWS caller \"arn:aws:iam::123456789012:user/ci-user\" is not a session of an IAM role; the agent type accepts the roles: deployer, runner"
        ),
        (
            "123456789012", "arn:aws:sts::999999999999:assumed-role/runner/i-1", rules,
            "STS answered account 123456789012 for the caller \"arn:aws:sts::999999999999:assumed-role/runner/i-1\" of another account"
        ),
        (
            "123456789012", "arn:aws:iam::123456789012:group/admins", AWSNamingRules(accountID: "123456789012"),
            "the AWS caller \"arn:aws:iam::123456789012:group/admins\" is not a role session, role, user or account root"
        ),
    ]

    @Test("a caller the rules do not accept is refused, the message naming what differs", arguments: refusals)
    func refused(_ account: String, _ arn: String, _ rules: AWSNamingRules, _ message: String) {
        do {
            _ = try AWSCallerIdentity(account: account, arn: arn, userID: "x", checkedAgainst: rules)
            Issue.record("accepted \(arn)")
        } catch {
            #expect(error.code == .identityRefused)
            #expect(error.message == message)
            #expect(HubError.Code.identityRefused.httpStatus.code == 403)
        }
    }
}
