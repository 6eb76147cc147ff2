package import Foundation
import Logging
import NIOConcurrencyHelpers
package import NIOSSL

/// The TLS context every new connection of the hub's listener gets, re-read
/// from the certificate and key files when they change or on SIGHUP.
///
/// A reload only affects connections accepted after it: established ones keep
/// the context they were opened with, so nothing is dropped. A reload that
/// fails (a half-written file, a key that does not match) keeps serving the
/// previous certificate and says why.
package final class ServerTLS: Sendable {
    package let files: ServerCertificate.Files
    /// The CA certificates agents' client certificates must chain to, asked anew
    /// at each reload (a CA rotation changes them); `nil`: no client certificates.
    private let clientRoots: (@Sendable () -> [NIOSSLCertificate])?
    private let state: NIOLockedValueBox<Loaded>

    private struct Loaded {
        var context: NIOSSLContext
        var certificate: ServerCertificate
        var fingerprint: FileFingerprint
        /// DER of the client roots the context was made with.
        var rootsSeen: [[UInt8]]
    }

    /// What a reload did.
    package enum ReloadOutcome: Sendable, Equatable {
        /// The files are as they were; nothing was read.
        case unchanged
        /// New connections get the certificate with this subject and expiry.
        case reloaded(subject: String, notValidAfter: Date)
        /// The files could not be used; the previous certificate stays.
        case failed(ServerCertificate.LoadError)
        /// The CA certificates client certificates must chain to changed (a CA rotation).
        case clientRootsChanged(count: Int)
    }

    /// Loads the files. - Throws: `ServerCertificate.LoadError` naming the file.
    package init(
        files: ServerCertificate.Files, clientRoots: (@Sendable () -> [NIOSSLCertificate])? = nil
    ) throws(ServerCertificate.LoadError) {
        self.files = files
        self.clientRoots = clientRoots
        let fingerprint = FileFingerprint(files)
        let certificate = try ServerCertificate(files: files)
        let roots = clientRoots?() ?? []
        state = NIOLockedValueBox(
            Loaded(
                context: try certificate.makeContext(files: files, clientRoots: roots), certificate: certificate,
                fingerprint: fingerprint, rootsSeen: Self.der(roots)))
    }

    private static func der(_ roots: [NIOSSLCertificate]) -> [[UInt8]] {
        roots.compactMap { try? $0.toDERBytes() }
    }

    /// The context for a connection accepted now.
    var context: NIOSSLContext { state.withLockedValue { $0.context } }

    /// Subject and expiry of the certificate served now.
    package var current: (subject: String, notValidAfter: Date) {
        state.withLockedValue { ($0.certificate.subject, $0.certificate.notValidAfter) }
    }

    /// Re-reads the files if their inode, size or modification time changed
    /// (or always, when `force`: SIGHUP), and remakes the context when the
    /// client roots changed (a CA rotation began or ended).
    package func reload(force: Bool = false) -> ReloadOutcome {
        let fingerprint = FileFingerprint(files)
        let roots = clientRoots?() ?? []
        let rootsSeen = Self.der(roots)
        let (sameFiles, sameRoots, current) = state.withLockedValue {
            ($0.fingerprint == fingerprint, $0.rootsSeen == rootsSeen, $0.certificate)
        }
        if !force && sameFiles {
            guard !sameRoots, let context = try? current.makeContext(files: files, clientRoots: roots) else {
                return .unchanged
            }
            state.withLockedValue {
                $0.context = context
                $0.rootsSeen = rootsSeen
            }
            return .clientRootsChanged(count: roots.count)
        }
        do throws(ServerCertificate.LoadError) {
            let certificate = try ServerCertificate(files: files)
            let context = try certificate.makeContext(files: files, clientRoots: roots)
            state.withLockedValue {
                $0 = Loaded(context: context, certificate: certificate, fingerprint: fingerprint, rootsSeen: rootsSeen)
            }
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
