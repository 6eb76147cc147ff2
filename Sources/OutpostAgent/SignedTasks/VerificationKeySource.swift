package import Foundation
package import Logging
package import OutpostSigning

/// Where an agent gets the public keys it trusts for signed tasks
/// (`verification_keys`): a local JWKS file, or a JWKS URL.
package protocol VerificationKeySource: Sendable {
    /// The current key set, reloaded when the file changed or the URL's copy is stale
    /// (or lacks one of `keyIDs`, at most once per refresh interval).
    /// - Throws: `KeySetError` with the whole cause (which file or URL, and why) when
    ///   there is no usable key set at all; a failed reload keeps the previous set.
    func keySet(wanting keyIDs: [String], now: Date) async throws(KeySetError) -> TaskVerificationKeySet
}

/// A JWKS file, read again whenever its size, modification time or inode changes (a
/// `mv` of a new file over it included), checked at every task: rotation needs no restart.
package actor VerificationKeyFile: VerificationKeySource {
    package nonisolated let path: String
    private let logger: Logger
    private var loaded: (stamp: FileStamp, keys: TaskVerificationKeySet)?

    /// Reads the file once.
    /// - Throws: `KeySetError` naming the file and what is wrong (for the CLI's exit 2).
    package init(path: String, logger: Logger) throws(KeySetError) {
        self.path = path
        self.logger = logger
        let stamp = FileStamp(path: path)
        loaded = (stamp, try Self.read(path))
    }

    package func keySet(wanting keyIDs: [String], now: Date) async throws(KeySetError) -> TaskVerificationKeySet {
        let stamp = FileStamp(path: path)
        if let loaded, loaded.stamp == stamp { return loaded.keys }
        do {
            let keys = try Self.read(path)
            loaded = (stamp, keys)
            logger.notice(
                "reloaded the signed-task verification keys",
                metadata: ["file": "\(path)", "keys": "\(keys.keyIDs.joined(separator: ","))"])
            return keys
        } catch {
            guard let loaded else { throw error }
            logger.error(
                "cannot reload the signed-task verification keys; still using the previous ones",
                metadata: ["file": "\(path)", "cause": "\(error.cause)"])
            return loaded.keys
        }
    }

    /// The usable keys of the file at `path`.
    static func read(_ path: String) throws(KeySetError) -> TaskVerificationKeySet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeySetError("verification_keys file \(path) cannot be read")
        }
        let keys: TaskVerificationKeySet
        do {
            keys = try TaskVerificationKeySet(json: [UInt8](data))
        } catch {
            throw KeySetError("verification_keys file \(path) is not usable: \(error.cause)")
        }
        guard !keys.keys.isEmpty else {
            let why = keys.skipped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            throw KeySetError("verification_keys file \(path) holds no usable key\(why.isEmpty ? "" : " (\(why))")")
        }
        return keys
    }

    /// What tells a changed file apart without reading it.
    struct FileStamp: Equatable {
        var inode: UInt64?
        var size: UInt64?
        var modified: Date?

        init(path: String) {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
            inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
            size = (attributes[.size] as? NSNumber)?.uint64Value
            modified = attributes[.modificationDate] as? Date
        }
    }
}

/// A JWKS at an http(s) URL: fetched at start, again when older than `maximumAge`,
/// and for a key id it lacks (at most once per `minimumRefreshInterval`, so made-up
/// key ids cannot turn the agent into a load generator).
package actor VerificationKeyURL: VerificationKeySource {
    package nonisolated let url: String
    private let fetcher: any KeySetFetcher
    private let minimumRefreshInterval: TimeInterval
    private let maximumAge: TimeInterval
    private let logger: Logger
    private var current: (fetchedAt: Date, keys: TaskVerificationKeySet)?
    private var lastAttempt: Date?
    private var lastFailure: KeySetError?

    package init(
        url: String, fetcher: any KeySetFetcher, minimumRefreshInterval: TimeInterval = 30,
        maximumAge: TimeInterval = 300, logger: Logger
    ) {
        self.url = url
        self.fetcher = fetcher
        self.minimumRefreshInterval = minimumRefreshInterval
        self.maximumAge = maximumAge
        self.logger = logger
    }

    package func keySet(wanting keyIDs: [String], now: Date) async throws(KeySetError) -> TaskVerificationKeySet {
        let fresh = current.map { now.timeIntervalSince($0.fetchedAt) < maximumAge } ?? false
        // One trusted key among the signatures' ids is enough; none may mean the set changed.
        let knowsOne = current.map { set in keyIDs.contains { set.keys.keys[$0] != nil } } ?? false
        let mayFetch = lastAttempt.map { now.timeIntervalSince($0) >= minimumRefreshInterval || now < $0 } ?? true
        if (!fresh || !knowsOne) && mayFetch { await fetch(now: now) }
        // While the URL cannot be reached, the last copy serves for a while (stale-if-error).
        if let current, now.timeIntervalSince(current.fetchedAt) < maximumAge * 4 { return current.keys }
        throw KeySetError(
            "the verification keys at \(url) could not be fetched: \(lastFailure?.cause ?? "not fetched yet")")
    }

    private func fetch(now: Date) async {
        lastAttempt = now
        switch await load() {
        case .success(let keys):
            current = (now, keys)
            lastFailure = nil
            logger.info(
                "fetched the signed-task verification keys",
                metadata: ["url": "\(url)", "keys": "\(keys.keyIDs.joined(separator: ","))"])
        case .failure(let error):
            lastFailure = error
            logger.warning(
                "cannot fetch the signed-task verification keys", metadata: ["url": "\(url)", "cause": "\(error.cause)"])
        }
    }

    private func load() async -> Result<TaskVerificationKeySet, KeySetError> {
        let bytes: [UInt8]
        do {
            bytes = try await fetcher.fetchKeySet(from: url)
        } catch {
            return .failure(KeySetError(error.cause))
        }
        return Result { () throws(KeySetError) in try TaskVerificationKeySet(json: bytes) }
    }
}
