/* test_jsonout.c - the fast writer against json_dumps: the same bytes, or
 * NULL from both, over hand-picked and random trees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/json/jsonout.h"
#include "tap.h"

static unsigned rnd_state = 12345;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xFFFFFF;
}

/* strings that exercise every escape and UTF-8 rule; some invalid */
static size_t rand_text(char *out, size_t cap)
{
    static const char *pieces[] = {"a", "Z", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f",
                                   "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x97\x91", "\xef\xbf\xbf",
                                   "\xc2\x80", "<speak>", "&amp;", "Monday", "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf",
                                   /* invalid: */ "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80", "\x80", "\xe2\x82",
                                   "\xf0\x8f\xbf\xbf", "\xff", "\0"};
    size_t n = 0, k = rnd() % 12, np = sizeof(pieces) / sizeof(pieces[0]);
    for (size_t i = 0; i < k; i++) {
        unsigned r = rnd() % (np * 4);
        /* invalid pieces are rare, so most strings are valid */
        size_t pi = r < np * 3 ? r % (np - 8) : r % np;
        const char *p = pieces[pi];
        size_t pl = pi == np - 1 ? 1 : strlen(p);
        if (n + pl >= cap)
            break;
        memcpy(out + n, p, pl);
        n += pl;
    }
    return n;
}

static json_t *rand_value(int depth)
{
    char t[256];
    unsigned k = rnd() % (depth > 4 ? 6 : 8);
    switch (k) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rnd() & 1);
    case 2: {
        static const json_int_t ints[] = {0, -1, 1, 42, 2147483648LL, -9223372036854775807LL - 1,
                                          9223372036854775807LL};
        return json_integer(rnd() % 3 ? (json_int_t)rnd() - 8000000 : ints[rnd() % 7]);
    }
    case 3: {
        static const double reals[] = {0.5, -0.0, 1e300, 3.14159, 1e-7, 100.0, 123456789.125};
        return json_real(reals[rnd() % 7]);
    }
    case 4:
    case 5: {
        size_t n = rand_text(t, sizeof(t));
        return json_stringn_nocheck(t, n); /* may be invalid UTF-8: both writers must refuse it */
    }
    case 6: {
        json_t *a = json_array();
        for (unsigned i = rnd() % 5; i > 0; i--)
            json_array_append_new(a, rand_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = rnd() % 6; i > 0; i--) {
            /* keys are valid UTF-8 (jansson validates them; see the invalid-key case) */
            size_t n = rand_text(t, sizeof(t));
            json_t *probe = json_stringn(t, n);
            if (probe)
                json_object_setn_new_nocheck(o, t, n, rand_value(depth + 1));
            json_decref(probe);
        }
        return o;
    }
    }
}

static int same(json_t *v, size_t flags)
{
    size_t len = 0;
    char *a = jsonout_dump(v, flags, &len);
    char *b = json_dumps(v, JSON_COMPACT | flags);
    int r = (a == NULL && b == NULL) || (a && b && len == strlen(b) && strcmp(a, b) == 0);
    if (!r)
        { char *e = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | flags); printf("# jsonout: %s\n# jansson: %s\n", a ? a : "(null)", e ? e : "(null)"); free(e); }
    free(a);
    free(b);
    return r;
}

int main(void)
{
    json_t *v = json_pack("{s:s,s:{s:{s:s,s:s},s:b},s:[i,f,n,s]}", "version", "1.0", "response", "outputSpeech",
                          "type", "SSML", "ssml", "<speak>Your next collection is on Monday.</speak>",
                          "shouldEndSession", 1, "list", 7, 2.5, "\"quoted\"\n\ttab\x01");
    size_t len = 0;
    char *s = jsonout_dump(v, 0, &len);
    is_str(s, "{\"version\":\"1.0\",\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":\"<speak>Your next "
              "collection is on Monday.</speak>\"},\"shouldEndSession\":true},\"list\":[7,2.5,null,"
              "\"\\\"quoted\\\"\\n\\ttab\\u0001\"]}",
           "a response-shaped document, insertion order");
    is_int((int)len, (int)strlen(s ? s : ""), "length reported");
    free(s);
    ok(same(v, 0) && same(v, JSON_SORT_KEYS), "same bytes as json_dumps, sorted and not");
    json_decref(v);

    v = json_string("top");
    ok(jsonout_dump(v, 0, NULL) == NULL, "a top-level string is refused, as json_dumps does");
    json_decref(v);
    ok(jsonout_dump(NULL, 0, NULL) == NULL, "NULL is refused");
    v = json_object();
    json_object_set_new(v, "bad", json_stringn_nocheck("\xc0\xaf", 2));
    ok(jsonout_dump(v, 0, NULL) == NULL && same(v, 0), "invalid UTF-8 (overlong '/') refused by both");
    json_decref(v);
    /* a key that is not UTF-8 (only possible through *_nocheck): jansson
     * writes a broken document (it ignores the key's failure); we refuse */
    v = json_object();
    json_object_setn_new_nocheck(v, "\xff", 1, json_true());
    ok(jsonout_dump(v, 0, NULL) == NULL, "an invalid key is refused, not written half");
    json_decref(v);
    v = json_object();
    json_object_setn_new_nocheck(v, "b\0x", 3, json_true());
    json_object_setn_new_nocheck(v, "b", 1, json_false());
    json_object_set_new(v, "a", json_null());
    ok(same(v, 0) && same(v, JSON_SORT_KEYS), "keys with NUL, prefixes, sorted like jansson");
    json_decref(v);

    /* deep nesting: a bound instead of cycle tracking */
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < JSONOUT_MAX_DEPTH + 1; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    ok(jsonout_dump(root, 0, NULL) == NULL, "nesting past JSONOUT_MAX_DEPTH is refused");
    json_decref(root);
    root = json_array(), cur = root;
    for (int i = 0; i < JSONOUT_MAX_DEPTH - 1; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    ok(same(root, 0), "nesting up to the bound is written");
    json_decref(root);
    /* a cycle ends at the bound (jansson detects it); both fail */
    root = json_array();
    json_t *inner = json_array();
    json_array_append(root, inner);
    json_array_append(inner, root); /* jansson refuses only a direct self-append */
    char *cyc = jsonout_dump(root, 0, NULL);
    ok(cyc == NULL, "a cycle fails, not loops");
    free(cyc);
    json_array_clear(inner);
    json_decref(inner);
    json_decref(root);

    /* random trees, deterministic seed */
    int agree = 0, refused = 0, total = 3000;
    for (int i = 0; i < total; i++) {
        json_t *t = rnd() & 1 ? json_array() : json_object();
        for (unsigned k = rnd() % 6; k > 0; k--) {
            json_t *x = rand_value(1);
            if (json_is_array(t))
                json_array_append_new(t, x);
            else {
                char key[16];
                snprintf(key, sizeof(key), "k%u", rnd() % 50);
                json_object_set_new(t, key, x);
            }
        }
        size_t flags = rnd() & 1 ? JSON_SORT_KEYS : 0;
        agree += same(t, flags);
        char *o = jsonout_dump(t, flags, NULL);
        refused += o == NULL;
        free(o);
        json_decref(t);
    }
    is_int(agree, total, "3000 random trees: the same bytes as json_dumps, or both refuse");
    ok(refused > 50 && refused < total / 2, "the random set includes refusals (invalid UTF-8): %d", refused);
    return done_testing();
}
