import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import OutpostCore
import OutpostTransport

/// Where and how a `HubClient` connects: the TLS configuration its trust calls for
/// (resolving a pin once, on first use) and the refusal of plain HTTP beyond loopback.
/// Shared by every copy of a client (`withToken`), so a pin is probed once per client.
actor HubConnection {
    let trust: HubTrust
    let host: String
    let port: Int
    let isTLS: Bool
    /// Set when plain `http://` would carry the token off this host; every call throws it.
    let refusal: ClientError?
    private var configuration: TLSConfiguration?

    init(baseURL: String, trust: HubTrust, insecureHTTP: Bool) {
        self.trust = trust
        let components = URLComponents(string: baseURL)
        let scheme = components?.scheme?.lowercased()
        host = components?.host ?? ""
        isTLS = scheme == "https"
        port = components?.port ?? (isTLS ? 443 : 80)
        if scheme == "http", !insecureHTTP, !LoopbackHost.contains(host) {
            refusal = ClientError(
                .invalidRequest,
                "refusing plain http:// to \(host): the token would cross the network in clear text; use an https:// hub URL, or pass --insecure-http if this network is private and trusted"
            )
        } else {
            refusal = nil
        }
    }

    /// The TLS configuration for requests, or `nil` for the HTTP client's own (system
    /// trust, or plain HTTP). Probes the hub once when trust has a pin.
    /// - Throws: `ClientError` with code `.tls(.pinMismatch)` naming the certificate the
    ///   hub does present, or `.unreachable` when it cannot connect.
    func tlsConfiguration(baseURL: String) async throws(ClientError) -> TLSConfiguration? {
        guard isTLS, !trust.isDefault else { return nil }
        if let configuration { return configuration }
        let pinnedRoot: [UInt8]?
        do {
            pinnedRoot = try await trust.pinnedRoot(host: host, port: port)
        } catch let problem as TLSProblem {
            throw ClientError(.tls(problem.kind), "cannot reach the hub at \(baseURL): \(problem)")
        } catch {
            throw ClientError(.unreachable, "cannot reach the hub at \(baseURL): \(TransportFailure(error))")
        }
        let made = trust.tlsConfiguration(pinnedRoot: pinnedRoot)
        configuration = made
        return made
    }

    /// The error for a failed call: for a TLS failure, with the cause a second, untrusting
    /// connection finds in the hub's certificates (`TLSDiagnosis`).
    func failure(_ error: any Error, baseURL: String, context: String) async -> ClientError {
        let failure = TransportFailure(error)
        if case .tls = failure, isTLS, let problem = await trust.diagnoseHandshake(host: host, port: port) {
            return ClientError(.tls(problem.kind), "\(context): \(problem)")
        }
        return ClientError(.unreachable, "\(context): \(failure)")
    }
}
