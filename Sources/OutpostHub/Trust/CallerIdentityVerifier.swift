package import OutpostCore

/// Learns who signed an agent's `sts:GetCallerIdentity` request and whether an
/// agent type's `aws-sts` rules accept that caller (registration calls it; tests
/// substitute their own).
package protocol CallerIdentityVerifier: Sendable {
    /// The caller, accepted by `rules`, and the agent name it gets.
    /// - Throws: `HubError.identityRefused` when the request is not an acceptable
    ///   proof or the caller is not accepted (the message says what differs);
    ///   `.stsUnavailable` when STS cannot answer now.
    func verify(_ request: SignedHTTPRequest, rules: AWSNamingRules) async throws(HubError) -> AWSCallerIdentity
}
