import Foundation
import OutpostCore
import Testing

@Suite("AWS naming rules of an agent type")
struct AWSNamingRulesTests {
    @Test("JSON uses snake_case keys; allowed roles and the endpoint have defaults")
    func coding() throws {
        let rules = AWSNamingRules(
            accountID: "123456789012", allowedRoles: ["runner"], stsEndpoint: "https://sts.eu-west-1.amazonaws.com")
        let json = String(decoding: try WireJSON.encoder().encode(rules), as: UTF8.self)
        #expect(
            json
                == #"{"account_id":"123456789012","allowed_roles":["runner"],"sts_endpoint":"https://sts.eu-west-1.amazonaws.com"}"#
        )
        #expect(try WireJSON.decoder().decode(AWSNamingRules.self, from: Data(json.utf8)) == rules)
        let minimal = try WireJSON.decoder().decode(AWSNamingRules.self, from: Data(#"{"account_id":"123456789012"}"#.utf8))
        #expect(minimal == AWSNamingRules(accountID: "123456789012", allowedRoles: [], stsEndpoint: "https://sts.amazonaws.com"))
    }

    static let invalid: [(AWSNamingRules, String, String)] = [
        (AWSNamingRules(accountID: "12345678901"), "aws_account_id", "AWS account id \"12345678901\" must be 12 digits"),
        (AWSNamingRules(accountID: "12345678901x"), "aws_account_id", "AWS account id \"12345678901x\" must be 12 digits"),
        (
            AWSNamingRules(accountID: "123456789012", allowedRoles: ["ok", "bad role"]), "aws_role",
            "AWS role name \"bad role\" must be 1 to 64 characters of letters, digits and +=,.@_-"
        ),
        (
            AWSNamingRules(accountID: "123456789012", allowedRoles: [String(repeating: "r", count: 65)]), "aws_role",
            "AWS role name \"\(String(repeating: "r", count: 65))\" must be 1 to 64 characters of letters, digits and +=,.@_-"
        ),
        (
            AWSNamingRules(accountID: "123456789012", stsEndpoint: "ftp://sts.amazonaws.com"), "sts_endpoint",
            "STS endpoint \"ftp://sts.amazonaws.com\" must be an http:// or https:// URL with a host and no path or query"
        ),
        (
            AWSNamingRules(accountID: "123456789012", stsEndpoint: "https://sts.amazonaws.com/x?y=1"), "sts_endpoint",
            "STS endpoint \"https://sts.amazonaws.com/x?y=1\" must be an http:// or https:// URL with a host and no path or query"
        ),
    ]

    @Test("invalid rules are refused naming the field", arguments: invalid)
    func validation(_ rules: AWSNamingRules, _ field: String, _ message: String) {
        #expect(throws: ValidationError(field: field, message: message)) { try rules.validate() }
    }

    @Test("valid rules pass")
    func valid() throws {
        try AWSNamingRules(accountID: "123456789012").validate()
        try AWSNamingRules(
            accountID: "000000000000", allowedRoles: ["runner", "a+b=c,d.e@f_g-h"], stsEndpoint: "http://127.0.0.1:5000/"
        ).validate()
    }
}
