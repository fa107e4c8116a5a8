/* civil.c - proleptic Gregorian calendar arithmetic on day numbers (see civil.h).
 * The day-number conversion is Howard Hinnant's well-known days_from_civil
 * algorithm (public-domain description), written out here for C. */
#include <stdio.h>

#include "binday/civil.h"

int civil_days(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                 /* [0, 399] */
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void civil_ymd(int days, int *y, int *m, int *d)
{
    int z = days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

int civil_weekday(int days)
{
    /* 1970-01-01 was a Thursday (3 when Monday = 0) */
    int w = (days + 3) % 7;
    return w < 0 ? w + 7 : w;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

bool civil_valid(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= civil_days_in_month(y, m);
}

bool civil_iso_week_monday(int iso_year, int week, int *monday_days)
{
    if (iso_year < 1 || iso_year > 9999 || week < 1 || week > 53)
        return false;
    /* ISO week 1 contains the 4th of January */
    int jan4 = civil_days(iso_year, 1, 4);
    int week1 = jan4 - civil_weekday(jan4);
    int monday = week1 + 7 * (week - 1);
    if (week == 53) {
        /* the week exists only if its Thursday is still in iso_year */
        int y, m, d;
        civil_ymd(monday + 3, &y, &m, &d);
        if (y != iso_year)
            return false;
    }
    *monday_days = monday;
    return true;
}

char *civil_format(int days, char *dst)
{
    int y, m, d;
    civil_ymd(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    snprintf(dst, 11, "%04d-%02d-%02d", y, m, d);
    return dst;
}
