package import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
package import OutpostCore
import OutpostTransport

/// Verifies an agent's AWS identity by replaying its signed `GetCallerIdentity`
/// request to the agent type's STS endpoint (the pattern of Vault's AWS IAM auth):
/// only STS can check the signature, and its answer names the signer.
///
/// The request is checked before anything is sent (`STSReplayRequest`); the
/// answer is read from at most 64 KiB; redirects are never followed.
package struct STSCallerIdentityVerifier: CallerIdentityVerifier {
    /// Must not follow redirects: make it with `makeHTTPClient()`.
    package let client: HTTPClient
    /// Upper bound of one STS call, connection included (default 10 s).
    package let timeout: Duration

    static let maxAnswerBytes = 64 << 10

    package init(client: HTTPClient, timeout: Duration = .seconds(10)) {
        self.client = client
        self.timeout = timeout
    }

    /// A client for STS calls: no redirects (a redirect would carry the agent's
    /// signed request to a host nobody configured), connections set up within
    /// 5 s and not retried. The caller shuts it down.
    package static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    package func verify(_ request: SignedHTTPRequest, rules: AWSNamingRules) async throws(HubError)
        -> AWSCallerIdentity
    {
        let replay = try STSReplayRequest(request, endpoint: rules.stsEndpoint)
        let host = (try? STSReplayRequest.endpointParts(rules.stsEndpoint).host) ?? rules.stsEndpoint
        let (status, body) = try await send(replay, host: host)
        // STS signature errors may echo the canonical request: keep the session token out.
        let redact = request.headers.filter { $0.name.lowercased() == "x-amz-security-token" }.map(\.value)
            + STSReplayRequest.formPairs(URLComponents(string: request.url)?.percentEncodedQuery ?? "")
            .filter { $0.name == "X-Amz-Security-Token" }.map(\.value)
        let answer = try STSCallerIdentityAnswer(status: status, body: body, endpoint: host, redact: redact)
        return try AWSCallerIdentity(
            account: answer.account, arn: answer.arn, userID: answer.userID, checkedAgainst: rules)
    }

    private func send(_ replay: STSReplayRequest, host: String) async throws(HubError) -> (Int, String) {
        var outgoing = HTTPClientRequest(url: replay.url)
        outgoing.method = HTTPMethod(rawValue: replay.method)
        for header in replay.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if replay.method == "POST" { outgoing.body = .bytes(replay.body) }
        do {
            let response = try await client.execute(outgoing, timeout: TimeAmount(timeout))
            // A client that followed a redirect anyway: its answer is not the configured endpoint's.
            guard response.history.count <= 1 else {
                throw HubError(
                    .stsUnavailable, "the STS endpoint \(host) redirected the request; the hub does not follow redirects")
            }
            let bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return (Int(response.status.code), String(decoding: bytes.readableBytesView, as: UTF8.self))
        } catch let error as HubError {
            throw error
        } catch is NIOTooManyBytesError {
            throw HubError(.stsUnavailable, "the STS endpoint \(host) answered more than \(Self.maxAnswerBytes) bytes")
        } catch {
            throw HubError(
                .stsUnavailable, "cannot reach the STS endpoint \(host): \(TransportFailure(error)); try again later",
                underlying: error)
        }
    }
}
