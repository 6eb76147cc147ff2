import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OutpostTransport
import Synchronization

/// One HTTPS GET to Service Fabric's managed-identity endpoint, whose certificate is
/// neither issued for its address nor from a public CA: the cluster announces it by
/// SHA-1 thumbprint (`IDENTITY_SERVER_THUMBPRINT`), and the agent accepts exactly the
/// server certificate with that thumbprint, nothing else (no other certificate, no
/// plain http). The request (with its `secret` header) is sent only after that check.
///
/// AsyncHTTPClient cannot check a certificate by thumbprint, so this is a minimal
/// HTTP/1.1 client on NIO: one connection, one request, `Connection: close`.
enum AzurePinnedHTTPS {
    /// GETs `url`; the answer whatever its status.
    /// - Throws: `.denied` when the server's certificate is not the pinned one,
    ///   `.unreachable` when no answer came within `timeout`, `.malformed` for an answer
    ///   over `maxBodyBytes`.
    static func get(
        _ url: String, headers: [(String, String)], thumbprint: String, timeout: Duration, maxBodyBytes: Int = 1 << 20
    ) async throws(SecretError) -> SecretHTTP.Response {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "https",
            let host = components.host, !host.isEmpty
        else {
            throw SecretError(.invalidConfiguration, "the Service Fabric identity endpoint \(url) is not an https:// URL")
        }
        let port = components.port ?? 443
        let target = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        let pin = thumbprint.filter { $0 != ":" && $0 != " " }.uppercased()
        let presented = Presented()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        // Verification must be on for BoringSSL to call the callback, which replaces it.
        configuration.certificateVerification = .noHostnameVerification
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = loop.makePromise(of: SecretHTTP.Response.self)
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host
        do {
            let context = try NIOSSLContext(configuration: configuration)
            // SNI carries names only; an IP literal there is refused by NIOSSL.
            let serverName = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
            let channel = try await ClientBootstrap(group: loop)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(
                            context: context, serverHostname: serverName,
                            customVerificationCallback: { certificates, verdict in
                                let hash = certificates.first.flatMap { try? $0.toDERBytes() }
                                    .map { Insecure.SHA1.hash(data: $0).map { String(format: "%02X", $0) }.joined() }
                                presented.thumbprint.withLock { $0 = hash }
                                verdict.succeed(hash == pin ? .certificateVerified : .failed)
                            })
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            ResponseCollector(answer: answer, maxBodyBytes: maxBodyBytes))
                    }
                }
                .connect(host: host, port: port).get()
            let deadline = loop.scheduleTask(in: TimeAmount(timeout)) {
                answer.fail(SecretError(.unreachable, "\(host):\(port): no answer within \(timeout)"))
            }
            defer {
                deadline.cancel()
                channel.close(promise: nil)
            }
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target)
            head.headers.add(name: "Host", value: hostHeader)
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return try await answer.futureResult.get()
        } catch let error as SecretError {
            throw error
        } catch {
            answer.fail(error)
            if let seen = presented.thumbprint.withLock({ $0 }), seen != pin {
                throw SecretError(
                    .denied,
                    "the Service Fabric identity endpoint \(host):\(port) presented a certificate with SHA-1 thumbprint "
                        + "\(seen), not IDENTITY_SERVER_THUMBPRINT \(pin); nothing was sent to it")
            }
            throw SecretError(.unreachable, "\(host):\(port): \(TransportFailure(error))")
        }
    }

    /// The thumbprint of the certificate the server presented, for the error.
    private final class Presented: Sendable {
        let thumbprint = Mutex<String?>(nil)
    }

    /// Collects one response, head and body, and completes the promise at its end.
    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        private let answer: EventLoopPromise<SecretHTTP.Response>
        private let maxBodyBytes: Int
        private var head: HTTPResponseHead?
        private var body: [UInt8] = []

        init(answer: EventLoopPromise<SecretHTTP.Response>, maxBodyBytes: Int) {
            self.answer = answer
            self.maxBodyBytes = maxBodyBytes
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let received):
                head = received
            case .body(let buffer):
                body += buffer.readableBytesView
                if body.count > maxBodyBytes {
                    answer.fail(
                        SecretError(.malformed, "the Service Fabric identity endpoint answered with more than \(maxBodyBytes) bytes"))
                    context.close(promise: nil)
                }
            case .end:
                if let head {
                    answer.succeed(SecretHTTP.Response(status: Int(head.status.code), headers: head.headers, body: body))
                }
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            answer.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            answer.fail(ChannelError.eof)
            context.fireChannelInactive()
        }
    }
}
