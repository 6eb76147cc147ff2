/// Replaces secret values in a stream of output bytes with `[SECURE]`, also
/// when a value is split across two chunks.
///
/// This is the generic streaming half of masking (buildkite splits redaction the
/// same way): it holds back the tail of a chunk that could be the start of a
/// secret until the next chunk (or `finish()`) decides. The policy half — which
/// values to mask (each line of a multi-line value, base64, URL and JSON
/// escapings, the agent's own `*TOKEN`/`*KEY`/... variables) — arrives with
/// issue 3 and only changes what is passed to `init(secrets:)`.
///
/// With no secrets it is a passthrough that never holds bytes back. Not
/// thread-safe by design: one masker per task, fed from one thread.
package struct Masker: Sendable {
    /// What a masked value becomes in the log.
    package static let replacement: [UInt8] = Array("[SECURE]".utf8)

    /// Byte patterns to replace, longest first so an overlapping longer value wins.
    private let patterns: [[UInt8]]
    /// The longest pattern's length minus one: the most a chunk's tail may be held back.
    private let holdBack: Int
    /// Bytes received but not yet released because they may start a secret.
    private var pending: [UInt8] = []

    /// - Parameter secrets: the values to mask; empty strings are ignored.
    package init(secrets: [String]) {
        var seen = Set<[UInt8]>()
        patterns = secrets.map { Array($0.utf8) }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
            .sorted { $0.count > $1.count }
        holdBack = max(0, (patterns.first?.count ?? 0) - 1)
    }

    /// `true` when there is nothing to mask: `mask(_:)` returns its input unchanged.
    package var isPassthrough: Bool { patterns.isEmpty }

    /// Masks one chunk and returns the bytes that are safe to release now. The
    /// result can be shorter than the input (a possible secret prefix is held
    /// back) or longer (held-back bytes of the previous chunk are released).
    package mutating func mask(_ chunk: [UInt8]) -> [UInt8] {
        if patterns.isEmpty { return chunk }
        pending.append(contentsOf: chunk)
        return release(final: false)
    }

    /// Ends the stream: releases whatever is still held back, masked.
    package mutating func finish() -> [UInt8] {
        if patterns.isEmpty { return [] }
        return release(final: true)
    }

    /// Scans `pending`, replacing complete matches; keeps back a tail that is
    /// a prefix of some pattern unless `final`.
    private mutating func release(final: Bool) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(pending.count)
        var i = 0
        let n = pending.count
        scan: while i < n {
            for pattern in patterns where pending[i] == pattern[0] {
                let available = n - i
                if available >= pattern.count {
                    if pending[i..<(i + pattern.count)].elementsEqual(pattern) {
                        output.append(contentsOf: Self.replacement)
                        i += pattern.count
                        continue scan
                    }
                } else if !final, pending[i..<n].elementsEqual(pattern[0..<available]) {
                    // The rest of the buffer may be the start of this secret: wait for more.
                    break scan
                }
            }
            output.append(pending[i])
            i += 1
        }
        pending.removeFirst(i)
        if final { pending.removeAll() }
        assert(pending.count <= holdBack)
        return output
    }
}
