package import AsyncHTTPClient
import NIOHTTP1
import OutpostSecrets

/// Gets the key set document; behind a protocol so tests can count or fail fetches.
package protocol KeySetFetcher: Sendable {
    /// The body of a successful answer from `url`.
    /// - Throws: `KeySetFetchError` with the cause (unreachable, HTTP status, timeout).
    func fetchKeySet(from url: String) async throws(KeySetFetchError) -> [UInt8]
}

/// Why no key set could be had: a short cause, completed by the verifier into
/// "the key set at URL could not be fetched: cause".
package struct KeySetFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    package var cause: String

    package init(_ cause: String) {
        self.cause = cause
    }

    package var description: String { cause }
}

/// Fetches the key set over HTTP with a bounded time per attempt, retrying
/// once after a transport failure or a 429/5xx answer.
package struct HTTPKeySetFetcher: KeySetFetcher {
    let http: SecretHTTP
    /// Pause before the one retry.
    let retryDelay: Duration
    /// Largest key set accepted; real ones are a few kilobytes.
    let maximumBytes: Int

    /// - Parameters:
    ///   - client: shared with the agent; `SecretHTTP.makeClient()` fails refused connections at once.
    ///   - timeout: upper bound of one attempt (two attempts at most). Default 5 s.
    package init(client: HTTPClient, timeout: Duration = .seconds(5), retryDelay: Duration = .milliseconds(250),
        maximumBytes: Int = 1 << 20) {
        self.http = SecretHTTP(client: client, timeout: timeout)
        self.retryDelay = retryDelay
        self.maximumBytes = maximumBytes
    }

    package func fetchKeySet(from url: String) async throws(KeySetFetchError) -> [UInt8] {
        do {
            return try await attempt(url)
        } catch {
            guard error.retryable else { throw error.error }
            try? await Task.sleep(for: retryDelay)
            do { return try await attempt(url) } catch { throw error.error }
        }
    }

    private func attempt(_ url: String) async throws(Failure) -> [UInt8] {
        let response: SecretHTTP.Response
        do {
            response = try await http.send(
                .GET, url, headers: [("Accept", "application/jwk-set+json, application/json")],
                maxBodyBytes: maximumBytes)
        } catch {
            throw Failure(KeySetFetchError(error.detail), retryable: true)
        }
        guard response.status == 200 else {
            throw Failure(
                KeySetFetchError("HTTP \(response.status)"),
                retryable: response.status == 429 || (500...599).contains(response.status))
        }
        return response.body
    }

    private struct Failure: Error {
        var error: KeySetFetchError
        var retryable: Bool
        init(_ error: KeySetFetchError, retryable: Bool) {
            self.error = error
            self.retryable = retryable
        }
    }
}
