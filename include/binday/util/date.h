/* date.h - calendar dates as days since 1970-01-01 (proleptic Gregorian).
 *
 * A date is an int: 0 = 1970-01-01, negative before. All functions are pure
 * and thread-safe; "today" is the Europe/London local date (the contract's
 * definition), computed from the UK daylight-saving rule, not from TZ.
 */
#ifndef BINDAY_DATE_H
#define BINDAY_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DATE_NONE_LO (-2000000000) /* "no lower bound" (absent valid_from) */
#define DATE_NONE_HI 2000000000    /* "no upper bound" (absent valid_to) */

/* Days since epoch of a valid y-m-d (no range check; see date_valid_ymd). */
int date_from_ymd(int y, int m, int d);
void date_to_ymd(int days, int *y, int *m, int *d);
int date_valid_ymd(int y, int m, int d);
/* Parse exactly "YYYY-MM-DD" (years 1900..2199). 0 ok, -1 invalid. */
int date_parse(const char *s, size_t len, int *out);
/* Write "YYYY-MM-DD" + NUL into out (11 bytes). Returns out. */
char *date_format(int days, char out[11]);
/* 0 = Monday ... 6 = Sunday. */
int date_weekday(int days);
/* Days in month m (1..12) of year y; 0 for a bad month. */
int date_days_in_month(int y, int m);
/* Day number of the Monday of ISO week `week` of ISO year `iso_year` in
 * *monday_days. Returns 0, or -1 when the week does not exist (W53 of a
 * 52-week year) or the arguments are out of range. */
int date_iso_week_monday(int iso_year, int week, int *monday_days);
/* "MON".."SUN" (case-insensitive) -> 0..6, else -1. */
int date_weekday_parse(const char *s, size_t len);
const char *date_weekday_name(int wd); /* "MON".. */
const char *date_weekday_long(int wd); /* "Monday".. */
const char *date_month_long(int m);   /* "January".."December" for 1..12, "?" otherwise */
/* "Monday 30 November 2026" into dst. Returns dst. */
char *date_long(int days, char *dst, size_t dst_size);
/* The Europe/London local date at a Unix time (GMT, BST from 01:00 UTC on the
 * last Sunday of March to 01:00 UTC on the last Sunday of October). */
int date_london_from_unix(time_t t);
/* Europe/London wall-clock seconds since 1970-01-01 00:00 local at a Unix
 * time (t + 3600 in summer time): day = floor(/86400), minute of the day = rest / 60. */
long long date_london_local_seconds(time_t t);
/* The Unix time of a Europe/London wall-clock time (day, minute of the day
 * 0..1439). The hour repeated in October maps to its first (summer) instance. */
time_t date_london_to_unix(int day, int minute);
/* date_london_from_unix(time(NULL)). */
int date_today_london(void);

#endif
