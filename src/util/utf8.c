/* utf8.c - owns UTF-8 well-formedness (see utf8.h), for every module that
 * checks or cleans text: import, the JSON reader and writer, ICS, speech,
 * mail, responses. */
#include "binday/util/utf8.h"

#include <string.h>

/* The lead byte c (C2..F4) fixes the length and the range of the second byte
 * (RFC 3629 table 3-7): that range is what excludes overlongs (E0, F0),
 * surrogates (ED) and values past U+10FFFF (F4); later bytes are plain
 * continuations. */
static size_t lead_len(uint8_t c, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80, *hi = 0xBF;
    if (c == 0xE0)
        *lo = 0xA0;
    else if (c == 0xED)
        *hi = 0x9F;
    else if (c == 0xF0)
        *lo = 0x90;
    else if (c == 0xF4)
        *hi = 0x8F;
    return c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    uint8_t lo, hi;
    size_t k = lead_len(c, &lo, &hi);
    if (n < k)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* The ill-formed sequence at s (utf8_seq said 0) as one unit: its maximal
 * subpart, the lead byte and the continuation bytes that could still have
 * begun a well-formed sequence (Unicode's "U+FFFD substitution of maximal
 * subparts", which browsers follow). At least 1. */
static size_t bad_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0xC2 || c > 0xF4 || n < 2)
        return 1;
    uint8_t lo, hi;
    size_t k = lead_len(c, &lo, &hi);
    if (s[1] < lo || s[1] > hi)
        return 1;
    size_t i = 2;
    while (i < k && i < n && (s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

size_t utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (size_t k; i < n && (k = utf8_seq(s + i, n - i)) != 0;)
        i += k;
    return i;
}

int utf8_valid(const uint8_t *s, size_t n)
{
    return utf8_valid_prefix(s, n) == n;
}

size_t utf8_cut(const uint8_t *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && (s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

size_t utf8_clean(char *dst, size_t dst_size, const uint8_t *src, size_t len, unsigned flags,
                  utf8_clean_stats_t *st)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    size_t o = 0, i = 0, invalid = 0, controls = 0;
    if (dst_size > 0) {
        while (i < len) {
            uint8_t c = src[i];
            if (c >= 0x20 && c < 0x7F) { /* printable ASCII: nearly all text */
                if (o + 1 >= dst_size)
                    break;
                dst[o++] = (char)c;
                i++;
                continue;
            }
            const char *put = (const char *)src + i; /* what goes out for this unit */
            size_t k, pl;                            /* its length in src, in dst */
            size_t *count = NULL;                    /* what it counts as when not kept */
            if (c < 0x80) {
                k = 1;
                pl = 1;
                if (c == '\n' && (flags & UTF8_KEEP_LF)) {
                    /* kept */
                } else if ((c == '\t' || c == '\n' || c == '\r') && (flags & UTF8_WS_SPACE)) {
                    put = " ";
                    count = &controls;
                } else {
                    put = " ";
                    pl = (flags & UTF8_CTRL_SPACE) ? 1 : 0;
                    count = &controls;
                }
            } else if ((k = utf8_seq(src + i, len - i)) == 0) {
                k = bad_len(src + i, len - i);
                count = &invalid;
                if (flags & UTF8_BAD_FFFD)
                    put = fffd, pl = 3;
                else
                    put = " ", pl = (flags & UTF8_BAD_SPACE) ? 1 : 0;
            } else if (k == 2 && c == 0xC2 && src[i + 1] < 0xA0 && (flags & UTF8_C1_CONTROLS)) {
                put = " ";
                pl = (flags & UTF8_CTRL_SPACE) ? 1 : 0;
                count = &controls;
            } else {
                pl = k;
            }
            if (o + pl + 1 > dst_size)
                break;
            memcpy(dst + o, put, pl);
            o += pl;
            i += k;
            if (count)
                (*count)++;
        }
        dst[o] = '\0';
    }
    if (st) {
        st->used = i;
        st->invalid = invalid;
        st->controls = controls;
    }
    return o;
}
