import Foundation
import Logging

/// Finds AWS credentials by asking each source in turn, optionally assumes a
/// role with them, and keeps the result until shortly before it expires.
///
/// Concurrent callers share one resolution. Long-term keys are looked up again
/// every few minutes (a rewritten credentials file takes effect); temporary
/// credentials are renewed `refreshMargin` before their expiry.
actor AWSCredentialChain {
    /// A role to assume with the credentials the sources found (`assume_role_arn`).
    struct AssumeRole: Sendable, Equatable {
        var roleARN: String
        var sessionName: String
        var externalID: String?
        var durationSeconds: Int
    }

    /// Renew temporary credentials this long before they expire.
    static let refreshMargin: TimeInterval = 300
    /// Look long-term keys up again after this long.
    static let staticRecheck: TimeInterval = 300

    private let sources: [any AWSCredentialSource]
    private let assumeRole: AssumeRole?
    private let sts: AWSSTS
    private let logger: Logger
    private var cached: (credentials: AWSCredentials, refreshAt: Date)?
    private var inFlight: Task<AWSCredentials, any Error>?

    init(sources: [any AWSCredentialSource], assumeRole: AssumeRole?, sts: AWSSTS, logger: Logger) {
        self.sources = sources
        self.assumeRole = assumeRole
        self.sts = sts
        self.logger = logger
    }

    /// Labels of the sources, in order (for tests and messages).
    nonisolated var sourceLabels: [String] { sources.map(\.label) }

    /// Credentials to sign with.
    /// - Throws: `.denied` "no AWS credentials: tried ..." when no source has any;
    ///   the error of a source that is set up but failed (its code kept: STS
    ///   unreachable stays retryable).
    func credentials() async throws(SecretError) -> AWSCredentials {
        if let cached, cached.refreshAt > Date() { return cached.credentials }
        let task: Task<AWSCredentials, any Error>
        if let inFlight {
            task = inFlight
        } else {
            task = Task { [sources, assumeRole, sts, logger] in
                try await Self.resolve(sources: sources, assumeRole: assumeRole, sts: sts, logger: logger)
            }
            inFlight = task
        }
        let result = await task.result
        inFlight = nil
        switch result {
        case .success(let credentials):
            let refreshAt =
                credentials.expiration.map { $0.addingTimeInterval(-Self.refreshMargin) }
                ?? Date().addingTimeInterval(Self.staticRecheck)
            cached = (credentials, refreshAt)
            return credentials
        case .failure(let error as SecretError):
            throw error
        case .failure(let error):
            throw SecretError(.unreachable, "resolving AWS credentials failed: \(error)")
        }
    }

    /// Forgets cached credentials (AWS said they expired or are unknown).
    /// - Returns: whether fresh ones could differ: only temporary ones can.
    @discardableResult
    func invalidate() -> Bool {
        let wasTemporary = cached?.credentials.sessionToken != nil
        cached = nil
        return wasTemporary
    }

    private static func resolve(
        sources: [any AWSCredentialSource], assumeRole: AssumeRole?, sts: AWSSTS, logger: Logger
    ) async throws(SecretError) -> AWSCredentials {
        var tried: [(label: String, reason: String)] = []
        var base: AWSCredentials?
        for source in sources {
            let resolution: AWSCredentialResolution
            do {
                resolution = try await source.resolve()
            } catch {
                throw error.with(detail: "AWS credentials from \(source.label): \(error.detail)")
            }
            switch resolution {
            case .found(let credentials):
                base = credentials
                logger.debug(
                    "AWS credentials found",
                    metadata: ["source": "\(source.label)", "access_key": "\(credentials.maskedAccessKeyID)"])
            case .notAvailable(let reason):
                tried.append((source.label, reason))
                continue
            }
            break
        }
        guard let base else {
            throw SecretError(.denied, "no AWS credentials: tried " + describe(tried))
        }
        guard let assumeRole else { return base }
        let assumed = try await sts.assumeRole(
            roleARN: assumeRole.roleARN, sessionName: assumeRole.sessionName, externalID: assumeRole.externalID,
            durationSeconds: assumeRole.durationSeconds, credentials: base)
        logger.debug("AWS role assumed", metadata: ["role": "\(assumeRole.roleARN)"])
        return assumed
    }

    /// `a (why), b, c (why)`: neighbours with the same reason (a profile's steps
    /// when there is no profile) are named together.
    static func describe(_ tried: [(label: String, reason: String)]) -> String {
        var groups: [(labels: [String], reason: String)] = []
        for entry in tried {
            if let last = groups.last, last.reason == entry.reason {
                groups[groups.count - 1].labels.append(entry.label)
            } else {
                groups.append(([entry.label], entry.reason))
            }
        }
        return groups.map { "\($0.labels.joined(separator: ", ")) (\($0.reason))" }.joined(separator: ", ")
    }
}
