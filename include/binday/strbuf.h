/* strbuf.h - a growable, NUL-terminated text buffer with a hard size cap.
 *
 * Writes after an allocation failure or past the cap are ignored and latch
 * `failed`, so a builder can write a whole document and check once at the
 * end. The caller owns `p` and frees it with strbuf_free (or takes it). */
#ifndef BINDAY_STRBUF_H
#define BINDAY_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *p; /* NUL-terminated once anything was written; NULL before */
    size_t len, cap, max;
    int failed;
} strbuf_t;

/* An empty buffer that may grow to `max` bytes (including the NUL). */
void strbuf_init(strbuf_t *b, size_t max);
void strbuf_free(strbuf_t *b);
void strbuf_put(strbuf_t *b, const char *s, size_t n);
void strbuf_puts(strbuf_t *b, const char *s);
void strbuf_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
