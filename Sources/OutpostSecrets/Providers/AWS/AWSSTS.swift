import Foundation
import OutpostCore

/// The two STS calls the credential chain makes: `AssumeRole` (signed with base
/// credentials, for `assume_role_arn`) and `AssumeRoleWithWebIdentity`
/// (unsigned; the web identity token is the proof).
struct AWSSTS: Sendable {
    static let version = "2011-06-15"

    var client: AWSClient
    /// `sts_endpoint` (default `https://sts.REGION.amazonaws.com`).
    var endpoint: String

    static func defaultEndpoint(region: String) -> String { "https://sts.\(region).amazonaws.com" }

    /// Temporary credentials of `roleARN`, requested with `credentials`.
    func assumeRole(
        roleARN: String, sessionName: String, externalID: String?, durationSeconds: Int, credentials: AWSCredentials
    ) async throws(SecretError) -> AWSCredentials {
        var parameters = [
            (name: "RoleArn", value: roleARN), (name: "RoleSessionName", value: sessionName),
            (name: "DurationSeconds", value: String(durationSeconds)),
        ]
        if let externalID { parameters.append((name: "ExternalId", value: externalID)) }
        let what = "STS AssumeRole for \(roleARN) at \(SecretHTTP.host(of: endpoint))"
        let xml = try await client.query(
            service: "sts", endpoint: endpoint, action: "AssumeRole", version: Self.version, parameters: parameters,
            credentials: credentials, what: what, secrets: externalID.map { [$0] } ?? [])
        return try Self.credentials(in: xml, what: what)
    }

    /// Temporary credentials of `roleARN` in exchange for an OIDC token (unsigned call).
    func assumeRoleWithWebIdentity(
        roleARN: String, sessionName: String, token: String, durationSeconds: Int
    ) async throws(SecretError) -> AWSCredentials {
        let what = "STS AssumeRoleWithWebIdentity for \(roleARN) at \(SecretHTTP.host(of: endpoint))"
        let xml = try await client.query(
            service: "sts", endpoint: endpoint, action: "AssumeRoleWithWebIdentity", version: Self.version,
            parameters: [
                (name: "RoleArn", value: roleARN), (name: "RoleSessionName", value: sessionName),
                (name: "WebIdentityToken", value: token), (name: "DurationSeconds", value: String(durationSeconds)),
            ], credentials: nil, what: what, secrets: [token])
        return try Self.credentials(in: xml, what: what)
    }

    /// The `<Credentials>` of an STS answer.
    /// - Throws: `.malformed` when a part is missing.
    static func credentials(in xml: String, what: String) throws(SecretError) -> AWSCredentials {
        // The answer holds one <Credentials> element; its children have unique names.
        guard let accessKeyID = AWSXML.firstValue(of: "AccessKeyId", in: xml),
            let secret = AWSXML.firstValue(of: "SecretAccessKey", in: xml),
            let token = AWSXML.firstValue(of: "SessionToken", in: xml),
            !accessKeyID.isEmpty, !secret.isEmpty
        else {
            throw SecretError(.malformed, "\(what) answered without AccessKeyId, SecretAccessKey and SessionToken")
        }
        let expiration = AWSXML.firstValue(of: "Expiration", in: xml).flatMap(AWSCredentials.parseTimestamp)
        return AWSCredentials(
            accessKeyID: accessKeyID.trimmingCharacters(in: .whitespacesAndNewlines),
            secretAccessKey: secret.trimmingCharacters(in: .whitespacesAndNewlines),
            sessionToken: token.trimmingCharacters(in: .whitespacesAndNewlines), expiration: expiration)
    }
}
