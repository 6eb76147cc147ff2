/// The path of an AWS secret reference: the secret's name or ARN, optionally
/// followed by `?version_stage=STAGE` or `?version_id=ID`.
///
/// `?` cannot occur in a secret name (AWS allows letters, digits and `/_+=.@-`),
/// and `#` is taken by `secret:PROVIDER:PATH#KEY`, so the version goes into
/// a query-like suffix: `prod/db?version_stage=AWSPREVIOUS`.
struct AWSSecretPath: Sendable, Equatable {
    /// Name or ARN, as `SecretId`.
    var secretID: String
    /// `version_stage`: a staging label (`AWSCURRENT`, `AWSPREVIOUS`, a custom one).
    var versionStage: String?
    /// `version_id`: one exact version (a UUID).
    var versionID: String?

    /// - Throws: `.unsupported` for an unknown or repeated parameter, `.notFound` for an empty name.
    init(_ path: String) throws(SecretError) {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty, !name.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw SecretError(.notFound, "the path names no secret; expected NAME or ARN[?version_stage=STAGE]")
        }
        secretID = name
        guard parts.count == 2 else { return }
        for parameter in parts[1].split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            let value = pair.count == 2 ? String(pair[1]) : ""
            guard !value.isEmpty else {
                throw SecretError(.unsupported, "path parameter \"\(key)\" has no value")
            }
            switch key {
            case "version_stage" where versionStage == nil: versionStage = value
            case "version_id" where versionID == nil: versionID = value
            case "version_stage", "version_id":
                throw SecretError(.unsupported, "path parameter \"\(key)\" is given twice")
            default:
                throw SecretError(
                    .unsupported, "unknown path parameter \"\(key)\"; use ?version_stage=STAGE or ?version_id=ID")
            }
        }
    }
}
