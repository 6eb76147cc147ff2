import Foundation
import Logging
import NIOHTTP1

/// The provider's client token: logged in on first use, reused until its lease
/// is nearly over, replaced once when Vault rejects it. Concurrent callers
/// share one login.
actor VaultSession {
    /// A client token and when to stop using it.
    struct Token: Sendable, Equatable, CustomStringConvertible {
        var value: String
        /// When to log in again (a little before the lease ends); `nil`: never.
        var renewAt: ContinuousClock.Instant?

        var description: String { "VaultSession.Token(<hidden>)" }
    }

    private let auth: VaultAuthMethod
    private let client: VaultClient
    private let logger: Logger
    private let clock = ContinuousClock()
    private var current: Token?
    private var pending: Task<Token, any Error>?
    /// Credentials sent to Vault so far, to scrub them from error text.
    private(set) var credentials: [String] = []

    init(auth: VaultAuthMethod, client: VaultClient, logger: Logger) {
        self.auth = auth
        self.client = client
        self.logger = logger
    }

    /// The token to use now, logging in when there is none or its lease is nearly over.
    func token() async throws(SecretError) -> Token {
        if let current, isFresh(current) { return current }
        return try await login()
    }

    /// A new token after Vault rejected `rejected`; `nil` when logging in again
    /// cannot help (a literal token, or the login gave the same token).
    func renew(rejected: Token) async throws(SecretError) -> Token? {
        guard auth.canRenew else { return nil }
        // Another caller may have renewed it already.
        if let current, current.value != rejected.value, isFresh(current) { return current }
        current = nil
        logger.notice("Vault rejected the client token; logging in again", metadata: ["auth": "\(auth.name)"])
        let fresh = try await login()
        return fresh.value == rejected.value ? nil : fresh
    }

    private func isFresh(_ token: Token) -> Bool {
        token.renewAt.map { clock.now < $0 } ?? true
    }

    private func login() async throws(SecretError) -> Token {
        let task: Task<Token, any Error>
        if let pending {
            task = pending
        } else {
            task = Task { [auth, client, logger] in try await Self.logIn(auth: auth, client: client, logger: logger) }
            pending = task
        }
        // A caller that gives up (the attempt's timeout) stops the login; the
        // others see a retryable failure and the next attempt logs in afresh.
        let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
        if pending == task { pending = nil }
        switch result {
        case .success(let token):
            if !credentials.contains(token.value) { credentials.append(token.value) }
            current = token
            return token
        case .failure(let error as SecretError):
            throw error
        case .failure(let error):
            throw SecretError(.unreachable, "Vault login failed: \(error)")
        }
    }

    /// One login with `auth`.
    private static func logIn(
        auth: VaultAuthMethod, client: VaultClient, logger: Logger
    ) async throws(SecretError) -> Token {
        let path: String
        let body: [String: String]
        let secret: String
        switch auth {
        case .token(let credential):
            return Token(value: try credential.value(), renewAt: nil)
        case .appRole(let roleID, let secretID, let authPath):
            secret = try secretID.value()
            path = authPath
            body = ["role_id": roleID, "secret_id": secret]
        case .kubernetes(let role, let jwtFile, let authPath):
            secret = try CredentialFile.read(jwtFile, option: "auth.jwt_file")
            path = authPath
            body = ["role": role, "jwt": secret]
        }
        let loginPath = VaultPath.escape(path.split(separator: "/").map(String.init)) + "/login"
        let response = try await client.send(.POST, loginPath, token: nil, json: body)
        guard response.status == 200 else {
            let words = VaultClient.errorText(response, credentials: [secret])
            let detail = "Vault refused the \(auth.name) login at \(path)/login (HTTP \(response.status)): \(words)"
            switch response.status {
            case 408, 429, 500...599: throw SecretError(.unreachable, detail)
            default: throw SecretError(.denied, detail)
            }
        }
        guard let login = try? JSONDecoder().decode(VaultLoginBody.self, from: Data(response.body)),
            let granted = login.auth, !granted.clientToken.isEmpty
        else {
            throw SecretError(.malformed, "Vault's \(auth.name) login at \(path)/login answered without auth.client_token")
        }
        let lease = max(granted.leaseDuration ?? 0, 0)
        logger.info(
            "logged in to Vault", metadata: ["auth": "\(auth.name)", "path": "\(path)", "lease_seconds": "\(lease)"])
        return Token(value: granted.clientToken, renewAt: renewalInstant(leaseSeconds: lease))
    }

    /// A tenth of the lease before it ends (at least 5 s or half a short lease,
    /// at most a minute), so a request never goes out with a token about to
    /// lapse, even on a slow network; `nil` without a lease.
    static func renewalInstant(leaseSeconds: Int) -> ContinuousClock.Instant? {
        guard leaseSeconds > 0 else { return nil }
        let lease = Duration.seconds(leaseSeconds)
        let margin = min(max(lease / 10, min(lease / 2, .seconds(5))), .seconds(60))
        return ContinuousClock.now + lease - margin
    }
}
