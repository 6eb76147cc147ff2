import Foundation
package import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
package import OutpostCore
import OutpostTransport
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One open agent channel to the hub (`AgentChannel`): calls go out as frames on one
/// WebSocket and each waits for the reply with its id.
///
/// Everything about the socket happens on its event loop (`ChannelCallHandler`), so
/// a call costs one frame each way and no lock. When the socket ends, every call
/// still waiting fails with `.unreachable`; the channel is not reopened here (the
/// owner opens a new one for the next call).
package final class HubChannel: Sendable {
    /// How an attempt to open a channel ended, when it did not open.
    package enum OpenFailure: Error, Sendable {
        /// The hub (or a proxy before it) answered the upgrade with something other
        /// than the channel: use the long poll. The message says who refused and why.
        case refused(ClientError)
        /// The hub could not be reached, or refused the agent itself (401/403), or is
        /// failing (5xx): the call fails with this error as an HTTP call would.
        case failed(ClientError)
    }

    /// The hub URL the channel goes to, for messages.
    package let baseURL: String
    /// The channel version the hub selected.
    package let version: Int
    private let channel: any Channel
    private let handler: NIOLoopBound<ChannelCallHandler>
    private let ids = Atomic<UInt64>(0)

    private init(baseURL: String, version: Int, channel: any Channel, handler: NIOLoopBound<ChannelCallHandler>) {
        self.baseURL = baseURL
        self.version = version
        self.channel = channel
        self.handler = handler
    }

    /// Whether the socket is gone (every later call would fail at once).
    package var isClosed: Bool { !channel.isActive }

    /// Closes the socket; calls still waiting fail with `.unreachable`.
    package func close() {
        channel.close(promise: nil)
    }

    /// Closes the socket once no call waits on it (a channel replaced by a newer one:
    /// calls already on their way keep theirs).
    package func retire() {
        let handler = handler
        channel.eventLoop.execute { handler.value.retire() }
    }

    /// Sends `call` (its id is set here) and waits for the reply.
    /// - Parameters:
    ///   - chunk: log bytes: the call goes out as a binary log frame.
    ///   - timeout: how long to wait for the reply; past it the channel is closed
    ///     (a hub that answers nothing for that long is not there) and the call fails.
    ///   - cancelOnTaskCancellation: on cancellation, ask the hub to answer this call now
    ///     (a poll) and keep waiting for that answer, instead of failing at once.
    package func send(
        _ call: ChannelCall, chunk: [UInt8]? = nil, timeout: TimeAmount, cancelOnTaskCancellation: Bool = false
    ) async throws(ClientError) -> ChannelReply {
        var call = call
        call.id = ids.add(1, ordering: .relaxed).newValue
        let frame: ByteBuffer
        do {
            let json = try WireJSON.encoder().encode(call)
            let length = chunk.map { 4 + json.count + $0.count } ?? json.count
            frame = MaskedFrame.make(binary: chunk != nil, payloadLength: length, allocator: channel.allocator) { buffer in
                if let chunk {
                    buffer.writeInteger(UInt32(json.count))
                    buffer.writeBytes(json)
                    buffer.writeBytes(chunk)
                } else {
                    buffer.writeBytes(json)
                }
            }
        } catch {
            throw ClientError(.invalidRequest, "cannot encode the channel call: \(error)")
        }
        let promise = channel.eventLoop.makePromise(of: ChannelReply.self)
        let (handler, channel, id, baseURL) = (self.handler, self.channel, call.id, self.baseURL)
        channel.eventLoop.execute {
            handler.value.register(id, promise: promise, timeout: timeout)
            handler.value.writeFrame(frame).whenFailure { error in
                handler.value.fail(id, ClientError(.unreachable, "cannot send to the hub at \(baseURL) over its channel: \(error)"))
            }
        }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.eventLoop.execute {
                    if cancelOnTaskCancellation {
                        handler.value.cancelRemotely(id, channel: channel)
                    } else {
                        handler.value.fail(id, ClientError(.unreachable, "the call to the hub at \(baseURL) was cancelled"))
                    }
                }
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError(.unreachable, "lost the channel to the hub at \(baseURL): \(error)")
        }
    }

    /// A reply's failure as the HTTP call would have thrown it.
    package static func error(of fault: ChannelFault) -> ClientError {
        ClientError(
            .http(status: fault.status, code: APIErrorCode(rawValue: fault.code)), fault.message,
            expectedOffset: fault.expectedOffset)
    }

    // MARK: Opening

    /// Connects to the hub of `client` (its trust, client identity and token), asks for
    /// the channel at `version`, and returns it open.
    package static func open(client: HubClient, version: Int = AgentChannel.version, connectTimeout: TimeAmount = .seconds(10))
        async throws(OpenFailure) -> HubChannel
    {
        let connection = client.connection
        if let refusal = connection.refusal { throw .failed(refusal) }
        let tls: TLSConfiguration?
        do {
            // A socket of its own needs a configuration even for the system trust.
            tls = connection.isTLS ? try await client.tlsConfiguration() ?? connection.trust.tlsConfiguration() : nil
        } catch {
            throw .failed(error)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: AgentChannel.path)
        head.headers.add(name: "Host", value: connection.host.contains(":") ? "[\(connection.host)]:\(connection.port)" : "\(connection.host):\(connection.port)")
        if let token = client.token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        head.headers.add(name: "User-Agent", value: "outpost/\(OutpostVersion.current)")
        head.headers.add(name: "Sec-WebSocket-Protocol", value: AgentChannel.subprotocol(version: version))
        head.headers.add(name: "Content-Length", value: "0")
        let result: ChannelUpgradeResult
        do {
            result = try await connect(
                host: connection.host, port: connection.port, tls: tls, head: head, baseURL: client.baseURL,
                connectTimeout: connectTimeout)
        } catch {
            throw .failed(await connection.failure(error, baseURL: client.baseURL, context: "cannot reach the hub at \(client.baseURL)"))
        }
        switch result {
        case .upgraded(let channel, let handler, let selected):
            guard let selected, AgentChannel.version(ofSubprotocol: Substring(selected)) == version else {
                channel.close(promise: nil)
                throw .refused(
                    ClientError(
                        .invalidResponse,
                        "the hub at \(client.baseURL) opened agent channel \(selected ?? "without a version"); this agent speaks \(AgentChannel.subprotocol(version: version))"
                    ))
            }
            return HubChannel(baseURL: client.baseURL, version: version, channel: channel, handler: handler)
        case .answered(let answer, let channel):
            let status: Int
            let body: ByteBuffer
            do {
                (status, body) = try await answer.get()
            } catch {
                channel.close(promise: nil)
                throw .failed(ClientError(.unreachable, "the hub at \(client.baseURL) closed the connection while answering the channel upgrade"))
            }
            channel.close(promise: nil)
            let error = HubClient.apiError(status: status, body: body, path: AgentChannel.path)
            switch error.apiCode {
            case .unauthorized, .agentOffline, .clientCertificateRequired, .forbidden:
                throw .failed(error)
            default:
                if error.isRetryable, error.apiCode != .channelUnsupported { throw .failed(error) }
                throw .refused(error)
            }
        }
    }

    private enum ChannelUpgradeResult: Sendable {
        case upgraded(any Channel, NIOLoopBound<ChannelCallHandler>, selected: String?)
        /// Not upgraded: the status and body of the answer, once read.
        case answered(EventLoopFuture<(Int, ByteBuffer)>, any Channel)
    }

    private static func connect(
        host: String, port: Int, tls: TLSConfiguration?, head: HTTPRequestHead, baseURL: String, connectTimeout: TimeAmount
    ) async throws -> ChannelUpgradeResult {
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let upgradeResult = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        let serverName = isIPAddress(host) ? nil : host
                        try pipeline.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<ChannelUpgradeResult>(
                        maxFrameSize: AgentChannel.maxFrameBytes,
                        upgradePipelineHandler: { channel, response in
                            channel.eventLoop.makeCompletedFuture {
                                let pipeline = channel.pipeline.syncOperations
                                let handler = ChannelCallHandler(
                                    baseURL: baseURL, frameWriter: try pipeline.context(handlerType: WebSocketFrameEncoder.self))
                                try pipeline.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                        maxAccumulatedFrameSize: AgentChannel.maxFrameBytes))
                                try pipeline.addHandler(handler)
                                return .upgraded(
                                    channel, NIOLoopBound(handler, eventLoop: channel.eventLoop),
                                    selected: response.headers["Sec-WebSocket-Protocol"].first)
                            }
                        })
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<ChannelUpgradeResult>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                let collector = RefusalCollector(promise: channel.eventLoop.makePromise())
                                try channel.pipeline.syncOperations.addHandler(collector)
                                return .answered(collector.answer, channel)
                            }
                        })
                    return try pipeline.configureUpgradableHTTPClientPipeline(
                        configuration: NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration))
                }
            }
        return try await upgradeResult.get()
    }
}

/// Whether `host` is a literal IPv4 or IPv6 address (no SNI is sent for those).
private func isIPAddress(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
}
