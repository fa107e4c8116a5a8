/* tap.h - a tiny Test Anything Protocol helper for binday's C unit tests.
 *
 * Each unit test is its own executable. It prints "ok N - name" or
 * "not ok N - name" per check and "1..N" at the end; tests/run.py counts
 * them. main ends with `return done_testing();`: the exit status is non-zero
 * when any check failed, when no check ran, or when a plan declared with
 * plan() does not match the checks that ran. done_testing is
 * warn_unused_result, so a bare `done_testing();` (which let main fall off its
 * end and exit 0 whatever happened) does not compile under -Werror.
 */
#ifndef BINDAY_TAP_H
#define BINDAY_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n_, tap_failed_, tap_planned_ = -1;

/* Optional: the number of checks main will run, checked by done_testing. */
static inline void plan(int n)
{
    tap_planned_ = n;
}

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
static inline int done_testing(void) __attribute__((warn_unused_result));
static inline int done_testing(void)
{
    printf("1..%d\n", tap_n_);
    if (tap_planned_ >= 0 && tap_planned_ != tap_n_) {
        printf("# planned %d checks but %d ran\n", tap_planned_, tap_n_);
        return 1;
    }
    if (tap_n_ == 0) {
        printf("# no check ran\n");
        return 1;
    }
    return tap_failed_ ? 1 : 0;
}

/* The whole file does not apply to this build (e.g. an ASan-only check under
 * TSan): `return skip_all("why");` prints TAP's "1..0 # SKIP why" and exits 0. */
static inline int skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

#endif
