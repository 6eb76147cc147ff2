import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Testing

import OutpostTestSupport
@testable import OutpostTransport

/// Each failure is produced for real, over loopback, and classified from the error
/// AsyncHTTPClient actually throws.
@Suite struct TransportFailureTests {
    private func failure(of url: String, timeout: TimeAmount = .seconds(5)) async -> TransportFailure? {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let failure: TransportFailure?
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
            _ = try await response.body.collect(upTo: 1 << 20)
            failure = nil
        } catch {
            failure = TransportFailure(error)
        }
        try? await client.shutdown()
        return failure
    }

    @Test func aClosedPortIsConnectionRefused() async throws {
        let refusing = try RefusingPort()
        #expect(await failure(of: "\(refusing.url)/") == .connectionRefused)
    }

    @Test func aServerThatNeverAnswersIsNoAnswerInTime() async throws {
        // Accepts the connection and reads, but never writes.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let failure = await failure(of: "http://127.0.0.1:\(server.localAddress!.port!)/", timeout: .milliseconds(300))
        #expect(failure == .noAnswerInTime)
    }

    @Test func aServerThatHangsUpIsConnectionClosed() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.close() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        #expect(await failure(of: "http://127.0.0.1:\(server.localAddress!.port!)/") == .connectionClosed)
    }

    @Test func aPlainServerSpokenToOverTLSIsATLSFailure() async throws {
        // Answers the client's TLS hello with plain text, then hangs up.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.pipeline.addHandler(PlainTextAnswer()) }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let failure = await failure(of: "https://127.0.0.1:\(server.localAddress!.port!)/")
        guard case .tls = failure else {
            Issue.record("expected a TLS failure, got \(String(describing: failure))")
            return
        }
    }

    @Test(arguments: [
        (TransportFailure.connectionRefused, "connection refused"),
        (.connectTimeout, "connection timed out"),
        (.noAnswerInTime, "no answer in time"),
        (.connectionClosed, "connection closed"),
    ])
    func descriptionsAreAFewWords(failure: TransportFailure, words: String) {
        #expect(failure.description == words)
    }
}

/// Writes a plain HTTP answer to whatever arrives, then closes.
private final class PlainTextAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        context.writeAndFlush(NIOAny(answer)).whenComplete { _ in context.close(promise: nil) }
    }
}
