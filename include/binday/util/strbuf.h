/* strbuf.h - a growable, NUL-terminated text buffer with a hard size cap;
 * and two helpers for short text in fixed buffers.
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
    int failed; /* 0; STRBUF_CAP (a write passed max) or STRBUF_OOM (memory ran out) */
} strbuf_t;

#define STRBUF_CAP 1
#define STRBUF_OOM 2

/* An empty buffer that may grow to `max` bytes (including the NUL). */
void strbuf_init(strbuf_t *b, size_t max);
void strbuf_free(strbuf_t *b);
void strbuf_put(strbuf_t *b, const char *s, size_t n);
void strbuf_puts(strbuf_t *b, const char *s);
void strbuf_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The strings, one after another, into dst (cap bytes): what
 * snprintf(dst, cap, "%s%s...", ...) writes, cut at cap - 1 bytes like it,
 * without parsing a format (snprintf was ~2% of a request's instructions,
 * for phrases like "the green bin for household rubbish"). cap 0 writes
 * nothing. Returns the length written. Call as
 *   strbuf_concat(dst, cap, "the ", colour, " bin");
 * strbuf_concatv takes the list as an array ending in NULL. */
#define strbuf_concat(dst, cap, ...) strbuf_concatv((dst), (cap), (const char *const[]){__VA_ARGS__, NULL})
size_t strbuf_concatv(char *dst, size_t cap, const char *const *parts);

/* v in decimal ("-12", "2026") into out; returns out. */
const char *strbuf_itoa(long v, char out[24]);

#endif
