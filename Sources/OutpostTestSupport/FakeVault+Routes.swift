import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL

/// One request as the fake sees it, taken from the HTTP layer.
struct FakeVaultRequest: Sendable {
    var method: String
    /// Percent-decoded path segments after `/v1/`.
    var segments: [String]
    var query: [String: String]
    var token: String?
    var namespace: String?
    /// Whether `X-Vault-Request: true` came with it.
    var hasRequestHeader: Bool
    var body: [String: String]
    /// The DER of the client certificate the TLS connection presented.
    var clientCertificate: [UInt8]?

    var path: String { segments.joined(separator: "/") }
    var isList: Bool { method == "LIST" || query["list"] == "true" }
}

/// An answer: a status and a JSON body (or raw text, for malformed replies).
struct FakeVaultAnswer: Sendable {
    var status: Int
    var body: String

    init(_ status: Int, json: Any) {
        self.status = status
        let data = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data("{}".utf8)
        body = String(decoding: data, as: UTF8.self)
    }

    init(status: Int, raw: String) {
        self.status = status
        body = raw
    }

    static func errors(_ status: Int, _ messages: [String]) -> FakeVaultAnswer {
        FakeVaultAnswer(status, json: ["errors": messages])
    }

    static let permissionDenied = errors(403, ["1 error occurred:\n\t* permission denied\n\n"])
    static let notFound = errors(404, [])
}

/// The request context of the fake's server: it keeps the connection, whose TLS
/// handler knows the client certificate a certificate login presented.
struct FakeVaultContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

