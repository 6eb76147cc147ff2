import Foundation
package import NIOCore

extension HubTrust {
    /// The DER of the presented certificate the pin names, found over one connection
    /// that trusts nothing (`TLSChainProbe`), like Teleport's `--ca-pin`: afterwards the
    /// client trusts only that certificate, with full verification, on every connection.
    /// `nil` when this trust has no pin.
    /// - Throws: `TLSProblem` (`.pinMismatch`) naming the hash and subject of the
    ///   certificate the hub does present; the transport's error when it cannot connect.
    package func pinnedRoot(host: String, port: Int, timeout: TimeAmount = .seconds(10)) async throws -> [UInt8]? {
        guard let pin else { return nil }
        let chain = try await TLSChainProbe.presentedChain(host: host, port: port, timeout: timeout)
        guard let match = chain.first(where: pin.matches) else {
            throw TLSDiagnosis.pinMismatch(pin: pin, chain: chain)
        }
        return match
    }

    /// Why a handshake to `host:port` failed, from a second connection that records
    /// the chain without trusting it; `nil` when the certificates show no cause or the
    /// probe itself fails (the caller keeps the original error).
    package func diagnoseHandshake(host: String, port: Int, timeout: TimeAmount = .seconds(10)) async -> TLSProblem? {
        guard let chain = try? await TLSChainProbe.presentedChain(host: host, port: port, timeout: timeout) else { return nil }
        return TLSDiagnosis.diagnose(chain: chain, host: host, trust: self, now: Date())
    }
}
