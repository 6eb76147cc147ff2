import Testing

@testable import OutpostSecrets

/// One mapping from a store's HTTP status to the error a task reports, for every store.
@Suite struct SecretHTTPStatusTests {
    @Test(
        "statuses map to denied, not found, retryable or rejected — an unknown status is never 'access denied'",
        arguments: [
            (401, SecretError.Code.denied), (403, .denied), (404, .notFound),
            (408, .unreachable), (429, .unreachable), (500, .unreachable), (503, .unreachable),
            (301, .rejected), (400, .rejected), (405, .rejected), (409, .rejected), (422, .rejected),
        ])
    func statusMapping(status: Int, code: SecretError.Code) {
        let error = SecretHTTP.error(status: status, detail: "the store's words")
        #expect(error.code == code)
        #expect(error.message.contains("HTTP \(status)"))
        #expect(error.isRetryable == (code == .unreachable))
    }
}
