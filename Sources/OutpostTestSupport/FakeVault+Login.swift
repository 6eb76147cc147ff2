import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import SwiftASN1
import X509

/// The fake's auth methods: `POST /v1/<mount>/login` for AppRole, Kubernetes, JWT,
/// AWS IAM and TLS certificates, each checking what the real method checks.
extension FakeVault {
    func login(_ request: FakeVaultRequest) async -> FakeVaultAnswer {
        guard request.namespace == namespace else { return .permissionDenied }
        let mountPath = request.segments.dropLast().joined(separator: "/")
        let answer: FakeVaultAnswer
        let method: String
        if let roles = appRoles[mountPath] {
            (method, answer) = ("approle", appRoleLogin(request, roles))
        } else if let roles = kubernetesRoles[mountPath] {
            (method, answer) = ("kubernetes", kubernetesLogin(request, roles))
        } else if let roles = jwtRoles[mountPath] {
            (method, answer) = ("jwt", jwtLogin(request, roles))
        } else if let configuration = awsConfigs[mountPath] {
            (method, answer) = ("aws", await awsLogin(request, configuration, awsRoles[mountPath] ?? [:]))
        } else if let roles = certRoles[mountPath] {
            (method, answer) = ("cert", certLogin(request, roles))
        } else {
            return .errors(400, ["no handler for route \"\(request.path)\". route entry not found."])
        }
        if answer.status == 200 { loginsByMethod[method, default: 0] += 1 }
        return answer
    }

    private func appRoleLogin(_ request: FakeVaultRequest, _ roles: [String: AppRole]) -> FakeVaultAnswer {
        guard let roleID = request.body["role_id"], !roleID.isEmpty else { return .errors(400, ["missing role_id"]) }
        guard let role = roles.values.first(where: { $0.roleID == roleID }), request.body["secret_id"] == role.secretID
        else { return .errors(400, ["invalid role or secret ID"]) }
        return issue(ttl: role.tokenTTL, policies: role.policies, metadata: ["role_name": roleID])
    }

    private func kubernetesLogin(_ request: FakeVaultRequest, _ roles: [String: KubernetesRole]) -> FakeVaultAnswer {
        guard let name = request.body["role"], let role = roles[name] else {
            return .errors(400, ["invalid role name \"\(request.body["role"] ?? "")\""])
        }
        guard request.body["jwt"] == role.jwt else { return .permissionDenied }
        return issue(ttl: role.tokenTTL, policies: role.policies, metadata: ["role": name])
    }

    // MARK: JWT

