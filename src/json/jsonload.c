/* jsonload.c - owns the fast JSON-to-jansson reader (see include/binday/jsonload.h
 * and docs/jsonload.md). Accepts exactly what jansson 2.14's json_loadb accepts
 * with the same flags; every rule below names the jansson behaviour it mirrors. */
#include "binday/json/jsonload.h"

#include "binday/util/utf8.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* jansson's JSON_PARSER_MAX_DEPTH (jansson_config.h): every value, scalars
 * included, counts one level; the top-level value is level 1. */
#ifdef JSON_PARSER_MAX_DEPTH
#define JL_MAX_DEPTH JSON_PARSER_MAX_DEPTH
#else
#define JL_MAX_DEPTH 2048
#endif

/* Escaped strings up to this many raw bytes decode on the stack; longer ones
 * (rare: Alexa sends almost no escapes) get a heap buffer. */
#define JL_STACK_STR 256
/* Reals up to this many characters are copied to the stack for strtod. */
#define JL_STACK_NUM 64

typedef struct jl {
    const uint8_t *p;     /* cursor */
    const uint8_t *end;   /* one past the last input byte */
    const uint8_t *start; /* first input byte, for error positions */
    size_t flags;
    size_t depth;
    json_error_t *err;
} jl_t;

/* Bytes that can continue a plain run inside a string: printable ASCII other
 * than '"' and '\\'. Control characters are errors (jansson: "control
 * character"), bytes >= 0x80 start a UTF-8 sequence to validate. */
static const uint8_t plain_byte[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7f] = 1,
};

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(jl_t *jl)
{
    const uint8_t *p = jl->p, *end = jl->end;
    while (p < end && is_ws(*p))
        p++;
    jl->p = p;
}

/* Records the first error only: later failures while unwinding keep it. */
static void jl_fail(jl_t *jl, const uint8_t *at, enum json_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void jl_fail(jl_t *jl, const uint8_t *at, enum json_error_code code, const char *fmt, ...)
{
    json_error_t *e = jl->err;
    if (e == NULL || e->text[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, JSON_ERROR_TEXT_LENGTH - 1, fmt, ap);
    va_end(ap);
    e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)code;
    if (at > jl->end)
        at = jl->end;
    /* Line and character column are only needed on this (cold) path, so they
     * are counted here rather than tracked per byte like jansson does. */
    int line = 1, col = 0;
    for (const uint8_t *q = jl->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 0;
        } else if ((*q & 0xC0) != 0x80) {
            col++;
        }
    }
    e->line = line;
    e->column = col;
    e->position = (int)(at - jl->start);
}

/* ---- strings ------------------------------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* Non-zero when any of the 8 bytes is '"', '\\', < 0x20 or >= 0x80. Exact
 * "any" tests (the classic has-zero-byte trick); which byte it was is found by
 * the byte loop that follows. */
static inline uint64_t word_special(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"');
    uint64_t b = w ^ (ONES * '\\');
    return (w | ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGH;
}

/* First byte at or after p that is not plain_byte (or end): 16 bytes at a
 * time with SSE2 (on every x86-64), else 8 at a time in a 64-bit word. The
 * ~1.3 KB apiAccessToken of every envelope is one long plain run. */
static const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches
         * both control characters and UTF-8 */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask != 0)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t sp = word_special(w);
        if (sp != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flagged bit is exact: borrows only run upwards */
            return p + (__builtin_ctzll(sp) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && plain_byte[*p])
        p++;
    return p;
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits already checked by scan_string. */
static unsigned hex4(const uint8_t *s)
{
    return (unsigned)(hex_val(s[0]) << 12 | hex_val(s[1]) << 8 | hex_val(s[2]) << 4 | hex_val(s[3]));
}

/* Scans a string whose opening quote is at jl->p. On success *raw and *raw_len is
 * the text between the quotes, *escaped says whether it holds escapes, and
 * jl->p is past the closing quote. Validates UTF-8 and escape syntax (jansson
 * checks these while lexing); surrogate rules are checked by decode_string. */
static int scan_string(jl_t *jl, const uint8_t **raw, size_t *raw_len, int *escaped)
{
    const uint8_t *p = jl->p + 1, *end = jl->end, *s = p;
    int esc = 0;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end) {
            jl_fail(jl, p, json_error_premature_end_of_input, "premature end of input");
            return -1;
        }
        uint8_t c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            esc = 1;
            if (end - p < 2) {
                jl_fail(jl, end, json_error_premature_end_of_input, "premature end of input");
                return -1;
            }
            c = p[1];
            if (c == 'u') {
                for (int i = 2; i < 6; i++) {
                    if (p + i >= end || hex_val(p[i]) < 0) {
                        jl_fail(jl, p + i, json_error_invalid_syntax, "invalid escape");
                        return -1;
                    }
                }
                p += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                       c == 't') {
                p += 2;
            } else {
                jl_fail(jl, p + 1, json_error_invalid_syntax, "invalid escape");
                return -1;
            }
        } else if (c < 0x20) {
            if (c == '\n')
                jl_fail(jl, p, json_error_invalid_syntax, "unexpected newline");
            else
                jl_fail(jl, p, json_error_invalid_syntax, "control character 0x%x", c);
            return -1;
        } else {
            size_t n = utf8_seq(p, (size_t)(end - p));
            if (n == 0) {
                jl_fail(jl, p, json_error_invalid_utf8, "unable to decode byte 0x%x", c);
                return -1;
            }
            p += n;
        }
    }
    *raw = s;
    *raw_len = (size_t)(p - s);
    *escaped = esc;
    jl->p = p + 1;
    return 0;
}

