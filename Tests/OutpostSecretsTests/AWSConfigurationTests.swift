import Foundation
import NIOHTTP1
import Testing

@testable import OutpostSecrets

/// Options, path syntax and the mapping of AWS errors: no server needed.
@Suite("AWS provider options, paths and error mapping")
struct AWSConfigurationTests {
    static let base = ["name": "aws", "type": "aws-secrets-manager", "region": "eu-west-1"]

    static func configuration(_ extra: [String: String]) throws(SecretError) -> AWSSecretsManagerProvider.Configuration {
        try AWSSecretsManagerProvider.Configuration(options: AWSTest.options(base.merging(extra) { $1 }))
    }

    @Test("defaults: regional endpoints, AWSCURRENT, the whole chain")
    func defaults() throws {
        let configuration = try Self.configuration([:])
        let endpoints = configuration.endpoints(region: "eu-west-1", fips: false, environment: [:])
        #expect(endpoints.secretsManager == "https://secretsmanager.eu-west-1.amazonaws.com")
        #expect(endpoints.sts == "https://sts.eu-west-1.amazonaws.com")
        #expect(configuration.versionStage == "AWSCURRENT")
        #expect(configuration.credentialSource == .chain)
        #expect(configuration.assumeRole == nil)
        let provider = try AWSSecretsManagerProvider(
            name: "aws", options: AWSTest.options(Self.base), context: AWSTest.context())
        #expect(
            provider.runtime.readyParts?.chain.sourceLabels == [
                "static keys", "profile role", "web identity", "profile web identity", "SSO", "shared file",
                "credential process", "config file", "container", "IMDS",
            ])
    }

    @Test("every option is read")
    func allOptions() throws {
        let configuration = try Self.configuration([
            "endpoint": "http://127.0.0.1:5000/", "sts_endpoint": "http://127.0.0.1:5001", "version_stage": "BLUE",
            "credential_source": "static", "access_key_id": "AKIAEXAMPLE", "secret_access_key": "s", "session_token": "t",
            "profile": "p", "shared_credentials_file": "/x", "assume_role_arn": "arn:aws:iam::1:role/r",
            "external_id": "e", "role_session_name": "agent-1", "assume_role_duration": "2h",
            "imds_endpoint": "http://127.0.0.1:9", "use_fips_endpoint": "true", "imds_v1_fallback": "true",
            "sso_endpoint": "http://127.0.0.1:7/", "config_file": "/c",
        ])
        #expect(configuration.useFIPSEndpoint == true)
        #expect(configuration.imdsV1Fallback == true)
        #expect(configuration.ssoEndpoint == "http://127.0.0.1:7")
        #expect(configuration.configFile == "/c")
        #expect(configuration.endpoint == "http://127.0.0.1:5000")
        #expect(configuration.stsEndpoint == "http://127.0.0.1:5001")
        #expect(configuration.versionStage == "BLUE")
        #expect(configuration.credentialSource == .static)
        #expect(
            configuration.staticCredentials
                == AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "s", sessionToken: "t"))
        #expect(configuration.profile == "p")
        #expect(configuration.sharedCredentialsFile == "/x")
        #expect(
            configuration.assumeRole
                == .init(roleARN: "arn:aws:iam::1:role/r", sessionName: "agent-1", externalID: "e", durationSeconds: 7200))
        #expect(configuration.imdsEndpoint == "http://127.0.0.1:9")
    }

    @Test(
        "configuration mistakes name the key, never a credential",
        arguments: [
            (["region": ""], "region"),
            (["region": "US East"], "region"),
            (["regoin": "x"], "regoin"),
            (["endpoint": "127.0.0.1:5000"], "endpoint"),
            (["access_key_id": "AKIA"], "secret_access_key"),
            (["secret_access_key": "SECRETCANARY"], "access_key_id"),
            (["session_token": "TOKENCANARY"], "session_token"),
            (["credential_source": "magic"], "credential_source"),
            (["credential_source": "static"], "credential_source"),
            (["credential_source": "imds", "access_key_id": "A", "secret_access_key": "SECRETCANARY"], "access_key_id"),
            (["external_id": "e"], "external_id"),
            (["role_session_name": "n"], "role_session_name"),
            (["assume_role_arn": "role/x"], "assume_role_arn"),
            (["assume_role_arn": "arn:aws:iam::1:role/r", "role_session_name": "bad name"], "role_session_name"),
            (["assume_role_arn": "arn:aws:iam::1:role/r", "assume_role_duration": "1m"], "assume_role_duration"),
            (["version_stage": ""], "version_stage"),
            (["use_fips_endpoint": "sometimes"], "use_fips_endpoint"),
            (["imds_v1_fallback": "maybe"], "imds_v1_fallback"),
            (["sso_endpoint": "portal"], "sso_endpoint"),
        ])
    func invalidOptions(extra: [String: String], key: String) {
        #expect {
            _ = try Self.configuration(extra)
        } throws: { error in
            guard let error = error as? SecretError else { return false }
            return error.code == .invalidConfiguration && error.message.contains("secrets.providers[aws].\(key)")
                && !error.message.contains("CANARY")
        }
    }

    @Test(
        "path syntax: NAME or ARN, with ?version_stage= or ?version_id=",
        arguments: [
            ("prod/db", "prod/db", nil, nil),
            ("prod/db@x+y=z.-_", "prod/db@x+y=z.-_", nil, nil),
            ("arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf", "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf", nil, nil),
            ("prod/db?version_stage=AWSPREVIOUS", "prod/db", "AWSPREVIOUS", nil),
            ("prod/db?version_id=0f1e", "prod/db", nil, "0f1e"),
            ("prod/db?version_id=0f1e&version_stage=BLUE", "prod/db", "BLUE", "0f1e"),
        ] as [(String, String, String?, String?)])
    func paths(path: String, secretID: String, stage: String?, versionID: String?) throws {
        let parsed = try AWSSecretPath(path)
        #expect(parsed.secretID == secretID)
        #expect(parsed.versionStage == stage)
        #expect(parsed.versionID == versionID)
    }

    @Test("bad paths are refused", arguments: ["", "?version_stage=X", "x?stage=X", "x?version_stage=", "x?version_id=a&version_id=b"])
    func badPaths(path: String) {
        #expect(throws: SecretError.self) { try AWSSecretPath(path) }
    }

    @Test(
        "AWS error codes map to SecretError codes",
        arguments: [
            (400, #"{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#, SecretError.Code.notFound),
            (400, #"{"__type":"com.amazonaws.secretsmanager#AccessDeniedException","Message":"no"}"#, .denied),
            (400, #"{"__type":"UnrecognizedClientException","message":"bad key"}"#, .denied),
            (403, #"{"__type":"InvalidSignatureException","message":"bad signature"}"#, .denied),
            (400, #"{"__type":"ExpiredTokenException","message":"expired"}"#, .denied),
            (400, #"{"__type":"DecryptionFailure","message":"kms"}"#, .denied),
            (400, #"{"__type":"ThrottlingException","message":"slow down"}"#, .unreachable),
            (500, #"{"__type":"InternalServiceError","message":"oops"}"#, .unreachable),
            (503, "", .unreachable),
            (400, #"{"__type":"InvalidRequestException","message":"marked for deletion"}"#, .notFound),
            (403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error></ErrorResponse>", .denied),
            (400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>", .unreachable),
        ] as [(Int, String, SecretError.Code)])
    func errorMapping(status: Int, body: String, code: SecretError.Code) {
        let response = SecretHTTP.Response(status: status, headers: HTTPHeaders(), body: Array(body.utf8))
        #expect(AWSServiceError(response: response).secretError(what: "call", secrets: []).code == code)
    }

    @Test("the X-Amzn-ErrorType header names the error when the body does not")
    func errorTypeHeader() {
        let response = SecretHTTP.Response(
            status: 400, headers: HTTPHeaders([("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal/")]),
            body: [])
        let error = AWSServiceError(response: response)
        #expect(error.code == "ResourceNotFoundException")
        #expect(error.secretError(what: "call", secrets: []).code == .notFound)
    }

    @Test("credentials and long messages are cut out of AWS's error text")
    func sanitized() {
        let secret = "wJalrXUtnFEMI-CANARY"
        let message = "The canonical string was\nPOST /\nx-amz-security-token:\(secret)\n" + String(repeating: "x", count: 500)
        let text = AWSServiceError.sanitize(message, secrets: [secret])
        #expect(!text.contains(secret))
        #expect(!text.contains("\n"))
        #expect(text.count <= 301)
    }

    @Test("STS answers are read for credentials and expiry")
    func stsAnswer() throws {
        let xml = """
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
            <Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>se&amp;cret</SecretAccessKey>
            <SessionToken>tok/en+=</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials>
            <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>
            """
        let credentials = try AWSSTS.credentials(in: xml, what: "STS")
        #expect(credentials.accessKeyID == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey == "se&cret")
        #expect(credentials.sessionToken == "tok/en+=")
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_553_445))
        #expect(!credentials.description.contains("se&cret"))
        #expect(!credentials.description.contains("tok/en"))
        #expect(throws: SecretError.self) { try AWSSTS.credentials(in: "<x/>", what: "STS") }
    }

    @Test("timestamps with and without fractional seconds parse")
    func timestamps() {
        #expect(AWSCredentials.parseTimestamp("2030-01-02T03:04:05Z") == Date(timeIntervalSince1970: 1_893_553_445))
        #expect(
            AWSCredentials.parseTimestamp("2030-01-02T03:04:05.500Z") == Date(timeIntervalSince1970: 1_893_553_445.5))
        #expect(AWSCredentials.parseTimestamp("not a date") == nil)
    }
}
