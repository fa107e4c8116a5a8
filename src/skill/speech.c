/* speech.c - British-English phrasing and SSML safety for the skill's answers
 * (see speech.h). Everything writes into bounded caller buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/skill/speech.h"
#include "binday/util/strbuf.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

/* Speech drops what is not well-formed and every control; TAB, LF and CR
 * separate words, so they become a space. */
#define SPEECH_CLEAN UTF8_WS_SPACE

const char *speech_weekday_name(int wd)
{
    return wd >= 0 && wd < 7 ? date_weekday_long(wd) : "";
}

const char *speech_month_name(int m)
{
    return m >= 1 && m <= 12 ? date_month_long(m) : "";
}

/* The escaped form of one byte of clean text: NULL = copy it. */
static const char *escape_of(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    default: return NULL;
    }
}

size_t speech_escape(char *dst, size_t dst_size, const char *src, size_t len)
{
    if (dst_size == 0)
        return (size_t)-1;
    /* Clean first (utf8.h): Alexa reads the SSML from a JSON string, which
     * must be well-formed UTF-8 (an ill-formed byte made the whole response
     * fail to build), and controls have no place in speech. The clean text
     * is never longer than src. */
    char stackbuf[1024];
    char *clean = NULL;
    const char *text = src;
    size_t n = len, o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (clean == NULL && (c < 0x20 || c >= 0x7f)) {
            /* not all printable ASCII (nearly every phrase is): escape a
             * cleaned copy instead, from the start */
            /* &stackbuf[0]: cppcheck reads the bare array here as a use before init */
            clean = len < sizeof(stackbuf) ? &stackbuf[0] : xmalloc(len + 1);
            n = utf8_clean(clean, len + 1, (const uint8_t *)src, len, SPEECH_CLEAN, NULL);
            text = clean;
            o = 0;
            i = (size_t)-1; /* the loop's i++ makes it 0 */
            continue;
        }
        const char *e = escape_of(c);
        size_t el = e ? strlen(e) : 1;
        if (o + el >= dst_size) {
            o = (size_t)-1;
            break;
        }
        if (e)
            memcpy(dst + o, e, el);
        else
            dst[o] = (char)c;
        o += el;
    }
    dst[o == (size_t)-1 ? 0 : o] = '\0';
    if (clean != NULL && clean != stackbuf)
        free(clean);
    return o;
}

void speech_buf_init(speech_buf_t *b)
{
    b->s[0] = '\0';
    b->len = 0;
    b->truncated = false;
}

bool speech_buf_markup(speech_buf_t *b, const char *ssml)
{
    size_t n = strlen(ssml);
    if (b->len + n > SPEECH_MAX) {
        b->truncated = true;
        return false;
    }
    memcpy(b->s + b->len, ssml, n + 1);
    b->len += n;
    return true;
}

bool speech_buf_text(speech_buf_t *b, const char *text, size_t len)
{
    /* Callers pass SIZE_MAX for NUL-terminated text; speech_escape reads
     * exactly len bytes (a NUL inside is dropped like any control
     * character), so without this it ran past the terminator. */
    if (len == SIZE_MAX)
        len = strlen(text);
    size_t room = SPEECH_MAX + 1 - b->len;
    size_t n = speech_escape(b->s + b->len, room, text, len);
    if (n == (size_t)-1) {
        b->s[b->len] = '\0';
        b->truncated = true;
        return false;
    }
    b->len += n;
    return true;
}

bool speech_buf_textf(speech_buf_t *b, const char *fmt, ...)
{
    char tmp[SPEECH_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->truncated = true;
        return false;
    }
    return speech_buf_text(b, tmp, (size_t)n);
}

