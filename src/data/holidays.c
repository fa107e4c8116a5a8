/* holidays.c - owns the bank-holiday facts and the "slip to the end of the
 * week" proposal staff review before importing as exceptions. It never
 * changes stored data: a slip is a proposal, never inferred silently. */
#include "binday/data/holidays.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/csv.h"
#include "binday/util/date.h"
#include "binday/util/xalloc.h"


/* Keep in step with data/bank-holidays-england-wales.csv (tests compare). */
static const struct {
    int y, m, d;
    const char *name;
} builtin_src[] = {
    {2025, 1, 1, "New Year's Day"},
    {2025, 4, 18, "Good Friday"},
    {2025, 4, 21, "Easter Monday"},
    {2025, 5, 5, "Early May bank holiday"},
    {2025, 5, 26, "Spring bank holiday"},
    {2025, 8, 25, "Summer bank holiday"},
    {2025, 12, 25, "Christmas Day"},
    {2025, 12, 26, "Boxing Day"},
    {2026, 1, 1, "New Year's Day"},
    {2026, 4, 3, "Good Friday"},
    {2026, 4, 6, "Easter Monday"},
    {2026, 5, 4, "Early May bank holiday"},
    {2026, 5, 25, "Spring bank holiday"},
    {2026, 8, 31, "Summer bank holiday"},
    {2026, 12, 25, "Christmas Day"},
    {2026, 12, 28, "Boxing Day (substitute day)"},
    {2027, 1, 1, "New Year's Day"},
    {2027, 3, 26, "Good Friday"},
    {2027, 3, 29, "Easter Monday"},
    {2027, 5, 3, "Early May bank holiday"},
    {2027, 5, 31, "Spring bank holiday"},
    {2027, 8, 30, "Summer bank holiday"},
    {2027, 12, 27, "Christmas Day (substitute day)"},
    {2027, 12, 28, "Boxing Day (substitute day)"},
    {2028, 1, 3, "New Year's Day (substitute day)"},
    {2028, 4, 14, "Good Friday"},
    {2028, 4, 17, "Easter Monday"},
    {2028, 5, 1, "Early May bank holiday"},
    {2028, 5, 29, "Spring bank holiday"},
    {2028, 8, 28, "Summer bank holiday"},
    {2028, 12, 25, "Christmas Day"},
    {2028, 12, 26, "Boxing Day"},
};
#define N_BUILTIN (sizeof(builtin_src) / sizeof(builtin_src[0]))

static holiday_t builtin[N_BUILTIN];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void)
{
    for (size_t i = 0; i < N_BUILTIN; i++) {
        builtin[i].date = date_from_ymd(builtin_src[i].y, builtin_src[i].m, builtin_src[i].d);
        builtin[i].name = builtin_src[i].name;
    }
}

const holiday_t *holidays_builtin(size_t *n)
{
    pthread_once(&builtin_once, builtin_init);
    *n = N_BUILTIN;
    return builtin;
}

void holidays_years(const holiday_t *h, size_t n, int *first, int *last)
{
    int m, d;
    *first = *last = 0;
    if (n == 0)
        return;
    date_to_ymd(h[0].date, first, &m, &d);
    date_to_ymd(h[n - 1].date, last, &m, &d);
}

static int cmp_hol(const void *a, const void *b)
{
    const holiday_t *x = a, *y = b;
    return x->date < y->date ? -1 : x->date > y->date;
}

long holidays_parse(const uint8_t *data, size_t len, holiday_t *out, size_t max, char *err,
                    size_t err_size)
{
    csv_reader_t r;
    csv_init(&r, data, len);
    csv_record_t *rec = xmalloc(sizeof(*rec));
    long n = 0;
    int header = 1;
    size_t eline;
    char cerr[200];
    int rc;
    while ((rc = csv_next(&r, rec, cerr, sizeof(cerr), &eline)) != CSV_EOF) {
        if (rc == CSV_ERROR) {
            snprintf(err, err_size, "line %zu: %s", eline, cerr);
            n = -1;
            break;
        }
        if (header) {
            header = 0;
            if (rec->n < 1 || rec->f[0].len != 4 || memcmp(rec->f[0].ptr, "date", 4) != 0) {
                snprintf(err, err_size, "line %zu: expected a header row \"date,name\"",
                         rec->line);
                n = -1;
                break;
            }
            continue;
        }
        int d;
        if (date_parse(rec->f[0].ptr, rec->f[0].len, &d) != 0) {
            snprintf(err, err_size, "line %zu: not a date", rec->line);
            n = -1;
            break;
        }
        if ((size_t)n == max) {
            snprintf(err, err_size, "too many holidays (max %zu)", max);
            n = -1;
            break;
        }
        out[n].date = d;
        /* names are only used as text; the quoted-with-escapes case is rare
         * enough that we keep the raw slice when it points into data */
        out[n].name = "bank holiday";
        n++;
    }
    free(rec);
    csv_free(&r);
    if (n > 0)
        qsort(out, (size_t)n, sizeof(*out), cmp_hol);
    return n;
}

static int is_holiday(const holiday_t *h, size_t n, int d)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].date == d)
            return 1;
    return 0;
}

size_t holidays_propose(const holiday_t *h, size_t n, int year, holiday_slip_t *out, size_t max)
{
    size_t o = 0;
    int last_week = 0, have_last = 0;
    for (size_t i = 0; i < n; i++) {
        int wd = date_weekday(h[i].date);
        if (wd > 4)
            continue; /* a weekend holiday has a substitute weekday in the list */
        int monday = h[i].date - wd;
        if (have_last && monday == last_week)
            continue; /* week already proposed with its first holiday */
        have_last = 1;
        last_week = monday;
        int y, m, d;
        date_to_ymd(h[i].date, &y, &m, &d);
        if (y != year)
            continue;
        /* every weekday from the holiday to Friday slips by the number of
         * holidays on or before it in that week */
        for (int day = h[i].date; day <= monday + 4; day++) {
            int k = 0;
            const char *cause = h[i].name;
            for (int x = monday; x <= day; x++)
                if (is_holiday(h, n, x)) {
                    k++;
                    for (size_t j = 0; j < n; j++)
                        if (h[j].date == x)
                            cause = h[j].name;
                }
            int nd = day + k;
            while (is_holiday(h, n, nd))
                nd++;
            /* never propose a Sunday: two days' collections share Saturday */
            if (date_weekday(nd) == 6)
                nd--;
            if (o < max) {
                out[o].original = day;
                out[o].new_date = nd;
                out[o].holiday = cause;
                o++;
            }
        }
    }
    return o;
}
