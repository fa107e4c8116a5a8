/* xalloc.c - the allocation wrappers of xalloc.h: abort on out-of-memory,
 * after one line on stderr (the logger itself may need memory, so this writes
 * with a fixed buffer). */
#include "binday/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void xalloc_die(const char *what, size_t n)
{
    char line[160];
    int len = snprintf(line, sizeof(line), "level=fatal event=oom what=%s bytes=%zu\n", what ? what : "malloc", n);
    if (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
        (void)w;
    }
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xalloc_die("malloc", n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        xalloc_die("calloc", count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        xalloc_die("realloc", n);
    return q;
}

char *xmemdup(const void *p, size_t n)
{
    char *q = xmalloc(n + 1);
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

char *xstrndup(const char *s, size_t n)
{
    return xmemdup(s, strnlen(s, n));
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}
