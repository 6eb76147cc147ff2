import Foundation
import Logging
import NIOHTTP1

/// The provider's client token: logged in on first use; two thirds into its lease
/// renewed with `auth/token/renew-self` when it is renewable, otherwise (or when
/// renewal fails) replaced by a new login where the method allows one; replaced
/// once when Vault rejects it. Concurrent callers share one login or renewal.
actor VaultSession {
    /// A client token and what is known of its lease.
    struct Token: Sendable, Equatable, CustomStringConvertible {
        var value: String
        /// When to renew it or log in again (two thirds into the lease); `nil`: never.
        var renewAt: ContinuousClock.Instant?
        /// Whether `auth/token/renew-self` may extend it.
        var renewable = false
        /// The lease it got at its login or last renewal, in seconds (0: none).
        var leaseSeconds = 0

        var description: String { "VaultSession.Token(<hidden>)" }
    }

    /// The session's notion of now (a test's clock moves by hand).
    typealias Now = @Sendable () -> ContinuousClock.Instant

    /// What a login or renewal needs besides the token.
    private struct Context: Sendable {
        var auth: VaultAuthMethod
        var client: VaultClient
        var logger: Logger
        var now: Now
        var aws: VaultAWSCredentials?
    }

    private let context: Context
    private var current: Token?
    /// The renewal or login under way, and its number: tasks are numbered as they
    /// start, and a result older than the one in `current` is not put back there.
    private var pending: (task: Task<Token, any Error>, number: Int)?
    private var started = 0
    private var applied = 0
    /// Credentials sent to Vault so far, to scrub them from error text.
    private(set) var credentials: [String] = []

    /// - Parameters:
    ///   - environment: the agent's environment, where an `aws` login finds AWS credentials.
    ///   - now: the clock leases are measured with.
    init(
        auth: VaultAuthMethod, client: VaultClient, logger: Logger, environment: [String: String] = [:],
        now: @escaping Now = { ContinuousClock.now }
    ) {
        var aws: VaultAWSCredentials?
        if case .aws(let login) = auth {
            aws = VaultAWSCredentials(login: login, environment: environment, http: client.http, logger: logger)
        }
        context = Context(auth: auth, client: client, logger: logger, now: now, aws: aws)
    }

    /// The token to use now: the current one, or one renewed or logged in afresh
    /// when there is none or two thirds of its lease are over.
    func token() async throws(SecretError) -> Token {
        if let current, isFresh(current) { return current }
        return try await refresh(replacing: current, relogin: false)
    }

    /// A new token after Vault rejected `rejected`; `nil` when logging in again
    /// cannot help (a literal token, or the login gave the same token).
    func renew(rejected: Token) async throws(SecretError) -> Token? {
        guard context.auth.canRenew else { return nil }
        // A renewal or login under way may already replace the token; if it does not,
        // it is done with, and a login of this caller's own follows.
        if let running = pending {
            let result = await running.task.result
            if pending?.number == running.number { pending = nil }
            if case .success(let token) = result, token.value != rejected.value {
                return keep(token, number: running.number)
            }
        }
        // Another caller may have renewed it already.
        if let current, current.value != rejected.value, isFresh(current) { return current }
        current = nil
        context.logger.notice("Vault rejected the client token; logging in again", metadata: ["auth": "\(context.auth.name)"])
        let fresh = try await refresh(replacing: nil, relogin: true)
        return fresh.value == rejected.value ? nil : fresh
    }

    private func isFresh(_ token: Token) -> Bool {
        token.renewAt.map { context.now() < $0 } ?? true
    }

    /// Renews `old` or logs in, once for all concurrent callers.
    private func refresh(replacing old: Token?, relogin: Bool) async throws(SecretError) -> Token {
        let running: (task: Task<Token, any Error>, number: Int)
        if let pending {
            running = pending
        } else {
            started += 1
            let task = Task { [context] in
                if let old, !relogin { return try await Self.refresh(old, context) }
                return try await Self.logIn(context)
            }
            running = (task, started)
            pending = running
        }
        // A caller that gives up (the attempt's timeout) stops the work; the
        // others see a retryable failure and the next attempt starts afresh.
        let task = running.task
        let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
        if pending?.number == running.number { pending = nil }
        switch result {
        case .success(let token):
            return keep(token, number: running.number)
        case .failure(let error as SecretError):
            throw error
        case .failure(let error):
            throw SecretError(.unreachable, "Vault login failed: \(error)")
        }
    }

    /// Makes `token`, the result of task `number`, the current one unless a later
    /// task's result already is.
    private func keep(_ token: Token, number: Int) -> Token {
        if !credentials.contains(token.value) { credentials.append(token.value) }
        if number > applied {
            applied = number
            current = token
        }
        return token
    }

    // MARK: Renewal

    /// `old`'s lease is two thirds over: renew it if it is renewable, else (or when
    /// Vault refuses the renewal) log in again where the method can; a literal token
    /// that can do neither is kept until Vault rejects it.
    private static func refresh(_ old: Token, _ context: Context) async throws(SecretError) -> Token {
        if old.renewable {
            do {
                return try await renewSelf(old, context)
            } catch where error.code == .unreachable {
                throw error
            } catch {
                context.logger.notice(
                    "renewing the Vault token failed; \(context.auth.canRenew ? "logging in again" : "keeping it until Vault rejects it")",
                    metadata: ["auth": "\(context.auth.name)", "error": "\(error.detail)"])
            }
        }
        guard context.auth.canRenew else {
            return Token(value: old.value, renewAt: nil, renewable: false, leaseSeconds: old.leaseSeconds)
        }
        return try await logIn(context)
    }

    /// `POST /v1/auth/token/renew-self` with the token itself.
    /// - Throws: `.unreachable` when Vault does not answer or answers 5xx; `.denied`
    ///   (or another code) when it refuses.
    private static func renewSelf(_ old: Token, _ context: Context) async throws(SecretError) -> Token {
        let response = try await context.client.send(.POST, "auth/token/renew-self", token: old.value, json: [:])
        guard response.status == 200 else {
            throw VaultClient.failure(response, "POST auth/token/renew-self", credentials: [old.value])
        }
        guard let body = try? JSONDecoder().decode(VaultLoginBody.self, from: Data(response.body)), let granted = body.auth
        else {
            throw SecretError(.malformed, "Vault answered auth/token/renew-self without an auth block")
        }
        let lease = max(granted.leaseDuration ?? 0, 0)
        // A lease shorter than the last one was cut at the token's max TTL: it cannot
        // grow again, so the next time a new login (where there is one) takes over.
        let capped = lease < old.leaseSeconds
        context.logger.info(
            "renewed the Vault token",
            metadata: ["auth": "\(context.auth.name)", "lease_seconds": "\(lease)", "max_ttl_reached": "\(capped)"])
        let value = granted.clientToken.isEmpty ? old.value : granted.clientToken
        return Token(
            value: value, renewAt: renewalInstant(leaseSeconds: lease, now: context.now()),
            renewable: (granted.renewable ?? true) && !capped && lease > 0, leaseSeconds: lease)
    }

    // MARK: Login

    /// One login with the configured method (for `token`, reading it and looking up its lease).
    private static func logIn(_ context: Context) async throws(SecretError) -> Token {
        let auth = context.auth
        let body: [String: String]
        var secrets: [String] = []
        switch auth {
        case .token(let credential):
            return try await lookUp(try credential.value(), context)
        case .appRole(let roleID, let secretID, _):
            let secret = try secretID.value()
            secrets = [secret]
            body = ["role_id": roleID, "secret_id": secret]
        case .kubernetes(let role, let jwtFile, _):
            let jwt = try CredentialFile.read(jwtFile, option: "auth.jwt_file")
            secrets = [jwt]
            body = ["role": role, "jwt": jwt]
        case .jwt(let role, let tokenFile, _):
            let jwt = try CredentialFile.read(tokenFile, option: "auth.token_file")
            secrets = [jwt]
            body = ["role": role, "jwt": jwt]
        case .aws(let login):
            guard let aws = context.aws else { throw SecretError(.denied, "the aws login has no AWS credential chain") }
            let credentials = try await aws.credentials()
            secrets = [credentials.secretAccessKey] + (credentials.sessionToken.map { [$0] } ?? [])
            body = try login.loginBody(credentials: credentials)
        case .cert(let login):
            try context.client.tls?.reloadClientCertificate()
            body = login.name.map { ["name": $0] } ?? [:]
        }
        let path = auth.path ?? ""
        let loginPath = VaultPath.escape(path.split(separator: "/").map(String.init)) + "/login"
        let response = try await context.client.send(.POST, loginPath, token: nil, json: body)
        guard response.status == 200 else {
            let words = VaultClient.errorText(response, credentials: secrets)
            let detail = "Vault refused the \(auth.name) login at \(path)/login (HTTP \(response.status)): \(words)"
            switch response.status {
            case 408, 412, 429, 500...599: throw SecretError(.unreachable, detail)
            default:
                // Temporary AWS credentials may have been revoked early: find them afresh next time.
                await context.aws?.invalidate()
                throw SecretError(.denied, detail)
            }
        }
        guard let login = try? JSONDecoder().decode(VaultLoginBody.self, from: Data(response.body)),
            let granted = login.auth, !granted.clientToken.isEmpty
        else {
            throw SecretError(.malformed, "Vault's \(auth.name) login at \(path)/login answered without auth.client_token")
        }
        let lease = max(granted.leaseDuration ?? 0, 0)
        let renewable = (granted.renewable ?? false) && lease > 0
        context.logger.info(
            "logged in to Vault",
            metadata: [
                "auth": "\(auth.name)", "path": "\(path)", "lease_seconds": "\(lease)", "renewable": "\(renewable)",
            ])
        return Token(
            value: granted.clientToken, renewAt: renewalInstant(leaseSeconds: lease, now: context.now()),
            renewable: renewable, leaseSeconds: lease)
    }

    /// A configured token with its lease from `auth/token/lookup-self`, so a renewable
    /// (periodic) token is renewed before it lapses. A token that may not look itself
    /// up is used as it is, with no known expiry.
    /// - Throws: `.unreachable` when Vault does not answer.
    private static func lookUp(_ value: String, _ context: Context) async throws(SecretError) -> Token {
        let response = try await context.client.send(.GET, "auth/token/lookup-self", token: value)
        switch response.status {
        case 200:
            break
        case 408, 412, 429, 500...599:
            throw VaultClient.failure(response, "GET auth/token/lookup-self", credentials: [value])
        default:
            context.logger.debug(
                "Vault refused auth/token/lookup-self; the token is used without renewal",
                metadata: ["status": "\(response.status)"])
            return Token(value: value)
        }
        let data = (try? JSONDecoder().decode(VaultLookupBody.self, from: Data(response.body)))?.data
        let ttl = max(data?.ttl ?? 0, 0)
        return Token(
            value: value, renewAt: renewalInstant(leaseSeconds: ttl, now: context.now()),
            renewable: (data?.renewable ?? false) && ttl > 0, leaseSeconds: ttl)
    }

    /// Two thirds into the lease, so a renewal or login has the last third to
    /// succeed before the token lapses; `nil` without a lease.
    static func renewalInstant(leaseSeconds: Int, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard leaseSeconds > 0 else { return nil }
        return now + .milliseconds(leaseSeconds * 2000 / 3)
    }
}
