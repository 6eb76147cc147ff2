#ifndef OUTPOST_LINE_SCAN_H
#define OUTPOST_LINE_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Finds the first run of *short wrapped lines* whose first opening `\n`
/// lies at or after `from` in `text[0 ..< length]`.
///
/// A short wrapped line is the bytes between two `\n` (without a `\r`
/// before the second), 1 to `max_width - 1` of them, all in `alphabet` (256
/// flags), where the byte before the opening break (`\n` or `\r\n`) and the
/// byte after the closing `\n` are in `alphabet` too: what a line-wrapped
/// pattern narrower than `max_width` columns leaves whole inside an
/// occurrence. A run is such lines one right after the other.
///
/// Returns the offset of the run's first byte and stores one past the last
/// byte of its last line (before any `\r`) in `*run_end`; returns `length`
/// when there is none.
///
/// Why C: the search visits every byte of every log chunk, and AVX-512,
/// AVX2 or SSE2 (picked at run time) find line breaks 64 bytes at a time,
/// which Swift cannot say.
size_t outpost_find_short_lines(
    const uint8_t *text, size_t length, size_t from, size_t max_width,
    const uint8_t *alphabet, size_t *run_end);

/// Which block search the functions above use: 0 the best this CPU has
/// (the default), 1 portable C, 2 SSE2, 3 AVX2, 4 AVX-512. Returns 0 when
/// the CPU cannot run it. For tests, which check every one against the same
/// answers; all give the same results.
int outpost_line_scan_select(int level);

#endif