extension FakeVault {
    /// A router sending every method and path to `handle`.
    nonisolated func router() -> Router<FakeVaultContext> {
        let router = Router(context: FakeVaultContext.self)
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete] + [HTTPRequest.Method("LIST")].compactMap { $0 }
        for method in methods {
            router.on("/**", method: method) { request, context -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                var parsed = FakeVaultRequest(request, body: body)
                parsed.clientCertificate = try? await context.channel.nioSSL_peerCertificate().get()?.toDERBytes()
                let delay = await self.delay
                if delay > .zero { try await Task.sleep(for: delay) }
                let answer = await self.handle(parsed)
                return Response(
                    status: .init(code: answer.status), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: answer.body)))
            }
        }
        return router
    }

    /// Vault's behaviour for one request.
    func handle(_ request: FakeVaultRequest) async -> FakeVaultAnswer {
        let kind: RequestKind =
            if request.segments.last == "login" && request.method == "POST" {
                .login
            } else if request.path == "auth/token/renew-self" {
                .renew
            } else if request.path == "auth/token/lookup-self" || request.path == "sys/health" {
                .other
            } else {
                request.isList ? .list : .read
            }
        counts[kind, default: 0] += 1
        seenNamespaces.append(request.namespace)
        if requiresRequestHeader, !request.hasRequestHeader {
            // What Vault Agent and Vault Proxy answer with `require_request_header`.
            missingRequestHeaders += 1
            return .errors(412, ["missing 'X-Vault-Request' header"])
        }
        if let index = failures.firstIndex(where: { $0.kinds.contains(kind) }) {
            let status = failures.remove(at: index).status
            let message =
                switch status {
                case 503: "Vault is sealed"
                case 412: "required index state not present"
                default: "internal error"
                }
            return .errors(status, [message])
        }
        var answer = kind == .login ? await login(request) : route(request, kind: kind)
        if (200...299).contains(answer.status), malformedReplies > 0, kind != .other {
            malformedReplies -= 1
            answer = FakeVaultAnswer(status: answer.status, raw: "<html>upstream proxy error</html>")
        }
        return answer
    }

    private func route(_ request: FakeVaultRequest, kind: RequestKind) -> FakeVaultAnswer {
        if request.path == "sys/health" {
            return FakeVaultAnswer(200, json: ["initialized": true, "sealed": false, "standby": false])
        }
        guard let token = request.token, var info = tokens[token] else {
            rejectedTokens += 1
            return .permissionDenied
        }
        if let expires = info.expires, expires <= clock.now { info.revoked = true }
        guard !info.revoked, request.namespace == namespace else {
            rejectedTokens += 1
            return .permissionDenied
        }
        if request.path == "auth/token/lookup-self" {
            let ttl = info.expires.map { max(0, Int(($0 - clock.now).components.seconds)) } ?? 0
            return FakeVaultAnswer(200, json: [
                "data": ["policies": info.policies, "ttl": ttl, "renewable": info.renewable && ttl > 0, "id": token]
            ])
        }
        if request.path == "auth/token/renew-self" {
            return renewSelf(token, info, increment: request.body["increment"])
        }
        guard info.policies.contains(where: { $0 == "*" || request.path.hasPrefix($0) || (request.path + "/").hasPrefix($0) })
        else { return .permissionDenied }
        guard let (mountPath, mount, rest) = findMount(request.segments) else {
            return .errors(404, ["no handler for route \"\(request.path)\". route entry not found."])
        }
        return mount.kvVersion == 1
            ? kv1(mount, rest: rest, list: kind == .list)
            : kv2(mount, mountPath: mountPath, rest: rest, request: request, list: kind == .list)
    }

    /// `auth/token/renew-self`: a renewable token's lease starts again (`increment`
    /// seconds, default its TTL), never past its max TTL.
    private func renewSelf(_ token: String, _ info: TokenInfo, increment: String?) -> FakeVaultAnswer {
        guard info.renewable, info.ttlSeconds > 0 else { return .errors(400, ["lease is not renewable"]) }
        var seconds = increment.flatMap { Int($0.hasSuffix("s") ? String($0.dropLast()) : $0) } ?? info.ttlSeconds
        if let maxExpires = info.maxExpires {
            seconds = min(seconds, max(0, Int((maxExpires - clock.now).components.seconds)))
        }
        tokens[token]?.expires = clock.now + .seconds(seconds)
        var warnings: Any = NSNull()
        if seconds < info.ttlSeconds {
            warnings = ["TTL of \"\(info.ttlSeconds)s\" exceeded the effective max_ttl; TTL value is capped accordingly"]
        }
        return FakeVaultAnswer(200, json: [
            "request_id": UUID().uuidString.lowercased(), "lease_id": "", "renewable": false, "lease_duration": 0,
            "data": NSNull(), "wrap_info": NSNull(), "warnings": warnings,
            "auth": [
                "client_token": token, "accessor": "", "policies": info.policies, "token_policies": info.policies,
                "metadata": NSNull(), "lease_duration": seconds, "renewable": seconds > 0, "entity_id": "",
                "token_type": "service", "orphan": true,
            ] as [String: Any],
        ])
    }

    private func findMount(_ segments: [String]) -> (String, Mount, [String])? {
        for length in stride(from: segments.count, through: 1, by: -1) {
            let path = segments.prefix(length).joined(separator: "/")
            if let mount = mounts[path] { return (path, mount, Array(segments.dropFirst(length))) }
        }
        return nil
    }

    private func kv1(_ mount: Mount, rest: [String], list: Bool) -> FakeVaultAnswer {
        let path = rest.filter { !$0.isEmpty }.joined(separator: "/")
        if list { return listing(mount, folder: path) }
        guard let version = mount.secrets[path]?.last else { return .notFound }
        return FakeVaultAnswer(200, json: envelope(data: version.data, leaseDuration: 2_764_800))
    }

    private func kv2(
        _ mount: Mount, mountPath: String, rest: [String], request: FakeVaultRequest, list: Bool
    ) -> FakeVaultAnswer {
        guard let area = rest.first else { return .errors(404, ["no handler for route \"\(request.path)\""]) }
        let path = rest.dropFirst().filter { !$0.isEmpty }.joined(separator: "/")
        switch (area, list) {
        case ("metadata", true):
            return listing(mount, folder: path)
        case ("data", false):
            guard let versions = mount.secrets[path], !versions.isEmpty else { return .notFound }
            let asked = request.query["version"].flatMap { Int($0) } ?? 0
            let number = asked == 0 ? versions.count : asked
            guard (1...versions.count).contains(number) else { return .notFound }
            let version = versions[number - 1]
            let metadata: [String: Any] = [
                "created_time": Self.timestamp(version.created), "custom_metadata": NSNull(),
                "deletion_time": version.deleted.map(Self.timestamp) ?? "", "destroyed": version.destroyed,
                "version": number,
            ]
            if version.deleted != nil || version.destroyed {
                return FakeVaultAnswer(404, json: envelope(data: ["data": NSNull(), "metadata": metadata], leaseDuration: 0))
            }
            return FakeVaultAnswer(200, json: envelope(data: ["data": version.data, "metadata": metadata], leaseDuration: 0))
        default:
            return .errors(405, ["unsupported operation on \(mountPath)/\(area)"])
        }
    }

    /// The keys directly under `folder`: secrets by name, deeper ones as `sub/`.
    private func listing(_ mount: Mount, folder: String) -> FakeVaultAnswer {
        let base = folder.isEmpty ? "" : folder + "/"
        var keys = Set<String>()
        for path in mount.secrets.keys where path.hasPrefix(base) {
            let rest = path.dropFirst(base.count)
            if let slash = rest.firstIndex(of: "/") { keys.insert(String(rest[..<slash]) + "/") } else { keys.insert(String(rest)) }
        }
        guard !keys.isEmpty else { return .notFound }
        return FakeVaultAnswer(200, json: envelope(data: ["keys": keys.sorted()], leaseDuration: 0))
    }

    private func envelope(data: Any, leaseDuration: Int) -> [String: Any] {
        [
            "request_id": UUID().uuidString.lowercased(), "lease_id": "", "renewable": false,
            "lease_duration": leaseDuration, "data": data, "wrap_info": NSNull(), "warnings": NSNull(), "auth": NSNull(),
        ]
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

extension FakeVaultRequest {
    init(_ request: Request, body: ByteBuffer) {
        method = request.method.rawValue
        var path = Substring(request.uri.path)
        if path.hasPrefix("/v1/") { path = path.dropFirst(4) }
        segments = path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        self.query = query
        token = request.headers[HTTPField.Name("X-Vault-Token")!]
        namespace = request.headers[HTTPField.Name("X-Vault-Namespace")!]
        hasRequestHeader = request.headers[HTTPField.Name("X-Vault-Request")!]?.lowercased() == "true"
        clientCertificate = nil
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        self.body = object.compactMapValues { $0 as? String }
    }
}
