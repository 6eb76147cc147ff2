#include "LineScan.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Whether the line between the `\n` at `open` and the `\n` at `close` is a
/// short wrapped line (see the header); on success stores its bounds.
static int is_short_line(const uint8_t *text, size_t length, size_t open, size_t close, size_t max_width,
                         const uint8_t *alphabet, size_t *start, size_t *end) {
    size_t first = open + 1;
    size_t last = close;
    if (last > first && text[last - 1] == '\r') last -= 1;
    if (last <= first || last - first >= max_width) return 0;
    // The byte before the opening break, stepping over its `\r`.
    size_t before = open;
    if (before > 0 && text[before - 1] == '\r') before -= 1;
    if (before == 0 || !alphabet[text[before - 1]]) return 0;
    if (close + 1 >= length || !alphabet[text[close + 1]]) return 0;
    for (size_t i = first; i < last; i++) {
        if (!alphabet[text[i]]) return 0;
    }
    *start = first;
    *end = last;
    return 1;
}

/// The line breaks in `text[at ..< at + 64]`, one bit each, per instruction set.
static inline __attribute__((always_inline)) uint64_t newline_mask_portable(const uint8_t *at) {
    uint64_t mask = 0;
    for (int i = 0; i < 64; i++) mask |= (uint64_t)(at[i] == '\n') << i;
    return mask;
}

#if defined(__x86_64__)
static inline __attribute__((always_inline)) uint64_t newline_mask_sse2(const uint8_t *at) {
    const __m128i newline = _mm_set1_epi8('\n');
    uint64_t mask = 0;
    for (int i = 0; i < 4; i++) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(at + 16 * i));
        mask |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, newline)) << (16 * i);
    }
    return mask;
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline)) uint64_t newline_mask_avx2(const uint8_t *at) {
    const __m256i newline = _mm256_set1_epi8('\n');
    uint32_t low = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)at), newline));
    uint32_t high = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(at + 32)), newline));
    return (uint64_t)low | ((uint64_t)high << 32);
}

__attribute__((target("avx512f,avx512bw"))) static inline __attribute__((always_inline)) uint64_t newline_mask_avx512(const uint8_t *at) {
    return _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)at), _mm512_set1_epi8('\n'));
}
#endif

/// The search over whole 64-byte blocks, from `*at` with the last line break
/// before it at `*previous`; stops at a short line (returns 1) or before the
/// last partial block (returns 0, with `*at` and `*previous` updated).
///
/// Ordinary text has at most one break in most blocks, far from the one
/// before: one branch-free test per block decides that, and only the rest
/// is looked at break by break.
#define DEFINE_BLOCK_SEARCH(NAME, TARGET, MASK)                                                          \
    TARGET static int NAME(const uint8_t *text, size_t length, size_t *at_, size_t *previous_,          \
                           size_t max_width, const uint8_t *alphabet, size_t *start, size_t *end) {     \
        size_t at = *at_, previous = *previous_, span = max_width + 1;                                   \
        int found = 0;                                                                                   \
        for (; at + 64 <= length; at += 64) {                                                            \
            uint64_t mask = MASK(text + at);                                                             \
            size_t first = at + (size_t)__builtin_ctzll(mask | (1ull << 63));                            \
            int near = (mask != 0) & (first - previous <= span);                                         \
            int several = (mask & (mask - 1)) != 0;                                                      \
            if (__builtin_expect(near | several, 0)) {                                                   \
                while (mask != 0) {                                                                      \
                    size_t close = at + (size_t)__builtin_ctzll(mask);                                   \
                    mask &= mask - 1;                                                                    \
                    if (close - previous <= span                                                         \
                        && is_short_line(text, length, previous, close, max_width, alphabet, start, end)) { \
                        found = 1;                                                                       \
                        break;                                                                           \
                    }                                                                                    \
                    previous = close;                                                                    \
                }                                                                                        \
                if (found) break;                                                                        \
            } else {                                                                                     \
                previous = mask != 0 ? first : previous;                                                 \
            }                                                                                            \
        }                                                                                                \
        *at_ = at;                                                                                       \
        *previous_ = previous;                                                                           \
        return found;                                                                                    \
    }

DEFINE_BLOCK_SEARCH(block_search_portable, , newline_mask_portable)
#if defined(__x86_64__)
DEFINE_BLOCK_SEARCH(block_search_sse2, , newline_mask_sse2)
DEFINE_BLOCK_SEARCH(block_search_avx2, __attribute__((target("avx2"))), newline_mask_avx2)
DEFINE_BLOCK_SEARCH(block_search_avx512, __attribute__((target("avx512f,avx512bw"))), newline_mask_avx512)
#endif

typedef int (*block_search_fn)(const uint8_t *, size_t, size_t *, size_t *, size_t, const uint8_t *, size_t *, size_t *);

static block_search_fn pick_block_search(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw")) return block_search_avx512;
    if (__builtin_cpu_supports("avx2")) return block_search_avx2;
    return block_search_sse2;
#else
    return block_search_portable;
#endif
}

static block_search_fn block_search = NULL;

int outpost_line_scan_select(int level) {
    switch (level) {
    case 0: block_search = pick_block_search(); return 1;
    case 1: block_search = block_search_portable; return 1;
#if defined(__x86_64__)
    case 2: block_search = block_search_sse2; return 1;
    case 3:
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2")) return 0;
        block_search = block_search_avx2;
        return 1;
    case 4:
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512bw")) return 0;
        block_search = block_search_avx512;
        return 1;
#endif
    default: return 0;
    }
}

/// The first short line whose opening `\n` is at or after `from`, or 0.
static int find_first(const uint8_t *text, size_t length, size_t from, size_t max_width,
                      const uint8_t *alphabet, size_t *start, size_t *end) {
    if (block_search == NULL) block_search = pick_block_search();  // a race stores the same value

    if (from >= length) return 0;
    const uint8_t *first = memchr(text + from, '\n', length - from);
    if (first == NULL) return 0;
    size_t previous = (size_t)(first - text);
    size_t at = previous + 1;
    if (block_search(text, length, &at, &previous, max_width, alphabet, start, end)) return 1;
    // Lines this long or longer (with a `\r`) cannot be short.
    size_t span = max_width + 1;
    for (; at < length; at++) {
        if (text[at] != '\n') continue;
        if (at - previous <= span && is_short_line(text, length, previous, at, max_width, alphabet, start, end)) return 1;
        previous = at;
    }
    return 0;
}

size_t outpost_find_short_lines(
    const uint8_t *text, size_t length, size_t from, size_t max_width,
    const uint8_t *alphabet, size_t *run_end) {
    size_t start, end;
    if (!find_first(text, length, from, max_width, alphabet, &start, &end)) return length;
    // The lines right after it, while they are short too (a narrow dump is one run).
    for (;;) {
        size_t open = text[end] == '\r' ? end + 1 : end;
        size_t window = length - (open + 1) < max_width + 1 ? length - (open + 1) : max_width + 1;
        const uint8_t *close = memchr(text + open + 1, '\n', window);
        size_t next_start, next_end;
        if (close == NULL
            || !is_short_line(text, length, open, (size_t)(close - text), max_width, alphabet, &next_start, &next_end)) break;
        end = next_end;
    }
    *run_end = end;
    return start;
}
