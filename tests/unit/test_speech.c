/* test_speech.c - British-English phrasing, SSML escaping and the bounded builder. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/skill/speech.h"
#include "tap.h"

static void test_civil(void)
{
    int y, m, d;
    is_int(date_from_ymd(1970, 1, 1), 0, "epoch is day 0");
    is_int(date_from_ymd(2026, 12, 1), 20788, "2026-12-01 day number");
    date_to_ymd(20788, &y, &m, &d);
    ok(y == 2026 && m == 12 && d == 1, "round trip 2026-12-01");
    date_to_ymd(-1, &y, &m, &d);
    ok(y == 1969 && m == 12 && d == 31, "day -1 is 1969-12-31");
    is_int(date_weekday(date_from_ymd(2026, 11, 28)), 5, "2026-11-28 is a Saturday");
    is_int(date_weekday(date_from_ymd(2025, 12, 2)), 1, "2025-12-02 is a Tuesday");
    is_int(date_weekday(date_from_ymd(1969, 12, 29)), 0, "1969-12-29 is a Monday (negative days)");
    ok(date_valid_ymd(2028, 2, 29), "2028-02-29 valid");
    ok(!date_valid_ymd(2026, 2, 29), "2026-02-29 invalid");
    ok(!date_valid_ymd(2100, 2, 29), "2100-02-29 invalid");
    ok(date_valid_ymd(2000, 2, 29), "2000-02-29 valid");
    ok(!date_valid_ymd(2026, 13, 1) && !date_valid_ymd(2026, 0, 1) && !date_valid_ymd(2026, 4, 31), "bad months/days");
    int mon;
    ok(date_iso_week_monday(2026, 49, &mon) == 0, "2026-W49 exists");
    is_int(mon, date_from_ymd(2026, 11, 30), "2026-W49 starts Monday 30 November");
    ok(date_iso_week_monday(2026, 53, &mon) == 0, "2026 has 53 ISO weeks");
    is_int(mon, date_from_ymd(2026, 12, 28), "2026-W53 starts 28 December");
    ok(date_iso_week_monday(2027, 53, &mon), "2027 has no W53");
    ok(date_iso_week_monday(2027, 1, &mon) == 0 && mon == date_from_ymd(2027, 1, 4), "2027-W01 starts 4 January");
    char buf[11];
    is_str(date_format(date_from_ymd(2027, 3, 9), buf), "2027-03-09", "format");
    /* every day of a 400-year cycle round-trips */
    int bad = 0;
    for (int dd = date_from_ymd(1900, 1, 1); dd < date_from_ymd(2300, 1, 1); dd++) {
        date_to_ymd(dd, &y, &m, &d);
        if (date_from_ymd(y, m, d) != dd || !date_valid_ymd(y, m, d))
            bad++;
    }
    is_int(bad, 0, "400 years round-trip");
}

static void test_ordinals(void)
{
    static const struct {
        int n;
        const char *s;
    } t[] = {{1, "1st"},   {2, "2nd"},   {3, "3rd"},   {4, "4th"},   {10, "10th"}, {11, "11th"},
             {12, "12th"}, {13, "13th"}, {14, "14th"}, {21, "21st"}, {22, "22nd"}, {23, "23rd"},
             {24, "24th"}, {30, "30th"}, {31, "31st"}, {101, "101st"}, {111, "111th"}, {112, "112th"}};
    char buf[16];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        is_str(speech_ordinal(t[i].n, buf, sizeof(buf)), t[i].s, "ordinal %d", t[i].n);
    is_str(speech_month_name(12), "December", "month 12");
    is_str(speech_month_name(0), "", "month 0 is empty");
    is_str(speech_weekday_name(6), "Sunday", "weekday 6");
}

