/* test_ics.c - the iCalendar writer (escaping, folding, feed shape) and the
 * feed's pure request parsers (token, path, alarm, If-None-Match, links). */
#include <stdlib.h>
#include <string.h>

#include "binday/feed/calfeed.h"
#include "binday/util/date.h"
#include "binday/feed/ics.h"
#include "tap.h"

static int lines_ok(const char *s, size_t n)
{
    /* every line ends CRLF and is at most 75 octets; no bare CR or LF */
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                return 0;
            if (i - start > 75)
                return 0;
            start = i + 2;
            i++;
        } else if (s[i] == '\n') {
            return 0;
        }
    }
    return start == n;
}

static char *unfold(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == ' ') {
            i += 2;
            continue;
        }
        o[k++] = s[i];
    }
    o[k] = 0;
    return o;
}

int main(void)
{
    char e[256];
    ics_escape_text(e, sizeof(e), "a,b;c\\d\ne\rf\x01g", 13);
    is_str(e, "a\\,b\\;c\\\\d\\ne" "fg", "TEXT escaping of , ; \\ newline; controls dropped");
    ics_escape_text(e, sizeof(e), "caf\xc3\xa9 \xff!", 8);
    is_str(e, "caf\xc3\xa9 !", "invalid UTF-8 dropped, valid kept");
    ics_escape_text(e, sizeof(e), "a\xe2\x82\t\xed\xa0\x80" "b\xc2\x85" "c", 11);
    is_str(e, "ab\xc2\x85" "c", "cut-short, surrogate and TAB dropped; C1 kept as before");
    char e6[6];
    char e5[5];
    is_int((int)ics_escape_text(e5, sizeof(e5), "caf\xc3\xa9s", 6), 3, "escape: cut before a character that does not fit");
    is_int((int)ics_escape_text(e6, sizeof(e6), "ab;cd", 5), 5, "escape: an escape that fits exactly");
    is_str(e6, "ab\\;c", "escape: exact fit content");
    is_int((int)ics_escape_text(e6, sizeof(e6), "abcd;", 5), 4, "escape: never half an escape");

    /* folding: a long value with multi-byte characters */
    strbuf_t b;
    strbuf_init(&b, 1 << 20);
    char longv[600];
    size_t o = 0;
    while (o + 2 < 400) {
        longv[o++] = '\xc3';
        longv[o++] = '\xa9';
        longv[o++] = 'x';
    }
    ics_text(&b, "DESCRIPTION", longv, o);
    ok(!b.failed && lines_ok(b.p, b.len), "folded lines <= 75 octets, CRLF");
    int split = 0;
    for (size_t i = 0; i + 3 < b.len; i++)
        if (b.p[i] == '\r' && b.p[i + 1] == '\n' && b.p[i + 2] == ' ' && ((unsigned char)b.p[i + 3] & 0xC0) == 0x80)
            split = 1;
    ok(!split, "folding never splits a UTF-8 sequence");
    char *u = unfold(b.p);
    ok(strncmp(u, "DESCRIPTION:", 12) == 0 && memcmp(u + 12, longv, o) == 0, "unfolds to the original value");
    free(u);
    strbuf_free(&b);

    /* a feed */
    ics_event_t ev[2] = {
        {"1-refuse-20261201@x", date_from_ymd(2026, 12, 1), 0, 3, "Green bin - household rubbish",
         "Put it out by 6:30.\nMoved from Monday 30 November 2026 (bank holiday, Christmas; New Year)."},
        {"1-food-20261208@x", date_from_ymd(2026, 12, 8), 1, 3, "Food caddy - food waste", "Cancelled."},
    };
    ics_feed_t f = {"Bin collections", 1764547200LL, 19 * 60 + 30};
    size_t len = 0;
    char *body = ics_feed_build(&f, ev, 2, &len);
    ok(body && lines_ok(body, len), "feed: CRLF lines, folded");
    ok(body && strstr(body, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") == body, "feed starts with VCALENDAR, VERSION");
    ok(body && strstr(body, "DTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20261202\r\n"), "all-day, exclusive end");
    ok(body && strstr(body, "REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n") && strstr(body, "X-PUBLISHED-TTL:P1D\r\n"),
       "refresh hints");
    ok(body && strstr(body, "TRANSP:TRANSPARENT\r\n") && strstr(body, "SEQUENCE:3\r\n"), "transparent, sequence");
    ok(body && strstr(body, "STATUS:CANCELLED\r\n") && strstr(body, "STATUS:CONFIRMED\r\n"), "statuses");
    char *uf = body ? unfold(body) : NULL;
    ok(uf && strstr(uf, "holiday\\, Christmas\\; New Year") && strstr(uf, "6:30.\\nMoved"), "description escaped");
    ok(uf && strstr(uf, "TRIGGER;RELATED=START:-PT4H30M\r\n"), "alarm 19:30 the evening before = 4h30 before");
    const char *c2 = uf ? strstr(uf, "UID:1-food") : NULL;
    ok(c2 && !strstr(c2, "VALARM"), "no alarm on a cancelled collection");
    ok(uf && strstr(uf, "DTSTAMP:20251201T000000Z"), "DTSTAMP from the given time, UTC");
    free(uf);
    free(body);

    /* alarm option */
    int m = -1;
    ok(ics_alarm_parse((const uint8_t *)"19:00", 5, &m) == 0 && m == 1140, "alarm 19:00");
    ok(ics_alarm_parse((const uint8_t *)"12:00", 5, &m) == 0 && m == 720, "alarm 12:00");
    ok(ics_alarm_parse((const uint8_t *)"23:59", 5, &m) == 0, "alarm 23:59");
    const char *bad[] = {"24:00", "11:59", "7:00", "19:60", "19-00", "1900", "19:0a", "19:000", ""};
    int allbad = 1;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        allbad &= ics_alarm_parse((const uint8_t *)bad[i], strlen(bad[i]), &m) == -1;
    ok(allbad, "bad alarm times refused");
    is_int(calfeed_query_alarm((const uint8_t *)"alarm=19%3A15", 13, &m), 1, "query: %%3A accepted");
    is_int(m, 19 * 60 + 15, "query: minutes");
    is_int(calfeed_query_alarm((const uint8_t *)"x=1&alarm=20:00&y", 17, &m), 1, "query: among others");
    is_int(calfeed_query_alarm((const uint8_t *)"x=1", 3, &m), 0, "query: no alarm");
    is_int(calfeed_query_alarm((const uint8_t *)"alarm=20:00&alarm=21:00", 23, &m), -1, "query: twice refused");
    is_int(calfeed_query_alarm((const uint8_t *)"alarm=20%3B00", 13, &m), -1, "query: other escapes refused");
    is_int(calfeed_query_alarm((const uint8_t *)"alarm=", 6, &m), -1, "query: empty refused");

    /* tokens */
    secret_key_t k1, k2;
    for (int i = 0; i < SECRET_KEY_BYTES; i++)
        k1.k[i] = (uint8_t)i, k2.k[i] = (uint8_t)(i + 1);
    char t1[CALFEED_TOKEN_LEN + 1], t1b[CALFEED_TOKEN_LEN + 1], t2[CALFEED_TOKEN_LEN + 1];
    calfeed_token_make(&k1, 100091495479ULL, t1);
    calfeed_token_make(&k1, 100091495479ULL, t1b);
    calfeed_token_make(&k2, 100091495479ULL, t2);
    is_str(t1, t1b, "token is stable");
    ok(strcmp(t1, t2) != 0, "token depends on the key");
    ok(strstr(t1, "100091495479") == NULL && strlen(t1) == 32, "token is 32 hex and does not show the UPRN");
    uint64_t up = 0;
    ok(calfeed_token_parse(&k1, (const uint8_t *)t1, 32, &up) == 0 && up == 100091495479ULL, "token maps back");
    ok(calfeed_token_parse(&k2, (const uint8_t *)t1, 32, &up) == -1, "other key: refused");
    t1b[5] = t1b[5] == '0' ? '1' : '0';
    ok(calfeed_token_parse(&k1, (const uint8_t *)t1b, 32, &up) == -1, "one digit changed: refused");
    ok(calfeed_token_parse(&k1, (const uint8_t *)t1, 31, &up) == -1, "short: refused");
    char upper[33];
    for (int i = 0; i < 33; i++)
        upper[i] = (char)(t1[i] >= 'a' && t1[i] <= 'f' ? t1[i] - 32 : t1[i]);
    ok(strcmp(upper, t1) == 0 || calfeed_token_parse(&k1, (const uint8_t *)upper, 32, &up) == -1,
       "upper-case spelling refused");

    /* path */
    const uint8_t *tok;
    size_t tl;
    ok(calfeed_path_token((const uint8_t *)"/calendar/abc123.ics", 20, &tok, &tl) == 0 && tl == 6 &&
           memcmp(tok, "abc123", 6) == 0,
       "path: token extracted");
    ok(calfeed_path_token((const uint8_t *)"/calendar/.ics", 14, &tok, &tl) == -1, "path: empty token");
    ok(calfeed_path_token((const uint8_t *)"/calendar/a/b.ics", 17, &tok, &tl) == -1, "path: slash refused");
    ok(calfeed_path_token((const uint8_t *)"/calendar/abc.ical", 18, &tok, &tl) == -1, "path: other suffix");

    /* If-None-Match */
    const char *et = "\"abc\"";
    ok(calfeed_etag_matches((const uint8_t *)"\"abc\"", 5, et), "INM: exact");
    ok(calfeed_etag_matches((const uint8_t *)"\"x\", W/\"abc\"", 12, et), "INM: list with weak");
    ok(calfeed_etag_matches((const uint8_t *)"*", 1, et), "INM: *");
    ok(!calfeed_etag_matches((const uint8_t *)"\"abd\"", 5, et), "INM: other tag");
    ok(!calfeed_etag_matches((const uint8_t *)"\"abc", 4, et), "INM: unterminated");
    ok(!calfeed_etag_matches((const uint8_t *)"abc", 3, et), "INM: unquoted");

    /* links */
    calfeed_links_t L;
    ok(calfeed_links("https://bins.example.gov.uk/", "tok", &L) == 0, "links built");
    is_str(L.https, "https://bins.example.gov.uk/calendar/tok.ics", "https link");
    is_str(L.webcal, "webcal://bins.example.gov.uk/calendar/tok.ics", "webcal link");
    is_str(L.google, "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fbins.example.gov.uk%2Fcalendar%2Ftok.ics",
           "google link");
    ok(strncmp(L.outlook, "https://outlook.office.com/calendar/addfromweb?url=https%3A%2F%2Fbins.example.gov.uk%2Fcalendar%2Ftok.ics",
               105) == 0,
       "outlook link");
    ok(calfeed_links("http://x", "t", &L) == -1, "http base refused");
    ok(calfeed_links("https://a b", "t", &L) == -1, "space refused");
    ok(calfeed_links("https://x\r\nBcc: y", "t", &L) == -1, "CR/LF refused");
    return done_testing();
}