static size_t utf8_put(uint8_t *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xC0 | cp >> 6);
        d[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xE0 | cp >> 12);
        d[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        d[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (uint8_t)(0xF0 | cp >> 18);
    d[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    d[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    d[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escapes of a scanned string into d (room for len bytes: no
 * escape decodes longer than it is written). Returns the decoded length, or
 * -1 on a surrogate error (jansson: a high surrogate must be followed at once
 * by a \u low surrogate; a lone low surrogate is an error). *has_nul is set
 * when \u0000 was decoded. */
static long decode_string(jl_t *jl, const uint8_t *s, size_t len, uint8_t *d, int *has_nul)
{
    const uint8_t *e = s + len;
    uint8_t *d0 = d;
    *has_nul = 0;
    while (s < e) {
        const uint8_t *bs = memchr(s, '\\', (size_t)(e - s));
        if (bs == NULL)
            bs = e;
        memcpy(d, s, (size_t)(bs - s));
        d += bs - s;
        s = bs;
        if (s == e)
            break;
        /* scan_string guarantees a complete escape before the closing quote */
        uint8_t c = s[1];
        if (c != 'u') {
            static const uint8_t simple[128] = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
                                                ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
            *d++ = simple[c & 0x7F];
            s += 2;
            continue;
        }
        unsigned cp = hex4(s + 2);
        const uint8_t *at = s;
        s += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s < e && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = hex4(s + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    jl_fail(jl, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X\\u%04X'", cp, lo);
                    return -1;
                }
                cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
                s += 6;
            } else {
                jl_fail(jl, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
                return -1;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            jl_fail(jl, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
            return -1;
        } else if (cp == 0) {
            *has_nul = 1;
        }
        d += utf8_put(d, cp);
    }
    return (long)(d - d0);
}

/* A string value: unescaped text goes straight from the input into the
 * jansson string (json_stringn_nocheck copies it; UTF-8 was validated). */
static json_t *parse_string(jl_t *jl)
{
    const uint8_t *raw, *at = jl->p;
    size_t len;
    int esc;
    if (scan_string(jl, &raw, &len, &esc) != 0)
        return NULL;
    if (!esc)
        return json_stringn_nocheck((const char *)raw, len);
    uint8_t stack[JL_STACK_STR];
    uint8_t *buf = len <= sizeof(stack) ? stack : malloc(len);
    if (buf == NULL) {
        jl_fail(jl, at, json_error_out_of_memory, "out of memory");
        return NULL;
    }
    int has_nul;
    long n = decode_string(jl, raw, len, buf, &has_nul);
    json_t *v = NULL;
    if (n >= 0 && has_nul)
        jl_fail(jl, at, json_error_null_character, "\\u0000 is not allowed without JSON_ALLOW_NUL");
    else if (n >= 0)
        v = json_stringn_nocheck((const char *)buf, (size_t)n);
    if (buf != stack)
        free(buf);
    return v;
}

/* ---- numbers ------------------------------------------------------------------ */

/* jansson: '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?; "01"
 * is invalid. No fraction or exponent: json_int_t via strtoll, ERANGE is an
 * error. Otherwise strtod; +-HUGE_VAL with ERANGE is "real number overflow",
 * underflow is accepted. */
static json_t *parse_number(jl_t *jl)
{
    const uint8_t *s = jl->p, *p = s, *end = jl->end;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    const uint8_t *digits = p;
    if (p < end && *p == '0') {
        p++;
        if (p < end && is_digit(*p))
            goto invalid;
    } else if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p))
            p++;
    } else {
        goto invalid;
    }
    const uint8_t *int_end = p;
    int real = 0;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            goto invalid;
        while (p < end && is_digit(*p))
            p++;
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            goto invalid;
        while (p < end && is_digit(*p))
            p++;
        real = 1;
    }
    jl->p = p;

    if (!real) {
        /* the magnitude limit of json_int_t (long long) for this sign */
        const unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
        unsigned long long v = 0;
        for (const uint8_t *q = digits; q < int_end; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (v > (limit - d) / 10) {
                jl_fail(jl, s, json_error_numeric_overflow, neg ? "too big negative integer" : "too big integer");
                return NULL;
            }
            v = v * 10 + d;
        }
        json_int_t iv = neg && v ? -(json_int_t)(v - 1) - 1 : (json_int_t)v;
        return json_integer(iv);
    }

    size_t n = (size_t)(p - s);
    char stack[JL_STACK_NUM];
    char *txt = n < sizeof(stack) ? stack : malloc(n + 1);
    if (txt == NULL) {
        jl_fail(jl, s, json_error_out_of_memory, "out of memory");
        return NULL;
    }
    memcpy(txt, s, n);
    txt[n] = '\0';
    /* Like jansson's jsonp_strtod: strtod follows LC_NUMERIC, so a locale
     * whose decimal point is not '.' gets its own character. */
    const char *point = localeconv()->decimal_point;
    if (point[0] != '.' && point[0] != '\0') {
        char *dot = strchr(txt, '.');
        if (dot)
            *dot = point[0];
    }
    errno = 0;
    double d = strtod(txt, NULL);
    int overflow = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE;
    if (txt != stack)
        free(txt);
    if (overflow) {
        jl_fail(jl, s, json_error_numeric_overflow, "real number overflow");
        return NULL;
    }
    return json_real(d);

invalid:
    jl_fail(jl, s, json_error_invalid_syntax, "invalid token");
    return NULL;
}

/* ---- containers ------------------------------------------------------------------ */

static json_t *parse_value(jl_t *jl);

static void oom(jl_t *jl)
{
    jl_fail(jl, jl->p, json_error_out_of_memory, "out of memory");
}

/* Consume ch if it is next. */
static int take(jl_t *jl, char ch)
{
    if (jl->p < jl->end && *jl->p == ch) {
        jl->p++;
        return 1;
    }
    return 0;
}

/* After an object member or array element: a ',' (1: another follows;
 * spaces after it skipped), the closing bracket (0: done), or else a syntax
 * error (-1, recorded with `expected`). */
static int next_item(jl_t *jl, char close, const char *expected)
{
    skip_ws(jl);
    if (take(jl, ',')) {
        skip_ws(jl);
        return 1;
    }
    if (take(jl, close))
        return 0;
    jl_fail(jl, jl->p, json_error_invalid_syntax, "%s", expected);
    return -1;
}

static json_t *parse_object(jl_t *jl)
{
    json_t *obj = json_object();
    if (obj == NULL) {
        oom(jl);
        return NULL;
    }
    jl->p++;
    skip_ws(jl);
    if (take(jl, '}'))
        return obj;
    for (;;) {
        if (jl->p >= jl->end || *jl->p != '"') {
            jl_fail(jl, jl->p, json_error_invalid_syntax, "string or '}' expected");
            goto fail;
        }
        const uint8_t *kat = jl->p, *raw;
        size_t klen;
        int esc;
        if (scan_string(jl, &raw, &klen, &esc) != 0)
            goto fail;
        /* Escaped keys (rare) are decoded into a heap copy that must outlive
         * the value's parse; a stack buffer here would sit in every frame of
         * a 2048-deep recursion. */
        char *kbuf = NULL;
        const char *key = (const char *)raw;
        if (esc) {
            kbuf = malloc(klen ? klen : 1);
            if (kbuf == NULL) {
                oom(jl);
                goto fail;
            }
            int has_nul;
            long n = decode_string(jl, raw, klen, (uint8_t *)kbuf, &has_nul);
            if (n < 0) {
                free(kbuf);
                goto fail;
            }
            if (has_nul) {
                /* jansson refuses these whatever the flags */
                free(kbuf);
                jl_fail(jl, kat, json_error_null_byte_in_key, "NUL byte in object key not supported");
                goto fail;
            }
            key = kbuf;
            klen = (size_t)n;
        }
        skip_ws(jl);
        if (jl->p >= jl->end || *jl->p != ':') {
            free(kbuf);
            jl_fail(jl, jl->p, json_error_invalid_syntax, "':' expected");
            goto fail;
        }
        jl->p++;
        skip_ws(jl);
        json_t *v = parse_value(jl);
        if (v == NULL) {
            free(kbuf);
            goto fail;
        }
        size_t before = json_object_size(obj);
        /* setn steals v even when it fails */
        int rc = json_object_setn_new_nocheck(obj, key, klen, v);
        free(kbuf);
        if (rc != 0) {
            oom(jl);
            goto fail;
        }
        /* With JSON_REJECT_DUPLICATES a set that did not grow the object
         * replaced an earlier key: one hash lookup instead of get + set.
         * Without it the last value wins, as in jansson. */
        if ((jl->flags & JSON_REJECT_DUPLICATES) && json_object_size(obj) == before) {
            jl_fail(jl, kat, json_error_duplicate_key, "duplicate object key");
            goto fail;
        }
        int more = next_item(jl, '}', "'}' expected");
        if (more < 0)
            goto fail;
        if (more == 0)
            return obj;
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(jl_t *jl)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        oom(jl);
        return NULL;
    }
    jl->p++;
    skip_ws(jl);
    if (take(jl, ']'))
        return arr;
    for (;;) {
        json_t *v = parse_value(jl);
        if (v == NULL)
            goto fail;
        if (json_array_append_new(arr, v) != 0) {
            oom(jl);
            goto fail;
        }
        int more = next_item(jl, ']', "']' expected");
        if (more < 0)
            goto fail;
        if (more == 0)
            return arr;
    }
fail:
    json_decref(arr);
    return NULL;
}

/* jansson quirk, mirrored so both readers accept the same bytes: a number or
 * a literal ends when the lexer reads one byte past it and "ungets" it; when
 * that byte is NUL, jansson's stream mistakes the pushed-back NUL for its
 * empty-buffer marker and silently drops it. So "[1\0]" and "true\0" (with
 * JSON_DECODE_ANY) parse, while "[\"a\"\0]" and "[1\0\0]" do not. */
static void drop_one_nul(jl_t *jl)
{
    if (jl->p < jl->end && *jl->p == '\0')
        jl->p++;
}

static json_t *literal(jl_t *jl, const char *word, size_t n, json_t *v)
{
    if ((size_t)(jl->end - jl->p) < n || memcmp(jl->p, word, n) != 0) {
        jl_fail(jl, jl->p, json_error_invalid_syntax, "invalid token");
        return NULL;
    }
    /* "truex" is one invalid token for jansson; here "true" then "x", which
     * no grammar rule accepts after a value either. */
    jl->p += n;
    drop_one_nul(jl);
    return v;
}

/* Called with whitespace skipped. */
static json_t *parse_value(jl_t *jl)
{
    if (++jl->depth > JL_MAX_DEPTH) {
        jl_fail(jl, jl->p, json_error_stack_overflow, "maximum parsing depth reached");
        return NULL;
    }
    if (jl->p >= jl->end) {
        jl_fail(jl, jl->p, json_error_premature_end_of_input, "unexpected token near end of file");
        return NULL;
    }
    json_t *v;
    switch (*jl->p) {
    case '{':
        v = parse_object(jl);
        break;
    case '[':
        v = parse_array(jl);
        break;
    case '"':
        v = parse_string(jl);
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        v = parse_number(jl);
        drop_one_nul(jl);
        break;
    case 't':
        v = literal(jl, "true", 4, json_true());
        break;
    case 'f':
        v = literal(jl, "false", 5, json_false());
        break;
    case 'n':
        v = literal(jl, "null", 4, json_null());
        break;
    default:
        jl_fail(jl, jl->p, json_error_invalid_syntax, "unexpected token");
        return NULL;
    }
    if (v != NULL)
        jl->depth--;
    else if (jl->err && jl->err->text[0] == '\0')
        oom(jl); /* json_stringn_nocheck / json_integer / json_real failed */
    return v;
}

json_t *jsonload(const uint8_t *buf, size_t len, size_t flags, json_error_t *err)
{
    if (flags & ~JSONLOAD_NATIVE_FLAGS)
        return json_loadb((const char *)buf, len, flags, err);
    if (err != NULL) {
        err->text[0] = '\0';
        err->text[JSON_ERROR_TEXT_LENGTH - 1] = 0;
        snprintf(err->source, sizeof(err->source), "<buffer>");
        err->line = -1;
        err->column = -1;
        err->position = 0;
    }
    static const uint8_t empty[1];
    jl_t jl = {.p = buf ? buf : empty, .end = (buf ? buf : empty) + (buf ? len : 0), .flags = flags, .err = err};
    jl.start = jl.p;
    if (buf == NULL && len != 0) {
        jl_fail(&jl, jl.p, json_error_invalid_argument, "wrong arguments");
        return NULL;
    }
    skip_ws(&jl);
    if (!(flags & JSON_DECODE_ANY) && (jl.p >= jl.end || (*jl.p != '[' && *jl.p != '{'))) {
        jl_fail(&jl, jl.p, jl.p >= jl.end ? json_error_premature_end_of_input : json_error_invalid_syntax,
                "'[' or '{' expected");
        return NULL;
    }
    json_t *root = parse_value(&jl);
    if (root == NULL)
        return NULL;
    skip_ws(&jl);
    if (jl.p != jl.end) {
        jl_fail(&jl, jl.p, json_error_end_of_input_expected, "end of file expected");
        json_decref(root);
        return NULL;
    }
    if (err != NULL)
        err->position = (int)len;
    return root;
}
