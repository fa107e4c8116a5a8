/* jsonout.c - owns the fast compact JSON writer (see jsonout.h). */
#include "binday/json/jsonout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/strbuf.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

static int put_string(strbuf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    strbuf_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_seq(s + i, n - i);
            if (l == 0)
                return -1; /* json_dumps fails on invalid UTF-8 too */
            i += l;
            continue;
        }
        strbuf_put(b, str + run, i - run);
        char esc[8];
        const char *t = esc;
        size_t tl = 2;
        switch (c) {
        case '"': t = "\\\""; break;
        case '\\': t = "\\\\"; break;
        case '\b': t = "\\b"; break;
        case '\f': t = "\\f"; break;
        case '\n': t = "\\n"; break;
        case '\r': t = "\\r"; break;
        case '\t': t = "\\t"; break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
            tl = 6;
        }
        strbuf_put(b, t, tl);
        run = ++i;
    }
    strbuf_put(b, str + run, n - run);
    strbuf_put(b, "\"", 1);
    return 0;
}

struct key {
    const char *k;
    size_t len;
    json_t *v;
};

/* jansson's order for JSON_SORT_KEYS: bytewise, a prefix first */
static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = memcmp(x->k, y->k, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int put_value(strbuf_t *b, const json_t *v, size_t flags, int depth);

static int put_object(strbuf_t *b, const json_t *o, size_t flags, int depth)
{
    size_t n = json_object_size(o);
    strbuf_put(b, "{", 1);
    if (n == 0) {
        strbuf_put(b, "}", 1);
        return 0;
    }
    int rc = 0;
    if (flags & JSON_SORT_KEYS) {
        struct key small[16], *keys = n <= 16 ? small : xmalloc(n * sizeof(*keys));
        size_t i = 0;
        const char *k;
        size_t kl;
        json_t *val;
        json_object_keylen_foreach((json_t *)o, k, kl, val)
        {
            keys[i].k = k;
            keys[i].len = kl;
            keys[i].v = val;
            i++;
        }
        qsort(keys, n, sizeof(*keys), key_cmp);
        for (i = 0; i < n && rc == 0; i++) {
            if (i)
                strbuf_put(b, ",", 1);
            rc = put_string(b, keys[i].k, keys[i].len);
            strbuf_put(b, ":", 1);
            if (rc == 0)
                rc = put_value(b, keys[i].v, flags, depth + 1);
        }
        if (keys != small)
            free(keys);
    } else {
        const char *k;
        size_t kl;
        json_t *val;
        int first = 1;
        json_object_keylen_foreach((json_t *)o, k, kl, val)
        {
            if (!first)
                strbuf_put(b, ",", 1);
            first = 0;
            if ((rc = put_string(b, k, kl)) != 0)
                break;
            strbuf_put(b, ":", 1);
            if ((rc = put_value(b, val, flags, depth + 1)) != 0)
                break;
        }
    }
    strbuf_put(b, "}", 1);
    return rc;
}

static int put_value(strbuf_t *b, const json_t *v, size_t flags, int depth)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (depth >= JSONOUT_MAX_DEPTH)
            return -1;
        return put_object(b, v, flags, depth);
    case JSON_ARRAY: {
        if (depth >= JSONOUT_MAX_DEPTH)
            return -1;
        strbuf_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_put(b, ",", 1);
            if (put_value(b, json_array_get(v, i), flags, depth + 1) != 0)
                return -1;
        }
        strbuf_put(b, "]", 1);
        return 0;
    }
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        int l = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        strbuf_put(b, num, (size_t)l);
        return 0;
    }
    case JSON_REAL: {
        /* rare in our documents: jansson's own formatting, for identical text */
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (s == NULL)
            return -1;
        strbuf_puts(b, s);
        free(s);
        return 0;
    }
    case JSON_TRUE:
        strbuf_put(b, "true", 4);
        return 0;
    case JSON_FALSE:
        strbuf_put(b, "false", 5);
        return 0;
    case JSON_NULL:
        strbuf_put(b, "null", 4);
        return 0;
    }
    return -1;
}

char *jsonout_dump(const json_t *v, size_t flags, size_t *len)
{
    if (v == NULL || (!json_is_object(v) && !json_is_array(v)))
        return NULL; /* as json_dumps without JSON_ENCODE_ANY */
    strbuf_t b;
    strbuf_init(&b, JSONOUT_MAX_BYTES);
    int rc = put_value(&b, v, flags & JSON_SORT_KEYS, 0);
    if (rc != 0 || b.failed) { /* failed: over JSONOUT_MAX_BYTES, or out of memory */
        strbuf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

int jsonout_put(strbuf_t *b, const json_t *v, size_t flags)
{
    return v == NULL ? -1 : put_value(b, v, flags & JSON_SORT_KEYS, 0);
}

int jsonout_put_string(strbuf_t *b, const char *s, size_t n)
{
    return put_string(b, s, n);
}
