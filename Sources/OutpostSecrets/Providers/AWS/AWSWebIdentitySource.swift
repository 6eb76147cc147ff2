import Foundation

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`):
/// the OIDC token in the file (EKS service accounts, CI systems) is exchanged
/// at STS `AssumeRoleWithWebIdentity` for temporary credentials. The file is
/// read at every refresh because its token rotates.
struct AWSWebIdentitySource: AWSCredentialSource {
    var tokenFile: String?
    var roleARN: String?
    var sessionName: String?
    var sts: AWSSTS
    /// Where the token file was named, for messages.
    var tokenFileOrigin = "AWS_WEB_IDENTITY_TOKEN_FILE"

    var label: String { "web identity" }

    init(environment: [String: String], sts: AWSSTS) {
        tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        roleARN = environment["AWS_ROLE_ARN"].flatMap { $0.isEmpty ? nil : $0 }
        sessionName = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 }
        self.sts = sts
    }

    /// A profile's `web_identity_token_file`, `role_arn` and `role_session_name`.
    init(tokenFile: String, roleARN: String, sessionName: String?, sts: AWSSTS, origin: String) {
        tokenFileOrigin = origin
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.sts = sts
    }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        guard let tokenFile, let roleARN else {
            switch (tokenFile, roleARN) {
            case (nil, nil): return .notAvailable("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set")
            case (nil, _): return .notAvailable("AWS_ROLE_ARN set but AWS_WEB_IDENTITY_TOKEN_FILE not")
            default: return .notAvailable("AWS_WEB_IDENTITY_TOKEN_FILE set but AWS_ROLE_ARN not")
            }
        }
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw SecretError(.denied, "cannot read the token file \(tokenFile) (\(tokenFileOrigin))")
        }
        guard !token.isEmpty else {
            throw SecretError(.denied, "the token file \(tokenFile) (\(tokenFileOrigin)) is empty")
        }
        let credentials = try await sts.assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName ?? "outpost-agent", token: token, durationSeconds: 3600)
        return .found(credentials)
    }
}
