package import Foundation

/// Google credentials files pointing at a `FakeGCPSecretManager`, in the formats gcloud
/// and the IAM console write them (`authorized_user`, `external_account`,
/// `impersonated_service_account`); every token URL is the fake's, as a real file names
/// Google's. Used by the provider's tests, the end-to-end tests and the SDK proof.
package enum FakeGCPCredentialFiles {
    /// A workload identity pool provider of the fake's project (number 123456789012).
    package static let audience =
        "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/outpost-pool/providers/ci"
    /// A second provider of the same pool, for AWS workloads.
    package static let awsAudience =
        "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/outpost-pool/providers/aws"
    /// A workforce pool provider.
    package static let workforceAudience =
        "//iam.googleapis.com/locations/global/workforcePools/outpost-staff/providers/okta"
    package static let jwtType = "urn:ietf:params:oauth:token-type:jwt"
    package static let awsType = "urn:ietf:params:aws:token-type:aws4_request"

    /// `credential_source` reading the token from a file (`field`: JSON format with that field).
    package static func fileSource(_ path: String, field: String? = nil) -> [String: Any] {
        var source: [String: Any] = ["file": path]
        if let field { source["format"] = ["type": "json", "subject_token_field_name": field] }
        return source
    }

    /// `credential_source` reading the token from the fake's `/external/subject-token`.
    package static func urlSource(_ baseURL: String, headers: [String: String], field: String? = nil) -> [String: Any] {
        var source: [String: Any] = ["url": baseURL + "/external/subject-token", "headers": headers]
        source["format"] = field.map { ["type": "json", "subject_token_field_name": $0] } ?? ["type": "text"]
        return source
    }

    /// `credential_source` of an AWS workload; `instance`: the fake's EC2 metadata URLs.
    package static func awsSource(instance baseURL: String?) -> [String: Any] {
        var source: [String: Any] = [
            "environment_id": "aws1",
            "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
        ]
        if let baseURL {
            source["region_url"] = baseURL + "/latest/meta-data/placement/availability-zone"
            source["url"] = baseURL + "/latest/meta-data/iam/security-credentials"
            source["imdsv2_session_token_url"] = baseURL + "/latest/api/token"
        }
        return source
    }

    /// An `external_account` file (workload identity federation) exchanging at the fake's STS.
    package static func externalAccount(
        _ baseURL: String, source: [String: Any], audience: String = audience, subjectTokenType: String = jwtType,
        impersonate email: String? = nil, extra: [String: Any] = [:]
    ) -> [String: Any] {
        var object: [String: Any] = [
            "type": "external_account", "audience": audience, "subject_token_type": subjectTokenType,
            "token_url": FakeGCPSecretManager.stsURL(baseURL), "credential_source": source,
            "universe_domain": "googleapis.com",
        ]
        if let email { object["service_account_impersonation_url"] = FakeGCPSecretManager.impersonationURL(baseURL, email: email) }
        object.merge(extra) { $1 }
        return object
    }

    /// An `authorized_user` file (`gcloud auth application-default login`).
    package static func authorizedUser(
        _ baseURL: String, clientID: String, clientSecret: String, refreshToken: String
    ) -> [String: Any] {
        [
            "type": "authorized_user", "client_id": clientID, "client_secret": clientSecret,
            "refresh_token": refreshToken, "token_uri": FakeGCPSecretManager.tokenURI(baseURL),
            "universe_domain": "googleapis.com",
        ]
    }

    /// An `impersonated_service_account` file.
    package static func impersonated(
        _ baseURL: String, source: [String: Any], target email: String, delegates: [String] = []
    ) -> [String: Any] {
        [
            "type": "impersonated_service_account", "source_credentials": source, "delegates": delegates,
            "service_account_impersonation_url": FakeGCPSecretManager.impersonationURL(baseURL, email: email),
        ]
    }

    /// A service account's key file as a JSON object.
    package static func serviceAccount(_ account: FakeGCPServiceAccount, _ baseURL: String) -> [String: Any] {
        let json = account.keyFileJSON(tokenURI: FakeGCPSecretManager.tokenURI(baseURL))
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
    }

    /// Writes `object` as JSON to `path`.
    package static func write(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: path))
    }
}
