/* xalloc.h - allocation that cannot fail: the one place binday aborts on
 * out-of-memory.
 *
 * binday aborts only on OOM or a broken invariant (DEVELOPERS.md); every other
 * failure is an error code with a text for the log. These wrappers keep that
 * rule in one place instead of an `if (!p) abort();` after every allocation:
 * they log one line naming the size and abort. The caller owns the result and
 * frees it with free(). A zero size is allowed and returns a unique pointer.
 */
#ifndef BINDAY_UTIL_XALLOC_H
#define BINDAY_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and adds a NUL. */
char *xstrndup(const char *s, size_t n);
/* Copies exactly n bytes (which may hold NULs) and adds a NUL. */
char *xmemdup(const void *p, size_t n);
/* Logs "out of memory" with what was asked for and aborts: for allocators the
 * wrappers above do not cover (OpenSSL, jansson, h2o, libuv). */
_Noreturn void xalloc_die(const char *what, size_t n);

#endif