static void test_dates(void)
{
    char buf[128];
    int today = date_from_ymd(2025, 12, 1); /* a Monday */
    is_str(speech_date_phrase(buf, sizeof(buf), today, today, SPEECH_DATE_FULL), "today", "today");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 1, SPEECH_DATE_FULL),
           "tomorrow, Tuesday the 2nd of December", "tomorrow full");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 3, SPEECH_DATE_FULL),
           "on Thursday the 4th of December", "in 3 days full");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 15, SPEECH_DATE_FULL),
           "on Tuesday the 16th of December", "in 15 days full");
    is_str(speech_date_phrase(buf, sizeof(buf), today, date_from_ymd(2026, 1, 1), SPEECH_DATE_FULL),
           "on Thursday the 1st of January 2026", "next year names the year");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today - 1, SPEECH_DATE_FULL),
           "yesterday, Sunday the 30th of November", "yesterday full");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 1, SPEECH_DATE_SHORT), "tomorrow", "tomorrow short");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 3, SPEECH_DATE_SHORT), "on Thursday",
           "weekday within 6 days");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 6, SPEECH_DATE_SHORT), "on Sunday",
           "6 days ahead is still the weekday");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 8, SPEECH_DATE_SHORT), "on Tuesday the 9th of December",
           "a weekday of next week: weekday and date, never 'next Tuesday'");
    is_str(speech_date_phrase(buf, sizeof(buf), today, today + 15, SPEECH_DATE_SHORT), "on Tuesday the 16th of December",
           "further ahead: weekday and date");
    int friday = date_from_ymd(2025, 12, 5);
    is_str(speech_date_phrase(buf, sizeof(buf), friday, friday + 4, SPEECH_DATE_SHORT), "on Tuesday",
           "Friday -> Tuesday 4 days ahead says the weekday");
    is_str(speech_date_phrase(buf, sizeof(buf), friday, friday + 7, SPEECH_DATE_SHORT), "on Friday the 12th of December",
           "Friday -> Friday a week on: the date, not 'next Friday'");
    is_str(speech_date_phrase(buf, sizeof(buf), friday, friday + 10, SPEECH_DATE_SHORT), "on Monday the 15th of December",
           "Friday -> Monday the week after next gives the date");
    is_str(speech_date_phrase(buf, sizeof(buf), today, date_from_ymd(2026, 1, 22), SPEECH_DATE_SHORT),
           "on Thursday the 22nd of January 2026", "short next year");
    is_str(speech_date_plain(buf, sizeof(buf), today, date_from_ymd(2025, 12, 23)), "Tuesday the 23rd of December",
           "plain");
    char small[8];
    speech_date_phrase(small, sizeof(small), today, today + 3, SPEECH_DATE_FULL);
    is_int(strlen(small), 7, "small buffer truncates safely");
}

static void test_escape(void)
{
    char buf[64];
    const char *in = "Tom & Jerry's <bin> \"x\"";
    is_int(speech_escape(buf, sizeof(buf), in, strlen(in)), strlen("Tom &amp; Jerry&apos;s &lt;bin&gt; &quot;x&quot;"),
           "escape length");
    is_str(buf, "Tom &amp; Jerry&apos;s &lt;bin&gt; &quot;x&quot;", "escape all five");
    const char ctl[] = "a\x01" "b\tc\nd\x7f" "e\0f";
    speech_escape(buf, sizeof(buf), ctl, sizeof(ctl) - 1);
    is_str(buf, "ab c def", "controls dropped, whitespace controls become spaces, NUL dropped");
    char tiny[6];
    is_int((long long)speech_escape(tiny, sizeof(tiny), "a&b", 3), -1, "does not fit -> -1");
    is_str(tiny, "", "and empty output");
    is_int((long long)speech_escape(tiny, sizeof(tiny), "a&", 2), -1, "6 chars need 7 bytes");
    char seven[7];
    is_int(speech_escape(seven, sizeof(seven), "a&", 2), 6, "exact fit with the NUL");
    is_str(seven, "a&amp;", "exact fit content");
    const char bad[] = "caf\xc3\xa9 \xff\xe2\x82 <x> \xed\xa0\x80ok";
    speech_escape(buf, sizeof(buf), bad, sizeof(bad) - 1);
    is_str(buf, "caf\xc3\xa9  &lt;x&gt; ok", "ill-formed UTF-8 dropped (it made the response JSON fail), valid kept");
    char longin[3000], longout[8000];
    for (size_t i = 0; i < sizeof(longin); i++)
        longin[i] = i % 3 == 2 ? '&' : i % 7 == 0 ? '\x01' : 'a';
    size_t want = 0;
    for (size_t i = 0; i < sizeof(longin); i++)
        want += longin[i] == '&' ? 5 : longin[i] == 'a' ? 1 : 0;
    is_int(speech_escape(longout, sizeof(longout), longin, sizeof(longin)), want,
           "a text past the stack scratch is cleaned and escaped whole");
}

static void test_strip(void)
{
    char buf[128];
    const char *s = "<speak>Hello &amp; welcome.<break time=\"300ms\"/>It&apos;s <emphasis>bin</emphasis> day.</speak>";
    speech_strip_ssml(buf, sizeof(buf), s, strlen(s));
    is_str(buf, "Hello & welcome. It's bin day.", "strip tags and entities");
    speech_strip_ssml(buf, sizeof(buf), "<speak>unterminated <tag", 23);
    is_str(buf, "unterminated", "unterminated tag dropped");
    char small[6];
    speech_strip_ssml(small, sizeof(small), "abcdefghij", 10);
    is_str(small, "abcde", "strip truncates");
    char seven[7];
    speech_strip_ssml(seven, sizeof(seven), "<speak>caf\xc3\xa9s</speak>", 24);
    is_str(seven, "caf\xc3\xa9s", "strip: whole characters fit");
    char five[5];
    speech_strip_ssml(five, sizeof(five), "<speak>caf\xc3\xa9s</speak>", 24);
    is_str(five, "caf", "strip: a cut never leaves half a character");
}

