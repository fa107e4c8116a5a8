/* ics.c - owns the iCalendar text format: escaping, folding and the shape of
 * a collection feed (RFC 5545). Nothing here knows about stores or HTTP. */
#include "binday/feed/ics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/date.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

/* RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets excluding the line
 * break; a continuation starts with one space, which counts toward its 75.
 * Never split a UTF-8 sequence: back off to a lead byte. */
static void put_folded(strbuf_t *b, const char *s, size_t n)
{
    size_t limit = 75, i = 0;
    while (n - i > limit) {
        size_t cut = utf8_cut((const uint8_t *)s + i, n - i, limit);
        if (cut == 0) /* cannot happen (a character is at most 4 bytes); keeps the loop moving */
            cut = limit;
        strbuf_put(b, s + i, cut);
        strbuf_put(b, "\r\n ", 3);
        i += cut;
        limit = 74;
    }
    strbuf_put(b, s + i, n - i);
    strbuf_put(b, "\r\n", 2);
}

void ics_line(strbuf_t *b, const char *name, const char *value, size_t len)
{
    size_t nl = strlen(name);
    char stackbuf[512];
    char *line = nl + 1 + len <= sizeof(stackbuf) ? stackbuf : xmalloc(nl + 1 + len);
    memcpy(line, name, nl);
    line[nl] = ':';
    memcpy(line + nl + 1, value, len);
    put_folded(b, line, nl + 1 + len);
    if (line != stackbuf)
        free(line);
}

size_t ics_escape_text(char *dst, size_t dst_size, const char *src, size_t len)
{
    size_t o = 0;
    if (dst_size == 0)
        return 0;
    /* Clean first (utf8.h): ill-formed UTF-8 is dropped (the feed must stay
     * valid); CR, tabs and other controls have no place in a one-line value;
     * LF stays, to be escaped. The clean text is never longer than src. */
    char stackbuf[1024];
    char *clean = len < sizeof(stackbuf) ? stackbuf : xmalloc(len + 1);
    size_t n = utf8_clean(clean, len + 1, (const uint8_t *)src, len, UTF8_KEEP_LF, NULL);
    const unsigned char *s = (const unsigned char *)clean;
    for (size_t i = 0; i < n;) {
        char esc[2];
        unsigned c = s[i];
        const char *put = clean + i;
        size_t k = c < 0x80 ? 1 : utf8_seq(s + i, n - i); /* whole characters: the text is clean */
        if (c == '\\' || c == ';' || c == ',') {
            esc[0] = '\\', esc[1] = (char)c;
            put = esc;
        } else if (c == '\n') {
            esc[0] = '\\', esc[1] = 'n';
            put = esc;
        }
        size_t pl = put == esc ? 2 : k;
        if (o + pl + 1 > dst_size)
            break;
        memcpy(dst + o, put, pl);
        o += pl;
        i += k;
    }
    dst[o] = '\0';
    if (clean != stackbuf)
        free(clean);
    return o;
}

void ics_text(strbuf_t *b, const char *name, const char *text, size_t len)
{
    size_t cap = 2 * len + 1;
    char stackbuf[1024];
    char *e = cap <= sizeof(stackbuf) ? stackbuf : xmalloc(cap);
    size_t n = ics_escape_text(e, cap, text, len);
    ics_line(b, name, e, n);
    if (e != stackbuf)
        free(e);
}

static void put_date(strbuf_t *b, const char *name, int day)
{
    int y, m, d;
    char v[16];
    date_to_ymd(day, &y, &m, &d);
    snprintf(v, sizeof(v), "%04d%02d%02d", y, m, d);
    ics_line(b, name, v, strlen(v));
}

char *ics_feed_build(const ics_feed_t *feed, const ics_event_t *ev, size_t n, size_t *len)
{
    strbuf_t b;
    strbuf_init(&b, ICS_MAX_BYTES);
    char stamp[32];
    time_t t = (time_t)feed->dtstamp;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);

#define LIT(name, v) ics_line(&b, name, v, strlen(v))
    LIT("BEGIN", "VCALENDAR");
    LIT("VERSION", "2.0");
    LIT("PRODID", "-//Breckland Council//binday//EN");
    LIT("CALSCALE", "GREGORIAN");
    if (feed->name)
        ics_text(&b, "X-WR-CALNAME", feed->name, strlen(feed->name));
    /* ask subscribers to refresh daily: changes (bank holidays) are announced
     * days ahead, and Google ignores anything faster anyway */
    LIT("REFRESH-INTERVAL;VALUE=DURATION", "P1D");
    LIT("X-PUBLISHED-TTL", "P1D");
    for (size_t i = 0; i < n; i++) {
        const ics_event_t *e = &ev[i];
        char seq[16];
        LIT("BEGIN", "VEVENT");
        LIT("UID", e->uid);
        LIT("DTSTAMP", stamp);
        put_date(&b, "DTSTART;VALUE=DATE", e->date);
        put_date(&b, "DTEND;VALUE=DATE", e->date + 1); /* exclusive end: a one-day event */
        snprintf(seq, sizeof(seq), "%u", e->sequence);
        LIT("SEQUENCE", seq);
        ics_text(&b, "SUMMARY", e->summary, strlen(e->summary));
        if (e->description)
            ics_text(&b, "DESCRIPTION", e->description, strlen(e->description));
        LIT("TRANSP", "TRANSPARENT");
        LIT("STATUS", e->cancelled ? "CANCELLED" : "CONFIRMED");
        if (feed->alarm_minutes >= 0 && !e->cancelled) {
            /* relative to the start (midnight of the day): the evening before */
            int before = 24 * 60 - feed->alarm_minutes;
            char trig[32];
            if (before % 60)
                snprintf(trig, sizeof(trig), "-PT%dH%dM", before / 60, before % 60);
            else
                snprintf(trig, sizeof(trig), "-PT%dH", before / 60);
            LIT("BEGIN", "VALARM");
            LIT("ACTION", "DISPLAY");
            ics_text(&b, "DESCRIPTION", e->summary, strlen(e->summary));
            LIT("TRIGGER;RELATED=START", trig);
            LIT("END", "VALARM");
        }
        LIT("END", "VEVENT");
    }
    LIT("END", "VCALENDAR");
#undef LIT
    if (b.failed) {
        strbuf_free(&b);
        return NULL;
    }
    if (b.p == NULL) { /* cannot happen: BEGIN was written */
        strbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

int ics_alarm_parse(const uint8_t *s, size_t len, int *out)
{
    if (len != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h < 12 || h > 23 || m > 59)
        return -1;
    *out = h * 60 + m;
    return 0;
}
