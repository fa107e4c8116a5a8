/* utf8.c - owns UTF-8 well-formedness (see utf8.h), for every module that
 * checks or cleans text: import, the JSON reader and writer, ICS, responses. */
#include "binday/util/utf8.h"

/* The lead byte fixes the length and the range of the second byte (RFC 3629
 * table 3-7): that range is what excludes overlongs (E0, F0), surrogates
 * (ED) and values past U+10FFFF (F4); later bytes are plain continuations. */
size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < k)
        return 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
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
