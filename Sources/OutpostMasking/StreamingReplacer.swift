/// Replaces every occurrence of any of a set of byte patterns in a stream of
/// chunks, also when an occurrence is split across chunks.
///
/// This is the generic half of masking (buildkite/agent splits redaction the
/// same way): it knows nothing about secrets, only patterns and a replacement.
/// `MaskingPolicy` decides which patterns a secret becomes.
///
/// **Line-wrapped patterns.** A pattern given as `lineWrapped` (base64, which
/// encoders break into lines) also occurs with a line break (`\n` or `\r\n`)
/// between any two of its bytes, at any wrap width (down to one byte a line);
/// the occurrence then covers the breaks too. Everything below holds for
/// those occurrences as well. (`PatternIndex` finds the ones wrapped at
/// `PatternIndex.minimumWrapWidth` columns or wider, `NarrowWrapIndex` the rest.)
///
/// **What is replaced.** Every occurrence of every pattern is found, including
/// overlapping ones; occurrences that overlap (share at least one byte) are
/// merged and the merged run becomes *one* replacement. So the longest of two
/// patterns starting at the same place wins, and no match is ever cut short in
/// a way that lets the rest of a secret through (`abcd` and `cdef` in
/// `abcdef` give one replacement, not `[SECURE]ef`). Adjacent occurrences give
/// one replacement each.
///
/// **Streaming.** A chunk's tail is held back only from the first position
/// where a pattern could still complete with the bytes to come; it is released
/// (replaced or unchanged) as soon as later bytes decide. The concatenated
/// output equals `replacingAll(in:)` of the concatenated input, for any chunking.
/// Held-back data is shorter than the longest pattern (a line-wrapped one
/// counted with its line breaks). A replacement is
/// released as soon as its run's start is certain, even while the run may still
/// grow, so a long run of overlapping matches is never buffered.
///
/// A value type with no locks: one replacer per stream, fed from one thread.
package struct StreamingReplacer: Sendable {
    /// The patterns; `nil` when there are none and every chunk passes through.
    private let matcher: PatternSet?
    /// What each run of matched bytes becomes.
    package let replacement: [UInt8]
    /// Received bytes not released yet: from a start where a pattern may still
    /// complete up to the end of the data so far.
    private var pending: [UInt8] = []
    /// How many leading bytes of `pending` belong to a run whose replacement was
    /// already released (they must never come out, but a match may start there).
    private var coveredPrefix = 0
    /// Scratch list of the matches of the current call, kept to reuse its storage.
    private var matches: [PatternMatch] = []

    /// - Parameters:
    ///   - patterns: byte sequences to replace; empty ones are ignored, duplicates merged.
    ///   - lineWrapped: byte sequences to replace also when line breaks are
    ///     written between their bytes; one holding a `\r` or `\n` is matched as it is.
    ///   - replacement: what each run of matched bytes becomes.
    package init(patterns: [[UInt8]], lineWrapped: [[UInt8]] = [], replacement: [UInt8]) {
        matcher = PatternSet(patterns: patterns, lineWrapped: lineWrapped)
        self.replacement = replacement
    }

    /// `true` when there is nothing to replace: `process(_:)` returns its input.
    package var isPassthrough: Bool { matcher == nil }

    /// Number of distinct patterns.
    package var patternCount: Int { matcher?.count ?? 0 }

    /// Bytes received but held back because a pattern may still complete there.
    package var heldBackCount: Int { pending.count }

    /// Processes one chunk and returns what can be released now: possibly less
    /// than the chunk (a possible match at its end is held back) or more (bytes
    /// held back from earlier chunks turned out to be released).
    package mutating func process(_ chunk: [UInt8]) -> [UInt8] {
        guard let matcher else { return chunk }
        if chunk.isEmpty { return [] }
        matches.removeAll(keepingCapacity: true)
        if pending.isEmpty {
            let held = chunk.withUnsafeBytes { matcher.scan($0, final: false, into: &matches) }
            if matches.isEmpty {
                // The common case, without copying when nothing is held back.
                if held == chunk.count { return chunk }
                pending = Array(chunk[held...])
                return Array(chunk[..<held])
            }
            return release(chunk, heldFrom: held)
        }
        // Re-scan the held-back bytes together with the new ones: a match may
        // start in the former and end in the latter.
        var work: [UInt8] = []
        work.reserveCapacity(pending.count + chunk.count)
        work.append(contentsOf: pending)
        work.append(contentsOf: chunk)
        let held = work.withUnsafeBytes { matcher.scan($0, final: false, into: &matches) }
        if matches.isEmpty && coveredPrefix == 0 {
            pending = Array(work[held...])
            work.removeSubrange(held...)
            return work
        }
        return release(work, heldFrom: held)
    }

    /// Ends the stream: releases everything still held back (patterns that did
    /// not complete are not matches). The replacer can then start a new stream.
    package mutating func finish() -> [UInt8] {
        defer {
            pending = []
            coveredPrefix = 0
        }
        guard let matcher, !pending.isEmpty else { return [] }
        let work = pending
        matches.removeAll(keepingCapacity: true)
        let held = work.withUnsafeBytes { matcher.scan($0, final: true, into: &matches) }
        return release(work, heldFrom: held)
    }

    /// Replaces all occurrences in a complete text, leaving this replacer's
    /// stream state alone.
    package func replacingAll(in text: [UInt8]) -> [UInt8] {
        var fresh = StreamingReplacer(matcher: matcher, replacement: replacement)
        return fresh.process(text) + fresh.finish()
    }

    private init(matcher: PatternSet?, replacement: [UInt8]) {
        self.matcher = matcher
        self.replacement = replacement
    }

    /// Builds the output of one call from `work` (held-back bytes + chunk) and
    /// the matches found in it, and keeps `work[held...]` back for later.
    private mutating func release(_ work: [UInt8], heldFrom held: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(held + matches.count * replacement.count)
        // Bytes before `released` are out (as themselves or inside a replacement).
        var released = coveredPrefix
        // End of the current run of overlapping matches (the one released last).
        var runEnd = coveredPrefix
        work.withUnsafeBufferPointer { bytes in
            for match in matches {
                if match.start < runEnd {
                    // Overlaps the current run: the run grows, no new replacement.
                    runEnd = max(runEnd, match.end)
                } else {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[released ..< match.start]))
                    output.append(contentsOf: replacement)
                    runEnd = match.end
                }
                released = runEnd
            }
            if released < held {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[released ..< held]))
            }
        }
        pending = held < work.count ? Array(work[held...]) : []
        // A run may reach into the held-back bytes; those must never come out.
        coveredPrefix = max(0, runEnd - held)
        return output
    }
}
