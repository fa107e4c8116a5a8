/* test_jsonload.c - differential tests of the fast JSON reader against
 * jansson's json_loadb: hand-written valid and invalid documents, the real
 * request envelopes and API answers of the fuzz corpora, generated edge cases
 * (depth limit, integer limits, long strings and numbers) and a deterministic
 * mutation loop. Every case runs with the three flag sets the code base uses. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonload_diff.h"
#include "tap.h"

/* Every flag set must agree; returns 1 when all did. */
static int agree(const uint8_t *d, size_t n, const char *name)
{
    int all = 1;
    for (int i = 0; i < 3; i++) {
        const char *why = jld_diff(d, n, jld_flag_sets[i], NULL);
        if (why != NULL) {
            printf("#   %s: flags %zu: %s\n", name, jld_flag_sets[i], why);
            all = 0;
        }
    }
    return all;
}

/* Agreement plus what jansson itself does with flags 0, so a case documents
 * its intent and a jansson upgrade that changes the rule is noticed. */
static void check(const char *doc, size_t n, int want_ok, const char *name)
{
    int acc = 0;
    const char *why = jld_diff((const uint8_t *)doc, n, 0, &acc);
    ok(why == NULL && agree((const uint8_t *)doc, n, name) && acc == want_ok, "%s %s", want_ok ? "accept" : "reject",
       name);
    if (why)
        printf("#   %s\n", why);
}

#define ACC(lit) check(lit, sizeof(lit) - 1, 1, #lit)
#define REJ(lit) check(lit, sizeof(lit) - 1, 0, #lit)

