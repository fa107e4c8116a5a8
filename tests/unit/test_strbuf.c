/* test_strbuf.c - the fixed-buffer helpers against snprintf: strbuf_concat
 * writes what snprintf("%s%s...") writes, cut at the same byte, for every
 * capacity; strbuf_itoa writes what "%ld" writes, at the edges and at random;
 * rec_str_lower against snprintf and tolower; and the growable buffer's cap. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/records.h"
#include "binday/util/strbuf.h"
#include "tap.h"

static unsigned rnd_state = 4242;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xFFFFFF;
}

static void test_concat(void)
{
    static const char *words[] = {"", "the ", "green", " bin", " for ", "household rubbish", "x",
                                  "\xc3\xa9t\xc3\xa9", "a longer piece of text that will not fit in small buffers"};
    size_t nw = sizeof(words) / sizeof(words[0]);
    int same = 1, cases = 0;
    for (int r = 0; r < 2000; r++) {
        const char *w[4];
        for (int i = 0; i < 4; i++)
            w[i] = words[rnd() % nw];
        for (size_t cap = 1; cap < 120; cap += 1 + rnd() % 7) {
            char a[128], b[128];
            memset(a, '#', sizeof(a));
            memset(b, '#', sizeof(b));
            size_t n = strbuf_concat(a, cap, w[0], w[1], w[2], w[3]);
            int m = snprintf(b, cap, "%s%s%s%s", w[0], w[1], w[2], w[3]);
            size_t want = (size_t)m < cap ? (size_t)m : cap - 1;
            cases++;
            if (n != want || memcmp(a, b, sizeof(a)) != 0) {
                same = 0;
                printf("# cap %zu: got %zu \"%s\", want %zu \"%s\"\n", cap, n, a, want, b);
                break;
            }
        }
    }
    ok(same, "strbuf_concat writes snprintf's bytes and no more (%d cases)", cases);
    char one[1] = {'#'};
    ok(strbuf_concat(one, 1, "abc") == 0 && one[0] == '\0', "capacity 1: just the NUL");
    one[0] = '#';
    ok(strbuf_concat(one, 0, "abc") == 0 && one[0] == '#', "capacity 0: nothing written");
    char e[8];
    ok(strbuf_concatv(e, sizeof(e), (const char *const[]){NULL}) == 0 && e[0] == '\0', "no strings: empty");
}

static void test_itoa(void)
{
    long edge[] = {0, 1, -1, 9, 10, -10, 99, 100, 2026, -2026, 123456789, INT_MAX, INT_MIN, LONG_MAX, LONG_MIN};
    int same = 1;
    char a[24], b[32];
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        snprintf(b, sizeof(b), "%ld", edge[i]);
        if (strcmp(strbuf_itoa(edge[i], a), b) != 0) {
            same = 0;
            printf("# %s vs %s\n", a, b);
        }
    }
    ok(same, "strbuf_itoa at the edges (0, +-1, powers of ten, INT and LONG limits)");
    same = 1;
    for (int r = 0; r < 100000 && same; r++) {
        long v = (long)(((unsigned long)rnd() << 40) ^ ((unsigned long)rnd() << 16) ^ rnd());
        if (r & 1)
            v = -v;
        v >>= rnd() % 60;
        snprintf(b, sizeof(b), "%ld", v);
        same = strcmp(strbuf_itoa(v, a), b) == 0;
    }
    ok(same, "strbuf_itoa matches %%ld on 100,000 random values");
}

/* rec_str_lower: what snprintf("%.*s") and a tolower loop made of a
 * record string before (the bin phrases and calendar summaries) */
static void test_rec_str_lower(void)
{
    static const char *src[] = {"Food Caddy", "GREEN", "", "a longer Colour Name for a Small buffer", "Nul\0Tail"};
    static const uint32_t len[] = {10, 5, 0, 41, 8};
    int same = 1;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
        for (size_t cap = 1; cap < 48; cap++) {
            char a[48], b[48];
            rec_str_t r = {src[i], len[i]};
            rec_str_lower(a, cap, r);
            snprintf(b, cap, "%.*s", (int)r.n, r.p);
            for (char *p = b; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            same &= strcmp(a, b) == 0;
        }
    char a[8] = "x";
    rec_str_lower(a, sizeof(a), (rec_str_t){NULL, 0});
    ok(same && a[0] == '\0', "rec_str_lower: snprintf's cut (at cap and at a NUL), lower case, \"\" when absent");
}

static void test_buf(void)
{
    strbuf_t b;
    strbuf_init(&b, 16);
    strbuf_puts(&b, "0123456789");
    ok(!b.failed && b.len == 10 && strcmp(b.p, "0123456789") == 0, "growable buffer: written");
    strbuf_puts(&b, "abcdef");
    ok(b.failed && b.len == 10, "a write past the cap is refused and latches failed");
    strbuf_free(&b);
}

int main(void)
{
    test_concat();
    test_itoa();
    test_rec_str_lower();
    test_buf();
    return done_testing();
}
