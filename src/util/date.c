/* date.c - owns date arithmetic: days-since-epoch conversions, ISO parsing and
 * formatting, weekdays, and the Europe/London "today".
 *
 * The civil-from-days algorithm is the well-known era/day-of-era method; it is
 * exact for the proleptic Gregorian calendar. "today" is derived from the UK
 * summer-time rule directly instead of localtime(): setting TZ is process-wide
 * and not thread-safe, and the server asks for today on every request.
 */
#include "binday/util/date.h"

#include <stdio.h>

static int floor_div(int a, int b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    int era = floor_div(y, 400);
    int yoe = y - era * 400;
    int mp = (m + 9) % 12;
    int doy = (153 * mp + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void date_to_ymd(int days, int *y, int *m, int *d)
{
    int z = days + 719468;
    int era = floor_div(z, 146097);
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int date_valid_ymd(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int md = mdays[m - 1] + (m == 2 && is_leap(y));
    return d <= md;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int date_parse(const char *s, size_t len, int *out)
{
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (y < 1900 || y > 2199 || !date_valid_ymd(y, m, d))
        return -1;
    *out = date_from_ymd(y, m, d);
    return 0;
}

char *date_format(int days, char out[11])
{
    int y, m, d;
    date_to_ymd(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(out, 11, "0000-00-00");
        return out;
    }
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return out;
}

int date_weekday(int days)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0) */
    int w = (days + 3) % 7;
    return w < 0 ? w + 7 : w;
}

static const char *const wd_short[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
static const char *const wd_long[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};

int date_weekday_parse(const char *s, size_t len)
{
    if (len != 3)
        return -1;
    for (int i = 0; i < 7; i++) {
        int eq = 1;
        for (int j = 0; j < 3; j++) {
            char c = s[j];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 32);
            if (c != wd_short[i][j])
                eq = 0;
        }
        if (eq)
            return i;
    }
    return -1;
}

const char *date_weekday_name(int wd)
{
    return wd >= 0 && wd < 7 ? wd_short[wd] : "?";
}

const char *date_weekday_long(int wd)
{
    return wd >= 0 && wd < 7 ? wd_long[wd] : "?";
}

static const char *const month_long[12] = {"January", "February", "March",     "April",   "May",      "June",
                                           "July",    "August",   "September", "October", "November", "December"};

const char *date_month_long(int m)
{
    return m >= 1 && m <= 12 ? month_long[m - 1] : "?";
}

char *date_long(int days, char *dst, size_t dst_size)
{
    int y, m, d;
    date_to_ymd(days, &y, &m, &d);
    snprintf(dst, dst_size, "%s %d %s %d", date_weekday_long(date_weekday(days)), d, date_month_long(m), y);
    return dst;
}

/* The last Sunday of a month, as days since epoch. */
static int last_sunday(int y, int m)
{
    int last = date_from_ymd(y, m + 1, 1) - 1; /* m < 12 here */
    return last - (date_weekday(last) + 1) % 7;
}

long long date_london_local_seconds(time_t t)
{
    long long secs = (long long)t;
    long long day = secs / 86400 - (secs % 86400 < 0);
    int y, m, d;
    date_to_ymd((int)day, &y, &m, &d);
    long long bst_start = (long long)last_sunday(y, 3) * 86400 + 3600;
    long long bst_end = (long long)last_sunday(y, 10) * 86400 + 3600;
    if (secs >= bst_start && secs < bst_end)
        secs += 3600;
    return secs;
}

int date_london_from_unix(time_t t)
{
    long long secs = date_london_local_seconds(t);
    return (int)(secs / 86400 - (secs % 86400 < 0));
}

time_t date_london_to_unix(int day, int minute)
{
    long long local = (long long)day * 86400 + (long long)minute * 60;
    /* BST first: a wall time that exists in summer time maps back to itself */
    if (date_london_local_seconds((time_t)(local - 3600)) == local)
        return (time_t)(local - 3600);
    return (time_t)local; /* GMT, or the hour skipped in March (read as GMT) */
}

int date_today_london(void)
{
    return date_london_from_unix(time(NULL));
}

int date_days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int date_iso_week_monday(int iso_year, int week, int *monday_days)
{
    if (iso_year < 1 || iso_year > 9999 || week < 1 || week > 53)
        return -1;
    /* ISO week 1 is the week that contains the 4th of January */
    int jan4 = date_from_ymd(iso_year, 1, 4);
    int monday = jan4 - date_weekday(jan4) + 7 * (week - 1);
    if (week == 53) {
        /* week 53 exists only if its Thursday is still in iso_year */
        int y, m, d;
        date_to_ymd(monday + 3, &y, &m, &d);
        if (y != iso_year)
            return -1;
    }
    *monday_days = monday;
    return 0;
}