static void hand_cases(void)
{
    /* grammar and whitespace */
    ACC("{}");
    ACC("[]");
    ACC(" \t\r\n{ \t\r\n} \t\r\n");
    ACC("[1, 2 ,3\n,\t4]");
    ACC("{\"a\":{\"b\":[{\"c\":[]}]}}");
    ACC("{\"\":\"\"}");
    ACC("[true,false,null]");
    REJ("");
    REJ("   ");
    REJ("[");
    REJ("]");
    REJ("{");
    REJ("[1,]");
    REJ("[,1]");
    REJ("[1 2]");
    REJ("{\"a\":1,}");
    REJ("{\"a\" 1}");
    REJ("{\"a\":}");
    REJ("{a:1}");
    REJ("{1:1}");
    REJ("{\"a\":1 \"b\":2}");
    REJ("[1]]");
    REJ("[1] [2]");
    REJ("{}x");
    REJ("[\f1]");   /* form feed is not JSON whitespace */
    REJ("[\v1]");
    REJ("\xef\xbb\xbf[]"); /* a BOM is not skipped */
    REJ("[tru]");
    REJ("[truex]");
    REJ("[True]");
    REJ("[nul]");
    REJ("[nulll]");
    REJ("[falsey]");
    REJ("[1true]");
    REJ("[\"a\"\"b\"]");
    REJ("[1]\x00");
    /* jansson drops one NUL right after a number or literal (see drop_one_nul) */
    ACC("[1\x00]");
    ACC("[1.5\x00,2e3\x00,-0\x00]");
    ACC("[true\x00,false\x00 ,null\x00]");
    ACC("{\"a\":1\x00}");
    REJ("[1\x00\x00]");
    REJ("[\"a\"\x00]");
    REJ("[[]\x00]");
    REJ("[1 \x00]");
    REJ("[1.\x00]");
    REJ("[1e\x00]");
    REJ("[-\x00]");
    REJ("[\x00]");
    REJ("\x00[]");
    REJ("[1]/*c*/");
    REJ("['a']");
    /* top-level scalars only with JSON_DECODE_ANY (agree() runs it) */
    REJ("1");
    REJ("\"s\"");
    REJ("null");
    REJ(" true ");
    /* numbers */
    ACC("[0,-0,1,-1,10,123456789]");
    ACC("[0.0,-0.0,0.5,-0.5,1e0,1E0,1e+0,1e-0,1.5e10,1.5E-10]");
    ACC("[9223372036854775807,-9223372036854775808]");
    REJ("[9223372036854775808]");
    REJ("[-9223372036854775809]");
    REJ("[99999999999999999999999]");
    ACC("[9223372036854775808.0]");
    ACC("[9223372036854775808e0]");
    ACC("[1e308,1.7976931348623157e308,-1.7976931348623157e308]");
    REJ("[1e309]");
    REJ("[-1e309]");
    REJ("[1.8e308]");
    ACC("[1e-400,-1e-400,4.9e-324,2.2250738585072014e-308]");
    ACC("[0e1,0E-1,-0e+1,0.0e0]");
    REJ("[00e1]");
    REJ("[01]");
    REJ("[-01]");
    REJ("[00]");
    REJ("[1.]");
    REJ("[.1]");
    REJ("[1.e5]");
    REJ("[1e]");
    REJ("[1e+]");
    REJ("[1e-]");
    REJ("[+1]");
    REJ("[-]");
    REJ("[- 1]");
    REJ("[--1]");
    REJ("[1..2]");
    REJ("[1e5.5]");
    REJ("[0x10]");
    REJ("[Infinity]");
    REJ("[NaN]");
    REJ("[-Infinity]");
    ACC("[0.1,0.2,0.30000000000000004,3.141592653589793,1e22,1e23]");
    /* strings and escapes */
    ACC("[\"plain ascii text that is longer than eight bytes\"]");
    ACC("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
    ACC("[\"\\u0041\\u00e9\\u00E9\\u20ac\\uffff\\u0001\\u001f\\u007f\"]");
    ACC("[\"\\ud83d\\ude00\",\"\\uD83D\\uDE00\",\"\\udbff\\udfff\",\"\\ud800\\udc00\"]");
    REJ("[\"\\ud800\"]");
    REJ("[\"\\ud800x\"]");
    REJ("[\"\\ud800\\n\"]");
    REJ("[\"\\ud800\\\\\"]");
    REJ("[\"\\ud800\\u0041\"]");
    REJ("[\"\\ud800\\ud800\"]");
    REJ("[\"\\udc00\"]");
    REJ("[\"\\udfff\\udc00\"]");
    REJ("[\"\\u0000\"]");
    REJ("[\"a\\u0000b\"]");
    REJ("{\"\\u0000\":1}");
    REJ("{\"a\\u0000\":1}");
    ACC("{\"\\u00e9\":1,\"\\n\":2}");
    REJ("[\"\\x41\"]");
    REJ("[\"\\u12\"]");
    REJ("[\"\\u12g4\"]");
    REJ("[\"\\U0041\"]");
    REJ("[\"\\a\"]");
    REJ("[\"\\'\"]");
    REJ("[\"\\");
    REJ("[\"\\u");
    REJ("[\"\\u00");
    REJ("[\"abc");
    REJ("[\"abc\\\"]");
    REJ("[\"a\nb\"]");
    REJ("[\"a\tb\"]");
    REJ("[\"a\x01\"]");
    REJ("[\"a\x1f\"]");
    ACC("[\"a\x7f\"]");
    REJ("[\"a\x00\"]");
    /* UTF-8: the same rules as jansson's utf8_check_first/full */
    ACC("[\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]");
    ACC("[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 Llanf\xc3\xa6r\"]");
    ACC("[\"\xee\x80\x80\xed\x9f\xbf\"]");
    REJ("[\"\x80\"]");
    REJ("[\"\xbf\"]");
    REJ("[\"\xc0\x80\"]");
    REJ("[\"\xc1\xbf\"]");
    REJ("[\"\xc2\"]");
    REJ("[\"\xc2\x41\"]");
    REJ("[\"\xc2\xc2\x80\"]");
    REJ("[\"\xe0\x80\x80\"]");
    REJ("[\"\xe0\x9f\xbf\"]");
    REJ("[\"\xed\xa0\x80\"]");
    REJ("[\"\xed\xbf\xbf\"]");
    REJ("[\"\xe2\x82\"]");
    REJ("[\"\xe2\x82");
    REJ("[\"\xe2");
    REJ("[\"\xf0\x80\x80\x80\"]");
    REJ("[\"\xf0\x8f\xbf\xbf\"]");
    REJ("[\"\xf4\x90\x80\x80\"]");
    REJ("[\"\xf5\x80\x80\x80\"]");
    REJ("[\"\xf8\x88\x80\x80\x80\"]");
    REJ("[\"\xff\"]");
    REJ("[\"\xfe\"]");
    REJ("[\"\xf0\x9f\x98\"]");
    REJ("[1]\xc3\xa9");
    REJ("\xc3\xa9");
    REJ("[\xc3\xa9]");
    /* duplicates: last wins, or rejected with JSON_REJECT_DUPLICATES */
    ACC("{\"a\":1,\"a\":2}");
    ACC("{\"a\":1,\"b\":2,\"a\":[3]}");
    ACC("{\"\\u0061\":1,\"a\":2}");
    ACC("{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
    /* keys whose decoded bytes match but raw spellings differ */
    ACC("{\"\\u00e9\":1,\"\xc3\xa9\":2}");
}

static void flag_specific(void)
{
    json_error_t e;
    json_t *j = jsonload((const uint8_t *)"{\"a\":1,\"a\":2}", 13, JSON_REJECT_DUPLICATES, &e);
    ok(j == NULL && strstr(e.text, "duplicate") != NULL && json_error_code(&e) == json_error_duplicate_key,
       "JSON_REJECT_DUPLICATES rejects a duplicate key (%s)", e.text);
    json_decref(j);
    j = jsonload((const uint8_t *)"{\"a\":1,\"a\":2}", 13, 0, &e);
    ok(json_integer_value(json_object_get(j, "a")) == 2 && json_object_size(j) == 1, "without it the last value wins");
    json_decref(j);
    j = jsonload((const uint8_t *)"\"x\"", 3, JSON_DECODE_ANY, &e);
    ok(json_is_string(j) && strcmp(json_string_value(j), "x") == 0, "JSON_DECODE_ANY takes a top-level string");
    json_decref(j);
    j = jsonload((const uint8_t *)"\"x\"", 3, 0, &e);
    ok(j == NULL && e.text[0] != '\0', "without it a top-level string is rejected (%s)", e.text);
    j = jsonload((const uint8_t *)"[1,1.0,-0,-0.0]", 15, 0, &e);
    ok(json_is_integer(json_array_get(j, 0)) && json_is_real(json_array_get(j, 1)) &&
           json_is_integer(json_array_get(j, 2)) && json_is_real(json_array_get(j, 3)) &&
           signbit(json_real_value(json_array_get(j, 3))),
       "integers stay integers, fractions are reals, -0.0 keeps its sign");
    json_decref(j);
    const char *bad = "{\"a\":\n [1,\n  tru]}";
    j = jsonload((const uint8_t *)bad, strlen(bad), 0, &e);
    ok(j == NULL && e.line == 3 && e.position == 13 && strcmp(e.source, "<buffer>") == 0,
       "error position %d line %d column %d: %s", e.position, e.line, e.column, e.text);
    j = jsonload((const uint8_t *)"[]", 2, 0, NULL);
    ok(json_is_array(j), "err may be NULL");
    json_decref(j);
    ok(jsonload(NULL, 0, 0, &e) == NULL && e.text[0] != '\0', "NULL, 0 is rejected");
    /* a flag outside the native set goes to jansson itself */
    j = jsonload((const uint8_t *)"[\"a\\u0000b\"]", 12, JSON_ALLOW_NUL, &e);
    ok(json_is_string(json_array_get(j, 0)) && json_string_length(json_array_get(j, 0)) == 3,
       "JSON_ALLOW_NUL is delegated to json_loadb");
    json_decref(j);
}

/* n nested arrays, with `inner` (may be "") in the middle */
static char *nest(int n, const char *inner, size_t *len)
{
    size_t il = strlen(inner);
    char *s = malloc((size_t)n * 2 + il + 1);
    memset(s, '[', (size_t)n);
    memcpy(s + n, inner, il);
    memset(s + n + il, ']', (size_t)n);
    *len = (size_t)n * 2 + il;
    s[*len] = '\0';
    return s;
}

static void generated(void)
{
    /* depth: jansson counts every value, the top level is 1, the limit 2048 */
    static const int depths[] = {1, 100, 2046, 2047, 2048, 2049, 2050, 5000};
    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        const char *inners[] = {"", "1", "{}", "{\"a\":1}"};
        for (int k = 0; k < 4; k++) {
            size_t len;
            char *s = nest(depths[i], inners[k], &len);
            char name[64];
            snprintf(name, sizeof(name), "depth %d around '%s'", depths[i], inners[k]);
            ok(agree((const uint8_t *)s, len, name), "%s", name);
            free(s);
        }
    }
    /* a deep unclosed document and one of objects */
    {
        size_t len = 3000 * 6 + 2;
        char *s = malloc(len + 1);
        size_t o = 0;
        for (int i = 0; i < 3000; i++)
            o += (size_t)sprintf(s + o, "{\"k\":");
        s[o++] = '1';
        s[o] = '\0';
        ok(agree((const uint8_t *)s, o, "deep objects"), "3000 nested objects, unclosed");
        for (int cut = 2040; cut <= 2050; cut++) {
            size_t m = 0;
            char *t = malloc((size_t)cut * 8 + 8);
            for (int i = 0; i < cut; i++)
                m += (size_t)sprintf(t + m, "{\"k\":");
            t[m++] = '0';
            for (int i = 0; i < cut; i++)
                t[m++] = '}';
            ok(agree((const uint8_t *)t, m, "nested objects"), "%d nested objects", cut);
            free(t);
        }
        free(s);
    }
    /* integer limits, digit by digit around them */
    static const char *ints[] = {"9223372036854775806", "9223372036854775807", "9223372036854775808",
                                 "9223372036854775809", "9223372036854775810", "18446744073709551615",
                                 "18446744073709551616", "92233720368547758070", "10000000000000000000"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        char doc[64];
        snprintf(doc, sizeof(doc), "[%s]", ints[i]);
        ok(agree((const uint8_t *)doc, strlen(doc), doc), "integer %s", doc);
        snprintf(doc, sizeof(doc), "[-%s]", ints[i]);
        ok(agree((const uint8_t *)doc, strlen(doc), doc), "integer %s", doc);
    }
    /* long strings: every length around the 8-byte word loop and the
     * 256-byte stack decode buffer, plain and with escapes/UTF-8 at the end */
    static const char *tails[] = {"", "\\n", "\xc3\xa9", "\\u00e9", "\x01", "\\ud83d\\ude00", "\xe2\x82"};
    int bad = 0, cases = 0;
    for (size_t n = 0; n < 300; n += (n < 20 || (n > 240 && n < 270)) ? 1 : 7) {
        for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
            char *s = malloc(n + 32);
            size_t m = 0;
            s[m++] = '[';
            s[m++] = '"';
            for (size_t i = 0; i < n; i++)
                s[m++] = (char)('a' + i % 26);
            memcpy(s + m, tails[t], strlen(tails[t]));
            m += strlen(tails[t]);
            s[m++] = '"';
            s[m++] = ']';
            bad += !agree((const uint8_t *)s, m, "long string");
            /* the same as an object key */
            s[0] = '{';
            s[m - 1] = ':';
            s[m++] = '1';
            s[m++] = '}';
            bad += !agree((const uint8_t *)s, m, "long key");
            cases += 2;
            free(s);
        }
    }
    ok(bad == 0, "%d long strings and keys agree", cases);
    /* long numbers: past the 64-byte stack copy for strtod */
    static const char *nums[] = {"0.", "1.", "-0.", "1", "-1"};
    bad = 0;
    cases = 0;
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
        for (size_t n = 55; n < 75; n++) {
            char doc[128];
            int m = snprintf(doc, sizeof(doc), "[%s", nums[k]);
            for (size_t i = 0; i < n; i++)
                doc[m++] = (char)('1' + i % 9);
            m += snprintf(doc + m, sizeof(doc) - (size_t)m, "%s]", k >= 3 ? "e-5" : "");
            bad += !agree((const uint8_t *)doc, (size_t)m, doc);
            cases++;
        }
    }
    char big[1100];
    memset(big, '9', sizeof(big));
    big[0] = '[';
    memcpy(big + sizeof(big) - 3, ".0]", 3);
    bad += !agree((const uint8_t *)big, sizeof(big), "1000-digit real");
    ok(bad == 0, "%d long numbers agree", cases + 1);
}

