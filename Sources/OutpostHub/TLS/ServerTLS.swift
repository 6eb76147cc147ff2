package import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS context every new connection of the hub's listener gets, re-read
/// from the certificate and key files when they change or on SIGHUP.
///
/// A reload only affects connections accepted after it: established ones keep
/// the context they were opened with, so nothing is dropped. A reload that
/// fails (a half-written file, a key that does not match) keeps serving the
/// previous certificate and says why.
package final class ServerTLS: Sendable {
    package let files: ServerCertificate.Files
    private let state: NIOLockedValueBox<Loaded>

    private struct Loaded {
        var context: NIOSSLContext
        var certificate: ServerCertificate
        var fingerprint: FileFingerprint
    }

    /// What a reload did.
    package enum ReloadOutcome: Sendable, Equatable {
        /// The files are as they were; nothing was read.
        case unchanged
        /// New connections get the certificate with this subject and expiry.
        case reloaded(subject: String, notValidAfter: Date)
        /// The files could not be used; the previous certificate stays.
        case failed(ServerCertificate.LoadError)
    }

    /// Loads the files. - Throws: `ServerCertificate.LoadError` naming the file.
    package init(files: ServerCertificate.Files) throws(ServerCertificate.LoadError) {
        self.files = files
        let fingerprint = FileFingerprint(files)
        let certificate = try ServerCertificate(files: files)
        state = NIOLockedValueBox(
            Loaded(context: try certificate.makeContext(files: files), certificate: certificate, fingerprint: fingerprint))
    }

    /// The context for a connection accepted now.
    var context: NIOSSLContext { state.withLockedValue { $0.context } }

    /// Subject and expiry of the certificate served now.
    package var current: (subject: String, notValidAfter: Date) {
        state.withLockedValue { ($0.certificate.subject, $0.certificate.notValidAfter) }
    }

    /// Re-reads the files if their inode, size or modification time changed
    /// (or always, when `force`: SIGHUP).
    package func reload(force: Bool = false) -> ReloadOutcome {
        let fingerprint = FileFingerprint(files)
        if !force, state.withLockedValue({ $0.fingerprint == fingerprint }) { return .unchanged }
        do throws(ServerCertificate.LoadError) {
            let certificate = try ServerCertificate(files: files)
            let context = try certificate.makeContext(files: files)
            state.withLockedValue { $0 = Loaded(context: context, certificate: certificate, fingerprint: fingerprint) }
            return .reloaded(subject: certificate.subject, notValidAfter: certificate.notValidAfter)
        } catch {
            // Remember the files as seen, so a broken file is reported once, not every poll.
            state.withLockedValue { $0.fingerprint = fingerprint }
            return .failed(error)
        }
    }
}

/// Identity of the two files, symlinks followed: a replaced file (new inode,
/// as `mv` and Kubernetes' symlink swaps do) or one rewritten in place (size,
/// modification time) both change it.
struct FileFingerprint: Equatable, Sendable {
    private var parts: [[String]]

    init(_ files: ServerCertificate.Files) {
        parts = [files.certificate, files.key].map(Self.identity)
    }

    private static func identity(_ path: String) -> [String] {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target) else { return [] }
        return [
            target, "\(attributes[.systemFileNumber] ?? "")", "\(attributes[.size] ?? "")",
            "\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)",
        ]
    }
}