    /// Vault's `jwt` method with `jwt_validation_pubkeys`: signature, then `exp`/`nbf`
    /// (no leeway beyond a minute), then the role's bound audiences and subject.
    private func jwtLogin(_ request: FakeVaultRequest, _ roles: [String: JWTRole]) -> FakeVaultAnswer {
        guard let name = request.body["role"], !name.isEmpty else { return .errors(400, ["missing role"]) }
        guard let role = roles[name] else { return .errors(400, ["role \"\(name)\" could not be found"]) }
        guard let jwt = request.body["jwt"], !jwt.isEmpty else { return .errors(400, ["missing token"]) }
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = Self.base64URLDecode(parts[0]),
            let payloadData = Self.base64URLDecode(parts[1]), let signatureData = Self.base64URLDecode(parts[2]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any]
        else { return .errors(400, ["error validating token: malformed token"]) }
        guard header["alg"] as? String == "ES256",
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
            role.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8))
        else { return .errors(400, ["error validating token: failed to verify id token signature"]) }
        let now = Date().timeIntervalSince1970
        guard let exp = claims["exp"] as? Double, exp + 60 > now else {
            return .errors(400, ["error validating claims: token is expired (exp)"])
        }
        if let nbf = claims["nbf"] as? Double, nbf - 60 > now {
            return .errors(400, ["error validating claims: token not valid yet (nbf)"])
        }
        let audiences = (claims["aud"] as? [String]) ?? (claims["aud"] as? String).map { [$0] } ?? []
        guard audiences.contains(where: role.boundAudiences.contains) else {
            return .errors(400, ["error validating claims: invalid audience (aud) claim: audience claim does not match any expected audience"])
        }
        if let subject = role.boundSubject, claims["sub"] as? String != subject {
            return .errors(400, ["error validating claims: sub (subject) claim does not match bound subject"])
        }
        return issue(ttl: role.tokenTTL, policies: role.policies, metadata: ["role": name])
    }

    static func base64URLDecode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    // MARK: AWS IAM

    /// Vault's `aws` method, `iam` type: the decoded request must be a signed
    /// `GetCallerIdentity` (with the server ID header signed, when one is configured);
    /// Vault sends it to its STS endpoint with the `Host` the client signed, and STS's
    /// answer names the caller, whose ARN must be bound to the role.
    private func awsLogin(
        _ request: FakeVaultRequest, _ configuration: AWSConfig, _ roles: [String: AWSRole]
    ) async -> FakeVaultAnswer {
        guard let name = request.body["role"], !name.isEmpty else {
            return .errors(400, ["missing role (this fake does not infer it from the IAM principal)"])
        }
        guard let role = roles[name] else { return .errors(400, ["entry for role \(name) not found"]) }
        guard request.body["iam_http_request_method"] == "POST" else {
            return .errors(400, ["invalid iam_http_request_method; currently only 'POST' is supported"])
        }
        guard let urlText = request.body["iam_request_url"].flatMap({ Data(base64Encoded: $0) }).map({ String(decoding: $0, as: UTF8.self) }),
            let url = URLComponents(string: urlText), let host = url.host
        else { return .errors(400, ["error parsing iam_request_url"]) }
        guard let body = request.body["iam_request_body"].flatMap({ Data(base64Encoded: $0) }) else {
            return .errors(400, ["failed to base64 decode iam_request_body"])
        }
        guard let headersData = request.body["iam_request_headers"].flatMap({ Data(base64Encoded: $0) }),
            let headerObject = try? JSONSerialization.jsonObject(with: headersData) as? [String: Any]
        else { return .errors(400, ["error parsing iam_request_headers"]) }
        var headers: [(String, String)] = []
        for (key, value) in headerObject {
            if let text = value as? String {
                headers.append((key, text))
            } else if let list = value as? [String] {
                headers.append(contentsOf: list.map { (key, $0) })
            } else {
                return .errors(400, ["error parsing iam_request_headers: header \(key) is not a string or a list"])
            }
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        let form = String(decoding: body, as: UTF8.self)
        guard form.split(separator: "&").contains("Action=GetCallerIdentity") else {
            return .errors(400, ["iam_request_body is not a GetCallerIdentity request"])
        }
        if let expected = configuration.serverID {
            guard let presented = header("X-Vault-AWS-IAM-Server-ID") else {
                return .errors(400, ["missing header \"X-Vault-AWS-IAM-Server-ID\""])
            }
            guard presented == expected else {
                return .errors(400, ["expected \"\(expected)\" but got \"\(presented)\""])
            }
            let signed = header("Authorization")?.components(separatedBy: "SignedHeaders=").dropFirst().first?
                .split(separator: ",").first?.split(separator: ";").map { $0.lowercased() } ?? []
            guard signed.contains("x-vault-aws-iam-server-id") else {
                return .errors(400, ["vault header wasn't signed"])
            }
        }
        // Vault: the configured endpoint, the client's path and query, the Host it signed.
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let target = configuration.stsEndpoint + (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath)
            + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
        var outgoing = HTTPClientRequest(url: target)
        outgoing.method = .POST
        for (name, value) in headers where !["host", "content-length"].contains(name.lowercased()) {
            outgoing.headers.add(name: name, value: value)
        }
        outgoing.headers.replaceOrAdd(name: "Host", value: header("Host") ?? authority)
        outgoing.body = .bytes(ByteBuffer(bytes: body))
        stsRequests += 1
        let status: Int
        let answer: String
        do {
            let response = try await Self.stsClient.execute(outgoing, timeout: .seconds(15))
            status = Int(response.status.code)
            answer = String(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            return .errors(500, ["error making upstream request: \(error)"])
        }
        guard status == 200 else {
            return .errors(400, ["error making upstream request: received error code \(status) from STS: \(answer)"])
        }
        guard let arn = Self.xmlValue("Arn", in: answer) else {
            return .errors(400, ["error parsing STS response: no Arn"])
        }
        guard role.boundPrincipals.contains(where: { Self.principal(arn, matches: $0) }) else {
            return .errors(403, ["IAM principal \(arn) does not belong to the role \(name)"])
        }
        return issue(
            ttl: role.tokenTTL, policies: role.policies,
            metadata: ["role": name, "canonical_arn": arn, "account_id": arn.split(separator: ":").dropFirst(4).first.map(String.init) ?? ""])
    }

    /// The fake's own client for STS (redirects not followed, as Vault does not).
    static let stsClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// `bound_iam_principal_arn` matching: exact, a trailing `*`, or a role ARN for its sessions.
    static func principal(_ arn: String, matches bound: String) -> Bool {
        if bound.hasSuffix("*") { return arn.hasPrefix(bound.dropLast()) }
        if arn == bound { return true }
        // arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION is a session of arn:aws:iam::ACCOUNT:role/NAME.
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[2] == "sts", parts[5].hasPrefix("assumed-role/") else { return false }
        let names = parts[5].split(separator: "/")
        guard names.count == 3 else { return false }
        return bound == "arn:\(parts[1]):iam::\(parts[4]):role/\(names[1])"
    }

    static func xmlValue(_ tag: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(tag)>"), let end = xml.range(of: "</\(tag)>", range: start.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[start.upperBound..<end.lowerBound])
    }

    // MARK: TLS certificates

    /// Vault's `cert` method: the certificate the TLS connection presented (the
    /// handshake already checked that it is valid and that the client holds its key)
    /// must be issued by the role's CA (`name`) or by any role's CA.
    private func certLogin(_ request: FakeVaultRequest, _ roles: [String: CertRole]) -> FakeVaultAnswer {
        guard let der = request.clientCertificate, let presented = try? Certificate(derEncoded: der) else {
            return .errors(400, ["client certificate must be supplied"])
        }
        let candidates: [(String, CertRole)]
        if let name = request.body["name"], !name.isEmpty {
            guard let role = roles[name] else { return .errors(400, ["invalid certificate or no client certificate supplied"]) }
            candidates = [(name, role)]
        } else {
            candidates = roles.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        let now = Date()
        for (name, role) in candidates {
            guard presented.issuer == role.certificate.subject,
                role.certificate.publicKey.isValidSignature(presented.signature, for: presented),
                presented.notValidBefore <= now, now <= presented.notValidAfter
            else { continue }
            let commonName = presented.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }
                .map { "\($0.value)" } ?? ""
            if let allowed = role.allowedCommonNames, !allowed.contains(commonName) { continue }
            return issue(
                ttl: role.tokenTTL, policies: role.policies, metadata: ["cert_name": name, "common_name": commonName])
        }
        return .errors(400, ["invalid certificate or no client certificate supplied"])
    }

    // MARK: Tokens

    func issue(ttl: Int, policies: [String], metadata: [String: String], renewable: Bool = true) -> FakeVaultAnswer {
        let token = "hvs." + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! })
        tokens[token] = TokenInfo(
            policies: policies, ttlSeconds: ttl, expires: ttl > 0 ? clock.now + .seconds(ttl) : nil,
            renewable: renewable && ttl > 0)
        let auth: [String: Any] = [
            "client_token": token, "accessor": UUID().uuidString.lowercased(), "policies": policies,
            "token_policies": policies, "metadata": metadata, "lease_duration": ttl, "renewable": renewable && ttl > 0,
            "entity_id": "", "token_type": "service", "orphan": true,
        ]
        return FakeVaultAnswer(200, json: [
            "request_id": UUID().uuidString.lowercased(), "lease_id": "", "renewable": false, "lease_duration": 0,
            "data": NSNull(), "wrap_info": NSNull(), "warnings": NSNull(), "auth": auth,
        ])
    }
}
