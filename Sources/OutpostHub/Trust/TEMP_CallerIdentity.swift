// TEMPORARY until feat-sts merges.
import OutpostCore
protocol CallerIdentityVerifier: Sendable {
    func verify(_ request: SignedHTTPRequest, rules: AWSNamingRules) async throws -> AWSCallerIdentity
}
struct AWSCallerIdentity: Sendable { var arn: String; var agentName: String }
struct UnavailableVerifier: CallerIdentityVerifier {
    func verify(_ request: SignedHTTPRequest, rules: AWSNamingRules) async throws -> AWSCallerIdentity {
        throw HubError(.internal, "not yet")
    }
}