size_t speech_strip_ssml(char *dst, size_t dst_size, const char *ssml, size_t len)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;
    if (dst_size == 0)
        return 0;
    size_t i;
    for (i = 0; i < len && o + 1 < dst_size; i++) {
        char c = ssml[i];
        if (c == '<') {
            /* a <break> is heard as a pause: keep words apart */
            const char *end = memchr(ssml + i, '>', len - i);
            if (end == NULL)
                break;
            i = (size_t)(end - ssml);
            if (o > 0 && dst[o - 1] != ' ')
                dst[o++] = ' ';
            continue;
        }
        if (c == '&') {
            bool done = false;
            for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
                size_t el = strlen(ents[k].ent);
                if (len - i >= el && memcmp(ssml + i, ents[k].ent, el) == 0) {
                    dst[o++] = ents[k].c;
                    i += el - 1;
                    done = true;
                    break;
                }
            }
            if (done)
                continue;
        }
        if (c == ' ' && o > 0 && dst[o - 1] == ' ')
            continue;
        if (c == ' ' && o == 0)
            continue;
        dst[o++] = c;
    }
    /* cut short to fit: never leave half a character (the card and the
     * transcript go into JSON, which must be well-formed UTF-8) */
    if (i < len)
        o = utf8_valid_prefix((const uint8_t *)dst, o);
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
    return o;
}

const char *speech_ordinal(int n, char *dst, size_t dst_size)
{
    const char *suf = "th";
    long a = n < 0 ? -(long)n : n;
    long t = a % 100, u = a % 10;
    if (t < 11 || t > 13) {
        if (u == 1)
            suf = "st";
        else if (u == 2)
            suf = "nd";
        else if (u == 3)
            suf = "rd";
    }
    char num[24];
    strbuf_concat(dst, dst_size, strbuf_itoa(n, num), suf);
    return dst;
}

const char *speech_date_plain(char *dst, size_t dst_size, int today, int date)
{
    int y, m, d, ty, tm, td;
    char ord[16];
    date_to_ymd(date, &y, &m, &d);
    date_to_ymd(today, &ty, &tm, &td);
    speech_ordinal(d, ord, sizeof(ord));
    char year[24];
    strbuf_concat(dst, dst_size, date_weekday_long(date_weekday(date)), " the ", ord, " of ", date_month_long(m),
                  y != ty ? " " : "", y != ty ? strbuf_itoa(y, year) : "");
    return dst;
}

const char *speech_date_phrase(char *dst, size_t dst_size, int today, int date, speech_date_style_t style)
{
    int delta = date - today;
    char plain[96];
    if (delta == 0) {
        strbuf_concat(dst, dst_size, "today");
        return dst;
    }
    if (style == SPEECH_DATE_SHORT) {
        if (delta == 1)
            strbuf_concat(dst, dst_size, "tomorrow");
        else if (delta == -1)
            strbuf_concat(dst, dst_size, "yesterday");
        else if (delta >= 2 && delta <= 6)
            strbuf_concat(dst, dst_size, "on ", date_weekday_long(date_weekday(date)));
        else {
            /* a weekday and its date: "next Friday" was misread (is it this
             * week's or next week's?) and a bare "the 1st of January" hides
             * which day the bins go out */
            speech_date_plain(plain, sizeof(plain), today, date);
            strbuf_concat(dst, dst_size, "on ", plain);
        }
        return dst;
    }
    speech_date_plain(plain, sizeof(plain), today, date);
    strbuf_concat(dst, dst_size, delta == 1 ? "tomorrow, " : delta == -1 ? "yesterday, " : "on ", plain);
    return dst;
}

static bool join_with(char *dst, size_t dst_size, const char *const *items, size_t n, const char *last)
{
    size_t o = 0;
    if (dst_size == 0)
        return false;
    dst[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n ? last : ", ");
        size_t ls = strlen(sep), li = strlen(items[i]);
        if (ls + li >= dst_size - o) {
            dst[o] = '\0'; /* drop the partial item: never half a word */
            return false;
        }
        memcpy(dst + o, sep, ls);
        memcpy(dst + o + ls, items[i], li + 1);
        o += ls + li;
    }
    return true;
}

bool speech_join(char *dst, size_t dst_size, const char *const *items, size_t n)
{
    return join_with(dst, dst_size, items, n, " and ");
}

bool speech_join_or(char *dst, size_t dst_size, const char *const *items, size_t n)
{
    return join_with(dst, dst_size, items, n, " or ");
}

const char *speech_bin_phrase(char *dst, size_t dst_size, const char *colour, const char *container,
                              const char *purpose)
{
    bool has_colour = colour && *colour, has_purpose = purpose && *purpose;
    if (container == NULL || *container == '\0')
        container = "bin";
    strbuf_concat(dst, dst_size, "the ", has_colour ? colour : "", has_colour ? " " : "", container,
                  has_purpose ? " for " : "", has_purpose ? purpose : "");
    return dst;
}
