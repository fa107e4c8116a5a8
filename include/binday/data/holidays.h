/* holidays.h - England & Wales bank holidays and the proposed collection slips.
 *
 * The dates are facts published by GOV.UK (https://www.gov.uk/bank-holidays).
 * The canonical list is data/bank-holidays-england-wales.csv; src/holidays.c
 * compiles the same list in (a unit test checks that both agree). To update:
 * edit both, or pass a CSV with --holidays-file.
 */
#ifndef BINDAY_HOLIDAYS_H
#define BINDAY_HOLIDAYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct holiday {
    int date; /* days since epoch */
    const char *name;
} holiday_t;

/* The compiled-in list, sorted by date. */
const holiday_t *holidays_builtin(size_t *n);
/* First and last year the compiled-in list covers. */
void holidays_years(const holiday_t *h, size_t n, int *first, int *last);

/* Parse a "date,name" CSV (header row, RFC 4180). Returns the number of
 * holidays written to out (sorted), or -1 with a message in err. Names point
 * into `data`. */
long holidays_parse(const uint8_t *data, size_t len, holiday_t *out, size_t max, char *err,
                    size_t err_size);

typedef struct holiday_slip {
    int original, new_date;
    const char *holiday; /* the holiday that caused it */
} holiday_slip_t;

/* Proposed `*` moves for the weeks (Monday-Sunday) whose first bank holiday
 * falls in `year`: every weekday collection from a holiday to the end of that
 * week slips one day per holiday on or before it (Friday -> Saturday), and
 * skips over a holiday it would land on, but never onto a Sunday (two days'
 * collections then share the Saturday). Holiday dates themselves move too
 * (their collections happen the next day). Returns the count written. */
size_t holidays_propose(const holiday_t *h, size_t n, int year, holiday_slip_t *out, size_t max);

#endif
