package import NIOCore
import NIOPosix
import NIOSSL

/// Opens one TLS connection and returns the certificates the server presents,
/// trusting none of them: its verification callback records the chain and then
/// fails on purpose, so the handshake ends there and nothing is ever sent.
///
/// Used to find a pinned certificate before first use, and to say why a real
/// handshake failed.
package enum TLSChainProbe {
    /// The server's certificates as DER, leaf first, as it sent them.
    /// - Throws: the transport's error (connection refused, timeout, a server that
    ///   closes before sending a certificate), for `TransportFailure` to classify.
    package static func presentedChain(
        host: String, port: Int, timeout: TimeAmount = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> [[UInt8]] {
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        // Verification must be on for BoringSSL to call the callback, which replaces it.
        configuration.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: configuration)
        // SNI carries names only; an IP literal there is refused by NIOSSL.
        let serverName = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
        let loop = group.next()
        let captured = loop.makePromise(of: [[UInt8]].self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context, serverHostname: serverName,
                            customVerificationCallback: { certificates, verdict in
                                captured.succeed(certificates.compactMap { try? $0.toDERBytes() })
                                verdict.succeed(.failed)
                            })
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            captured.fail(error)
            throw error
        }
        // Whichever comes first wins; completing a promise twice is a no-op in NIO.
        channel.closeFuture.whenComplete { _ in captured.fail(ChannelError.eof) }
        let deadline = loop.scheduleTask(in: timeout) { captured.fail(ChannelError.connectTimeout(timeout)) }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        return try await captured.futureResult.get()
    }
}