/* Exhaustive small spaces: every 2-byte string content (UTF-8 leads,
 * continuation bytes, control characters, quotes and escapes in every
 * combination) and every byte after prefixes that stop mid-token. A one-off
 * run of all 3-byte contents (16.7M) agreed too; it is too slow for here. */
static void exhaustive(void)
{
    uint8_t d[32];
    int bad = 0, n = 0;
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            d[0] = '[';
            d[1] = '"';
            d[2] = (uint8_t)a;
            d[3] = (uint8_t)b;
            d[4] = '"';
            d[5] = ']';
            n++;
            if (jld_diff(d, 6, 0, NULL) != NULL && bad++ < 5)
                printf("#   string bytes %02x %02x disagree\n", a, b);
        }
    }
    ok(bad == 0, "all %d two-byte string contents agree", n);
    static const char *pre[] = {"",      "[",         "[1",      "[-",     "[1.",        "[1e",     "[1e+",
                                "[0",    "[t",        "[true",   "[nul",   "{",          "{\"a\"",  "{\"a\":",
                                "[\"\\", "[\"\\u00", "[\"\\ud800", "[\"\xf0", "[\"\xe0\xa0", "1",       "\"",
                                "[1,",   "{\"a\":1,", "[[]",     "[\"a\""};
    bad = 0;
    n = 0;
    for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
        size_t m = strlen(pre[k]);
        memcpy(d, pre[k], m);
        for (unsigned a = 0; a < 256; a++) {
            for (int close = 0; close < 3; close++) {
                size_t l = m;
                d[l++] = (uint8_t)a;
                if (close == 1)
                    d[l++] = ']';
                else if (close == 2)
                    d[l++] = '}';
                n++;
                if (!agree(d, l, pre[k]))
                    bad++;
            }
        }
    }
    ok(bad == 0, "every byte after %zu prefixes, x 3 closings x 3 flag sets: %d cases agree",
       sizeof(pre) / sizeof(pre[0]), n);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *b = malloc(1 << 20);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* seeds for the mutation loop: every corpus document */
