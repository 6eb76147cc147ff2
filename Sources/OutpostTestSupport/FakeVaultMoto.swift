import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An IAM user in a private moto server for the Vault AWS-login tests that cannot use
/// the secret tests' own moto fixture (the end-to-end tests): made within a budget of
/// unchecked actions, after which moto checks every signature again, so the fake
/// Vault's STS calls for an `aws` login go through real signature checking.
package enum FakeVaultMoto {
    /// Moto's account.
    package static let account = "123456789012"

    /// A new IAM user `name` and its access keys. Spends two unchecked actions
    /// (`POST /moto-api/reset-auth`), so use a private server (`MotoServer.startPrivate`).
    package static func createUser(_ name: String, motoURL: String) async throws -> (
        accessKeyID: String, secretAccessKey: String, arn: String
    ) {
        _ = try await post(motoURL + "/moto-api/reset-auth", body: "2", headers: [:])
        // Unchecked, but signed-looking: the credential scope tells moto the service (iam).
        let headers = [
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBOOTSTRAP/20260101/us-east-1/iam/aws4_request, "
                + "SignedHeaders=host, Signature=00",
        ]
        _ = try await post(motoURL + "/", body: "Action=CreateUser&UserName=\(name)&Version=2010-05-08", headers: headers)
        let keys = try await post(
            motoURL + "/", body: "Action=CreateAccessKey&UserName=\(name)&Version=2010-05-08", headers: headers)
        guard let id = FakeVault.xmlValue("AccessKeyId", in: keys),
            let secret = FakeVault.xmlValue("SecretAccessKey", in: keys)
        else { throw HarnessError("moto's CreateAccessKey answered without keys: \(keys.prefix(500))") }
        return (id, secret, "arn:aws:iam::\(account):user/\(name)")
    }

    private static func post(_ url: String, body: String, headers: [String: String]) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await FakeVault.stsClient.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status.code == 200 else {
            throw HarnessError("moto answered \(response.status.code) to \(url): \(text.prefix(500))")
        }
        return text
    }
}
