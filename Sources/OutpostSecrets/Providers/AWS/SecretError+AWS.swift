extension SecretError {
    /// The same code (and so the same retry decision) with another detail:
    /// the AWS provider prefixes what failed (`AWS credentials from container: ...`).
    func with(detail: String) -> SecretError {
        var copy = self
        copy.detail = detail
        return copy
    }
}