#define MAX_SEEDS 256
static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static int nseeds;

static void corpus_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ok(d != NULL, "corpus %s", dir);
    if (d == NULL)
        return;
    struct dirent *e;
    int n = 0, bad = 0, accepted = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *b = slurp(p, &len);
        if (b == NULL)
            continue;
        n++;
        int acc = 0;
        jld_diff(b, len, 0, &acc);
        accepted += acc;
        bad += !agree(b, len, p);
        if (nseeds < MAX_SEEDS) {
            seeds[nseeds] = b;
            seed_len[nseeds++] = len;
        } else {
            free(b);
        }
    }
    closedir(d);
    ok(n > 0 && bad == 0, "%s: %d documents (%d valid JSON) agree", dir, n, accepted);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mutations(int rounds)
{
    static const char interesting[] = "{}[]\":,\\u0123456789eE.+- \t\n\r/tfnaA\x00\x01\x1f\x7f\x80\xbf\xc2\xc3"
                                      "\xe0\xed\xef\xf0\xf4\xf5\xff";
    int bad = 0, accepted = 0;
    for (int r = 0; r < rounds; r++) {
        int si = (int)(next_rand() % (uint64_t)nseeds);
        size_t len = seed_len[si];
        uint8_t *b = malloc(len + 64);
        memcpy(b, seeds[si], len);
        int nmut = 1 + (int)(next_rand() % 4);
        for (int m = 0; m < nmut; m++) {
            size_t at = len ? next_rand() % len : 0;
            switch (next_rand() % 6) {
            case 0: /* replace with an interesting byte */
                if (len)
                    b[at] = (uint8_t)interesting[next_rand() % (sizeof(interesting) - 1)];
                break;
            case 1: /* flip a bit */
                if (len)
                    b[at] ^= (uint8_t)(1u << (next_rand() % 8));
                break;
            case 2: /* insert */
                if (len + 1 <= seed_len[si] + 64) {
                    memmove(b + at + 1, b + at, len - at);
                    b[at] = (uint8_t)interesting[next_rand() % (sizeof(interesting) - 1)];
                    len++;
                }
                break;
            case 3: /* delete */
                if (len) {
                    memmove(b + at, b + at + 1, len - at - 1);
                    len--;
                }
                break;
            case 4: /* truncate */
                len = at;
                break;
            default: /* swap two bytes */
                if (len) {
                    size_t o = next_rand() % len;
                    uint8_t t = b[at];
                    b[at] = b[o];
                    b[o] = t;
                }
                break;
            }
        }
        for (int i = 0; i < 3; i++) {
            int acc = 0;
            const char *why = jld_diff(b, len, jld_flag_sets[i], &acc);
            accepted += acc;
            if (why != NULL) {
                if (bad++ < 5) {
                    printf("#   mutation %d flags %zu: %s: ", r, jld_flag_sets[i], why);
                    for (size_t k = 0; k < len && k < 200; k++)
                        printf(b[k] >= 0x20 && b[k] < 0x7f ? "%c" : "\\x%02x", b[k]);
                    printf("\n");
                }
            }
        }
        free(b);
    }
    ok(bad == 0, "%d mutations x 3 flag sets agree with json_loadb (%d accepted)", rounds, accepted);
}

int main(void)
{
    hand_cases();
    flag_specific();
    generated();
    exhaustive();
    corpus_dir("tests/fuzz/corpus/fuzz_jsonload");
    corpus_dir("tests/fuzz/corpus/fuzz_envelope");
    corpus_dir("tests/fuzz/corpus/fuzz_alexa_request");
    corpus_dir("tests/fuzz/corpus/fuzz_alexa_api");
    mutations(4000);
    for (int i = 0; i < nseeds; i++)
        free(seeds[i]);
    return done_testing();
}
