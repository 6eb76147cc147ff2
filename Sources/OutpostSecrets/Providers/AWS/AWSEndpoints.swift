/// The endpoints of the services the provider calls, for a region: its
/// partition's DNS suffix, and the FIPS host names when FIPS is asked for.
///
/// The same host names botocore's endpoint rules give (checked in
/// `AWSProfileSettingsTests.partitionEndpoints` against botocore 1.43's answers):
///
/// | partition | regions | suffix |
/// |---|---|---|
/// | `aws` | all others | `amazonaws.com` |
/// | `aws-cn` | `cn-*` | `amazonaws.com.cn` |
/// | `aws-us-gov` | `us-gov-*` | `amazonaws.com` |
/// | `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` | `us-iso-*`, `us-isob-*`, `eu-isoe-*`, `us-isof-*` | `c2s.ic.gov`, `sc2s.sgov.gov`, `cloud.adc-e.uk`, `csp.hci.ic.gov` |
/// | `aws-eusc` | `eusc-*` | `amazonaws.eu` |
///
/// FIPS: `secretsmanager-fips.REGION.SUFFIX`, `sts-fips.REGION.SUFFIX` (in
/// `aws-us-gov` the regular STS endpoint is the FIPS one), `portal.sso-fips.REGION.SUFFIX`.
package enum AWSEndpoints {
    /// The partition of `region` and its DNS suffix.
    package static func partition(of region: String) -> (name: String, dnsSuffix: String) {
        let prefixes: [(prefix: String, name: String, suffix: String)] = [
            ("cn-", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-", "aws-us-gov", "amazonaws.com"),
            ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
            ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
            ("us-iso-", "aws-iso", "c2s.ic.gov"),
            ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
            ("eusc-", "aws-eusc", "amazonaws.eu"),
        ]
        for entry in prefixes where region.hasPrefix(entry.prefix) { return (entry.name, entry.suffix) }
        return ("aws", "amazonaws.com")
    }

    /// `https://secretsmanager[-fips].REGION.SUFFIX`
    package static func secretsManager(region: String, fips: Bool) -> String {
        "https://secretsmanager\(fips ? "-fips" : "").\(region).\(partition(of: region).dnsSuffix)"
    }

    /// `https://sts[-fips].REGION.SUFFIX` (regional, botocore's default too).
    package static func sts(region: String, fips: Bool) -> String {
        let (name, suffix) = partition(of: region)
        let fipsLabel = fips && name != "aws-us-gov" ? "-fips" : ""
        return "https://sts\(fipsLabel).\(region).\(suffix)"
    }

    /// `https://portal.sso[-fips].REGION.SUFFIX`, IAM Identity Center's portal API.
    package static func ssoPortal(region: String, fips: Bool) -> String {
        "https://portal.sso\(fips ? "-fips" : "").\(region).\(partition(of: region).dnsSuffix)"
    }

    /// The service-specific endpoint variable (`AWS_ENDPOINT_URL_SECRETS_MANAGER`,
    /// `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_SSO`), else `AWS_ENDPOINT_URL`,
    /// as the SDKs read them; ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
    /// Without a trailing slash.
    package static func configuredURL(service: String, environment: [String: String]) -> String? {
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true" { return nil }
        for key in ["AWS_ENDPOINT_URL_\(service)", "AWS_ENDPOINT_URL"] {
            if var value = environment[key], !value.isEmpty {
                while value.hasSuffix("/") { value.removeLast() }
                return value
            }
        }
        return nil
    }
}
