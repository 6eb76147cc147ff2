/// Replaces secret values in a task's stream of output bytes with `[SECURE]`,
/// also when a value is split across two chunks.
///
/// A `StreamingReplacer` with the `[SECURE]` replacement. Which byte patterns
/// a secret becomes (each line; base64, also wrapped into lines; URL, JSON,
/// HTML, shell and Python escapings; the minimum length) is `MaskingPolicy`'s
/// job: build a task's masker with `MaskingPolicy.masker(for:)`.
/// `init(secrets:)` masks the given values literally, nothing more.
///
/// With no patterns it is a passthrough that never holds bytes back. Not
/// thread-safe by design: one masker per task, fed from one thread.
package struct Masker: Sendable {
    /// What a masked value becomes in the log.
    package static let replacement: [UInt8] = Array("[SECURE]".utf8)

    private var replacer: StreamingReplacer

    /// Masks exactly these values (UTF-8), no encodings, no minimum length;
    /// empty strings are ignored.
    package init(secrets: [String]) {
        self.init(patterns: secrets.map { Array($0.utf8) })
    }

    /// Masks exactly these byte patterns, and `lineWrapped` ones also with
    /// line breaks written between their bytes (see `StreamingReplacer`);
    /// empty ones are ignored.
    package init(patterns: [[UInt8]], lineWrapped: [[UInt8]] = []) {
        replacer = StreamingReplacer(patterns: patterns, lineWrapped: lineWrapped, replacement: Self.replacement)
    }

    /// `true` when there is nothing to mask: `mask(_:)` returns its input unchanged.
    package var isPassthrough: Bool { replacer.isPassthrough }

    /// Number of distinct byte patterns masked.
    package var patternCount: Int { replacer.patternCount }

    /// Bytes received but held back because a secret may still complete there.
    package var heldBackCount: Int { replacer.heldBackCount }

    /// Masks one chunk and returns the bytes that are safe to release now. The
    /// result can be shorter than the input (a possible secret prefix is held
    /// back) or longer (held-back bytes of the previous chunk are released).
    package mutating func mask(_ chunk: [UInt8]) -> [UInt8] {
        replacer.process(chunk)
    }

    /// Ends the stream: releases whatever is still held back, masked.
    package mutating func finish() -> [UInt8] {
        replacer.finish()
    }

    /// Masks a complete text (an error message, a line of the agent's own
    /// log), leaving this masker's stream state alone.
    package func masking(_ text: String) -> String {
        if replacer.isPassthrough { return text }
        return String(decoding: replacer.replacingAll(in: Array(text.utf8)), as: UTF8.self)
    }
}
