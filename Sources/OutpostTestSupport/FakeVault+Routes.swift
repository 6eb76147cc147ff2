import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One request as the fake sees it, taken from the HTTP layer.
struct FakeVaultRequest: Sendable {
    var method: String
    /// Percent-decoded path segments after `/v1/`.
    var segments: [String]
    var query: [String: String]
    var token: String?
    var namespace: String?
    var body: [String: String]

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

extension FakeVault {
    /// A router sending every method and path to `handle`.
    nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete] + [HTTPRequest.Method("LIST")].compactMap { $0 }
        for method in methods {
            router.on("/**", method: method) { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                let parsed = FakeVaultRequest(request, body: body)
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
    func handle(_ request: FakeVaultRequest) -> FakeVaultAnswer {
        let kind: RequestKind =
            request.segments.last == "login" && request.method == "POST" ? .login : request.isList ? .list : .read
        counts[kind, default: 0] += 1
        seenNamespaces.append(request.namespace)
        if let index = failures.firstIndex(where: { $0.kinds.contains(kind) }) {
            let status = failures.remove(at: index).status
            return .errors(status, [status == 503 ? "Vault is sealed" : "internal error"])
        }
        var answer = route(request, kind: kind)
        if (200...299).contains(answer.status), malformedReplies > 0 {
            malformedReplies -= 1
            answer = FakeVaultAnswer(status: answer.status, raw: "<html>upstream proxy error</html>")
        }
        return answer
    }

    private func route(_ request: FakeVaultRequest, kind: RequestKind) -> FakeVaultAnswer {
        if request.path == "sys/health" {
            return FakeVaultAnswer(200, json: ["initialized": true, "sealed": false, "standby": false])
        }
        if kind == .login { return login(request) }
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
            return FakeVaultAnswer(200, json: ["data": ["policies": info.policies, "ttl": ttl, "renewable": ttl > 0]])
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

    private func login(_ request: FakeVaultRequest) -> FakeVaultAnswer {
        guard request.namespace == namespace else { return .permissionDenied }
        let mountPath = request.segments.dropLast().joined(separator: "/")
        if let roles = appRoles[mountPath] {
            guard let roleID = request.body["role_id"], !roleID.isEmpty else { return .errors(400, ["missing role_id"]) }
            guard let role = roles.values.first(where: { $0.roleID == roleID }), request.body["secret_id"] == role.secretID
            else { return .errors(400, ["invalid role or secret ID"]) }
            return issue(ttl: role.tokenTTL, policies: role.policies, metadata: ["role_name": roleID])
        }
        if let roles = kubernetesRoles[mountPath] {
            guard let name = request.body["role"], let role = roles[name] else {
                return .errors(400, ["invalid role name \"\(request.body["role"] ?? "")\""])
            }
            guard request.body["jwt"] == role.jwt else { return .permissionDenied }
            return issue(ttl: role.tokenTTL, policies: role.policies, metadata: ["role": name])
        }
        return .errors(400, ["no handler for route \"\(request.path)\". route entry not found."])
    }

    private func issue(ttl: Int, policies: [String], metadata: [String: String]) -> FakeVaultAnswer {
        let token = "hvs." + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! })
        tokens[token] = TokenInfo(
            policies: policies, ttlSeconds: ttl, expires: ttl > 0 ? clock.now + .seconds(ttl) : nil)
        let auth: [String: Any] = [
            "client_token": token, "accessor": UUID().uuidString.lowercased(), "policies": policies,
            "token_policies": policies, "metadata": metadata, "lease_duration": ttl, "renewable": true,
            "entity_id": "", "token_type": "service", "orphan": true,
        ]
        return FakeVaultAnswer(200, json: [
            "request_id": UUID().uuidString.lowercased(), "lease_id": "", "renewable": false, "lease_duration": 0,
            "data": NSNull(), "wrap_info": NSNull(), "warnings": NSNull(), "auth": auth,
        ])
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
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        self.body = object.compactMapValues { $0 as? String }
    }
}
