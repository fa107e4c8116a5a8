/* test_date.c - dates as days since epoch, ISO parse/format, weekdays, and the
 * Europe/London date (checked against the system's tzdata). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/date.h"
#include "tap.h"

static int P(const char *s)
{
    int d = -999999;
    date_parse(s, strlen(s), &d);
    return d;
}

int main(void)
{
    is_int(date_from_ymd(1970, 1, 1), 0, "epoch");
    is_int(P("2000-03-01") - P("2000-02-28"), 2, "2000 is a leap year");
    is_int(P("1900-03-01") - P("1900-02-28"), 1, "1900 is not");
    char b[11];
    is_str(date_format(P("2026-12-31"), b), "2026-12-31", "round trip");
    is_str(date_format(-1, b), "1969-12-31", "before epoch");
    int d;
    ok(date_parse("2026-02-29", 10, &d) != 0, "no Feb 29 in 2026");
    ok(date_parse("2028-02-29", 10, &d) == 0, "Feb 29 2028");
    ok(date_parse("2026-13-01", 10, &d) != 0, "month 13");
    ok(date_parse("2026-1-01", 9, &d) != 0, "short");
    ok(date_parse("26-01-2026", 10, &d) != 0, "wrong order");
    ok(date_parse("2026-01-0a", 10, &d) != 0, "letters");
    is_int(date_weekday(P("2026-11-28")), 5, "2026-11-28 is a Saturday");
    is_int(date_weekday(P("2027-01-04")), 0, "2027-01-04 is a Monday");
    is_int(date_weekday(P("1969-12-29")), 0, "weekday before epoch");
    is_int(date_weekday_parse("fri", 3), 4, "fri");
    is_int(date_weekday_parse("FRX", 3), -1, "bad weekday");
    is_str(date_weekday_long(6), "Sunday", "long name");
    /* every day 1900..2199 round-trips */
    int bad = 0;
    for (int x = P("1900-01-01"); x <= P("2199-12-31"); x++) {
        int y, m, dd;
        date_to_ymd(x, &y, &m, &dd);
        if (date_from_ymd(y, m, dd) != x || !date_valid_ymd(y, m, dd))
            bad++;
    }
    is_int(bad, 0, "300 years round-trip");

    /* Europe/London: compare with localtime under TZ=Europe/London */
    setenv("TZ", "Europe/London", 1);
    tzset();
    int mism = 0;
    time_t t0 = 1767225600; /* 2026-01-01 00:00 UTC */
    for (time_t t = t0 - 86400 * 400; t < t0 + 86400L * 800; t += 1800) {
        struct tm tm;
        localtime_r(&t, &tm);
        if (date_london_from_unix(t) != date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday))
            mism++;
    }
    is_int(mism, 0, "London date matches tzdata every 30 min over 3 years");
    /* 2026-03-29 00:30 UTC is still GMT; 2026-10-24 23:30 UTC is BST -> next day */
    is_int(date_london_from_unix(1774744200), P("2026-03-29"), "before spring change");
    is_int(date_london_from_unix(1792884600), P("2026-10-25"), "BST evening is tomorrow");
    return done_testing();
}
