/* log.c - owns the process's log output: logfmt lines on stderr (or a chosen fd). */
#include "binday/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* relaxed atomic: SIGHUP may change it while loop threads log */
static log_level_t min_level = LOG_INFO;

void log_set_level(log_level_t level)
{
    __atomic_store_n(&min_level, level, __ATOMIC_RELAXED);
}

void log_write(log_level_t level, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < __atomic_load_n(&min_level, __ATOMIC_RELAXED))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level], event);
    if (n < 0)
        return;
    if (fmt != NULL && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    /* a line must stay one line whatever the caller formatted */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(2, line, (size_t)n);
    (void)w;
}

char *log_quote(char *dst, size_t dst_size, const void *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = src;
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        char tmp[4];
        size_t tl;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c < 0x20 || c >= 0x7f) {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 15];
            tl = 4;
        } else {
            tmp[0] = (char)c;
            tl = 1;
        }
        if (o + tl + 2 > dst_size)
            break;
        memcpy(dst + o, tmp, tl);
        o += tl;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}
