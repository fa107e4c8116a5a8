/* civil.h - proleptic Gregorian calendar arithmetic on day numbers.
 *
 * A day number is the count of days since 1970-01-01 (negative before it), the
 * representation the skill modules use for local (Europe/London) calendar dates.
 * Pure functions, no time zones, no allocation.
 */
#ifndef BINDAY_CIVIL_H
#define BINDAY_CIVIL_H

#include <stdbool.h>

/* Day number of y-m-d (m 1..12, d 1..31; not validated: see civil_valid). */
int civil_days(int y, int m, int d);
/* Inverse of civil_days. */
void civil_ymd(int days, int *y, int *m, int *d);
/* 0 = Monday .. 6 = Sunday (ISO). */
int civil_weekday(int days);
/* True when y-m-d names a real date in years 1..9999. */
bool civil_valid(int y, int m, int d);
int civil_days_in_month(int y, int m);
/* Day number of the Monday of ISO week `week` of ISO year `iso_year` in
 * *monday_days. Returns false when the week does not exist (W53 of a 52-week year). */
bool civil_iso_week_monday(int iso_year, int week, int *monday_days);
/* Format as YYYY-MM-DD into dst (>= 11 bytes). Returns dst. */
char *civil_format(int days, char *dst);

#endif
