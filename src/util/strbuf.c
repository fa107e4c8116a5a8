/* strbuf.c - owns the bounded text builder used by the ICS, mail and JSON
 * writers, and the fixed-buffer concatenation of short phrases. */
#include "binday/util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(strbuf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void strbuf_free(strbuf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Make room for n more bytes plus the NUL; 0, or -1 (and failed set). */
static int reserve(strbuf_t *b, size_t n)
{
    if (b->failed)
        return -1;
    if (n > b->max || b->len + n + 1 > b->max) {
        b->failed = STRBUF_CAP;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = STRBUF_OOM;
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    return 0;
}

void strbuf_put(strbuf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void strbuf_puts(strbuf_t *b, const char *s)
{
    strbuf_put(b, s, strlen(s));
}

void strbuf_printf(strbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = STRBUF_CAP; /* vsnprintf refused the format: nothing written */
        return;
    }
    if (reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t strbuf_concatv(char *dst, size_t cap, const char *const *parts)
{
    if (cap == 0)
        return 0;
    size_t o = 0;
    for (; *parts != NULL; parts++) {
        size_t n = strlen(*parts);
        if (n > cap - 1 - o)
            n = cap - 1 - o;
        memcpy(dst + o, *parts, n);
        o += n;
    }
    dst[o] = '\0';
    return o;
}

const char *strbuf_itoa(long v, char out[24])
{
    char tmp[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return out;
}
