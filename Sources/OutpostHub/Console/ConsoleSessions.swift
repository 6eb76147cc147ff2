import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OutpostCore
import OutpostStore

/// Who is signed in to the console: the API token they signed in with (its name and
/// role, checked again on every request) and this session's CSRF token.
struct ConsoleUser: Sendable {
    var token: APITokenRow
    var role: APIRole
    /// The hidden `_csrf` field every form of this session carries.
    var csrf: String
    /// The stored hash of the session cookie, to sign out.
    var sessionHash: String

    func has(_ minimum: APIRole) -> Bool { role >= minimum }
}

/// Console sign-in: an API token, typed once into a form, becomes a session cookie.
///
/// The cookie holds 312 bits of randomness; the hub stores only its SHA-256, with the
/// API token it stands for and an absolute expiry. The session dies with its token
/// (revoked or rotated tokens sign every browser out) and on sign-out. The CSRF token
/// is derived from the cookie, so it needs no storage and cannot be computed by a page
/// that cannot read the cookie (HttpOnly).
struct ConsoleSessions: Sendable {
    static let cookieName = "outpost_session"
    let hub: Hub

    /// Checks the API token and opens a session; returns the cookie's value.
    func signIn(apiToken: String) async throws -> String {
        let row = try await hub.authenticator.user(token: apiToken.trimmingSpaces(), minimum: .reader)
        let value = Identifiers.token(prefix: "ocs")
        let now = hub.now()
        let session = ConsoleSessionRow(
            idHash: TokenHasher.hash(value), tokenID: row.id, createdAt: now,
            expiresAt: now.addingTimeInterval(hub.configuration.consoleSessionLifetime.seconds))
        try await hub.store.insertConsoleSession(session)
        hub.logger.info("console sign-in", metadata: ["token": "\(row.name)", "role": "\(row.role)"])
        return value
    }

    /// The signed-in user of this request, or `nil` (no cookie, unknown, expired,
    /// signed out, or its API token revoked).
    func user(of request: Request) async throws -> ConsoleUser? {
        guard let value = ConsoleCookies.value(named: Self.cookieName, in: request), !value.isEmpty else { return nil }
        let hash = TokenHasher.hash(value)
        guard let found = try await hub.store.consoleSession(idHash: hash, now: hub.now()),
            TokenHasher.constantTimeEquals(found.session.idHash, hash),
            let role = APIRole(rawValue: found.token.role)
        else { return nil }
        return ConsoleUser(token: found.token, role: role, csrf: Self.csrf(for: value), sessionHash: hash)
    }

    func signOut(_ user: ConsoleUser) async throws {
        try await hub.store.deleteConsoleSession(idHash: user.sessionHash)
        hub.logger.info("console sign-out", metadata: ["token": "\(user.token.name)"])
    }

    /// The session's CSRF token: a keyed hash of the cookie's value.
    static func csrf(for cookieValue: String) -> String {
        let key = SymmetricKey(data: Array(cookieValue.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("outpost console csrf".utf8), using: key)
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// `Set-Cookie` for a new session: script cannot read it, no other site sends it,
    /// and over TLS it never travels in the clear.
    func setCookie(_ value: String) -> String {
        let lifetime = Int(hub.configuration.consoleSessionLifetime.seconds)
        return ConsoleCookies.header(Self.cookieName, value, maxAge: lifetime, secure: hub.configuration.tls != nil)
    }

    func clearCookie() -> String {
        ConsoleCookies.header(Self.cookieName, "", maxAge: 0, secure: hub.configuration.tls != nil)
    }
}

/// Reading and writing the console's cookies.
enum ConsoleCookies {
    static func value(named name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func header(_ name: String, _ value: String, maxAge: Int, secure: Bool, path: String = "/") -> String {
        var parts = ["\(name)=\(value)", "Path=\(path)", "Max-Age=\(maxAge)", "HttpOnly", "SameSite=Strict"]
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }
}
