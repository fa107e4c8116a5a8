/* tap.h - a tiny Test Anything Protocol helper for binday's C unit tests.
 *
 * Each unit test is its own executable. It prints "ok N - name" or
 * "not ok N - name" per check and "1..N" at the end; tests/run.py counts
 * them. The exit status is non-zero when any check failed.
 */
#ifndef BINDAY_TAP_H
#define BINDAY_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n_, tap_failed_;

static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    ++tap_n_;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_n_);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        ++tap_failed_;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

/* ok(cond, "name %s", ...) */
#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* is_int(got, want, "name") */
#define is_int(got, want, ...)                                                                 \
    do {                                                                                       \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                       \
        if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                                                \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                             \
    } while (0)

/* is_str(got, want, "name"): NULL-safe string comparison */
#define is_str(got, want, ...)                                                                 \
    do {                                                                                       \
        const char *tap_g_ = (got), *tap_w_ = (want);                                          \
        int tap_eq_ = (tap_g_ == NULL || tap_w_ == NULL) ? tap_g_ == tap_w_                    \
                                                         : strcmp(tap_g_, tap_w_) == 0;        \
        if (!ok(tap_eq_, __VA_ARGS__))                                                         \
            printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)",               \
                   tap_w_ ? tap_w_ : "(null)");                                                \
    } while (0)

/* Call at the end of main: return done_testing(); */
static inline int done_testing(void)
{
    printf("1..%d\n", tap_n_);
    return tap_failed_ ? 1 : 0;
}

#endif