static void test_buf(void)
{
    speech_buf_t b;
    speech_buf_init(&b);
    ok(speech_buf_text(&b, "Bins & boxes", 12), "text appended");
    ok(speech_buf_markup(&b, "<break time=\"200ms\"/>"), "markup appended");
    ok(speech_buf_textf(&b, " %d o'clock", 6), "textf appended");
    is_str(b.s, "Bins &amp; boxes<break time=\"200ms\"/> 6 o&apos;clock", "builder content");
    ok(!b.truncated, "not truncated");
    char chunk[1001];
    memset(chunk, 'x', 1000);
    chunk[1000] = '\0';
    int n = 0;
    while (speech_buf_text(&b, chunk, 1000))
        n++;
    ok(b.truncated, "truncation flagged");
    ok(b.len <= SPEECH_MAX && strlen(b.s) == b.len, "never over the cap and consistent");
    is_int(n, 7, "seven whole chunks fit");
    while (speech_buf_markup(&b, "<break time=\"1s\"/>"))
        ;
    ok(b.len <= SPEECH_MAX && b.len + strlen("<break time=\"1s\"/>") > SPEECH_MAX, "markup beyond the cap refused");
    size_t before = b.len;
    ok(SPEECH_MAX - before < 2 || (speech_buf_text(&b, "ok", 2) && b.len == before + 2), "a small append still fits");
    /* an escaped text that expands past the cap is refused whole */
    speech_buf_init(&b);
    char amp[SPEECH_MAX / 2];
    memset(amp, '&', sizeof(amp));
    ok(!speech_buf_text(&b, amp, sizeof(amp)) && b.len == 0 && b.s[0] == '\0', "expanding text refused whole");
    /* SIZE_MAX = NUL-terminated: exactly the string, nothing read past its end
     * (ASan reports any over-read of this heap copy) */
    char *heap = strdup("Hello. ");
    speech_buf_init(&b);
    ok(speech_buf_text(&b, heap, SIZE_MAX), "NUL-terminated text appended");
    is_str(b.s, "Hello. ", "NUL-terminated text: exactly the string");
    free(heap);
}

static void test_join_and_bins(void)
{
    char buf[128];
    const char *one[] = {"the green bin"};
    const char *two[] = {"the green bin", "the food caddy"};
    const char *three[] = {"A", "B", "C"};
    const char *four[] = {"A", "B", "C", "D"};
    speech_join(buf, sizeof(buf), one, 1);
    is_str(buf, "the green bin", "join one");
    speech_join(buf, sizeof(buf), two, 2);
    is_str(buf, "the green bin and the food caddy", "join two");
    speech_join(buf, sizeof(buf), three, 3);
    is_str(buf, "A, B and C", "join three");
    speech_join(buf, sizeof(buf), four, 4);
    is_str(buf, "A, B, C and D", "join four");
    speech_join_or(buf, sizeof(buf), three, 3);
    is_str(buf, "A, B or C", "options join with or");
    speech_join_or(buf, sizeof(buf), two, 2);
    is_str(buf, "the green bin or the food caddy", "two options join with or");
    ok(speech_join(buf, sizeof(buf), NULL, 0) && buf[0] == '\0', "join none");
    char small[20];
    ok(!speech_join(small, sizeof(small), two, 2), "join reports truncation");
    is_str(small, "the green bin", "join drops the partial item");

    is_str(speech_bin_phrase(buf, sizeof(buf), "green", NULL, "household rubbish"),
           "the green bin for household rubbish", "green bin");
    is_str(speech_bin_phrase(buf, sizeof(buf), "black", "bin", "recycling"), "the black bin for recycling",
           "black bin");
    is_str(speech_bin_phrase(buf, sizeof(buf), NULL, "food caddy", NULL), "the food caddy", "food caddy");
    is_str(speech_bin_phrase(buf, sizeof(buf), "brown", NULL, ""), "the brown bin", "colour only");
    is_str(speech_bin_phrase(buf, sizeof(buf), "", "", "garden waste"), "the bin for garden waste", "purpose only");
    is_str(speech_bin_phrase(buf, sizeof(buf), NULL, NULL, NULL), "the bin", "nothing known");
}

int main(void)
{
    test_civil();
    test_ordinals();
    test_dates();
    test_escape();
    test_strip();
    test_buf();
    test_join_and_bins();
    return done_testing();
}
