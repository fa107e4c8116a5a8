/* calendar.c - owns the meaning of rounds, exceptions and occurrences.
 *
 * Exception lists per round are short (a few bank holidays and a Christmas
 * calendar a year), so linear scans beat any index here and keep the code
 * obviously correct.
 */
#include "binday/data/calendar.h"

#include "binday/util/date.h"

static int mod_floor(long long a, long long b)
{
    long long r = a % b;
    return (int)(r < 0 ? r + b : r);
}

int cal_round_collects(const cal_round_t *r, int day)
{
    if (day < r->valid_from || day > r->valid_to)
        return 0;
    return mod_floor((long long)day - r->anchor, 7LL * r->interval_weeks) == 0;
}

int cal_round_next_on_or_after(const cal_round_t *r, int day)
{
    int period = 7 * r->interval_weeks;
    int off = mod_floor((long long)r->anchor - day, period);
    return day + off;
}

static const cal_exception_t *find_exc(const cal_exception_t *e, size_t n, int original)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].action != CAL_ADDED && e[i].original == original)
            return &e[i];
    return NULL;
}

/* The exception that governs a scheduled original date, or NULL. */
static const cal_exception_t *governing(const cal_exception_t *own, size_t n_own,
                                        const cal_exception_t *star, size_t n_star, int orig)
{
    const cal_exception_t *x = find_exc(own, n_own, orig);
    return x ? x : find_exc(star, n_star, orig);
}

static void put(cal_occurrence_t *out, size_t max, size_t *n, size_t *total, int date, int orig,
                int changed, const cal_exception_t *x)
{
    (*total)++;
    if (*n >= max)
        return;
    cal_occurrence_t *o = &out[(*n)++];
    o->date = date;
    o->original = orig;
    o->changed = changed;
    o->reason = x ? x->reason : NULL;
    o->reason_len = x ? x->reason_len : 0;
    o->cancelled = 0;
}

static void sort_occ(cal_occurrence_t *o, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is small */
        cal_occurrence_t t = o[i];
        size_t j = i;
        while (j > 0 && (o[j - 1].date > t.date ||
                         (o[j - 1].date == t.date && o[j - 1].original > t.original))) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = t;
    }
}

static void moved_in(const cal_round_t *r, const cal_exception_t *e, size_t n,
                     const cal_exception_t *own, size_t n_own, const cal_exception_t *star,
                     size_t n_star, int from, int to, int eff_from, int eff_to,
                     cal_occurrence_t *out, size_t max, size_t *cnt, size_t *total)
{
    for (size_t i = 0; i < n; i++) {
        const cal_exception_t *x = &e[i];
        if (x->action != CAL_MOVED || x->new_date < from || x->new_date > to)
            continue;
        if (x->original >= from && x->original <= to)
            continue; /* handled by the scan of scheduled dates */
        if (x->original < eff_from || x->original > eff_to)
            continue;
        if (!cal_round_collects(r, x->original))
            continue;
        /* only if this exception is the one that governs that date */
        if (governing(own, n_own, star, n_star, x->original) != x)
            continue;
        put(out, max, cnt, total, x->new_date, x->original, 1, x);
    }
}

size_t cal_occurrences(const cal_round_t *r, const cal_exception_t *own, size_t n_own,
                       const cal_exception_t *star, size_t n_star, int from, int to,
                       int eff_from, int eff_to, cal_occurrence_t *out, size_t max)
{
    return cal_occurrences_ex(r, own, n_own, star, n_star, from, to, eff_from, eff_to, 0, out, max);
}

size_t cal_occurrences_ex(const cal_round_t *r, const cal_exception_t *own, size_t n_own,
                          const cal_exception_t *star, size_t n_star, int from, int to,
                          int eff_from, int eff_to, int with_cancelled, cal_occurrence_t *out,
                          size_t max)
{
    size_t n = 0, total = 0;
    if (from > to || r->interval_weeks < 1)
        return 0;
    int lo = from > r->valid_from ? from : r->valid_from;
    int hi = to < r->valid_to ? to : r->valid_to;
    if (lo < eff_from)
        lo = eff_from;
    if (hi > eff_to)
        hi = eff_to;
    int period = 7 * r->interval_weeks;
    if (lo <= hi) {
        for (int d = cal_round_next_on_or_after(r, lo); d <= hi; d += period) {
            const cal_exception_t *x = governing(own, n_own, star, n_star, d);
            if (x == NULL)
                put(out, max, &n, &total, d, d, 0, NULL);
            else if (x->action == CAL_MOVED && x->new_date >= from && x->new_date <= to)
                put(out, max, &n, &total, x->new_date, d, 1, x);
            else if (x->action == CAL_CANCELLED && with_cancelled) {
                size_t before = n;
                put(out, max, &n, &total, d, d, 1, x);
                if (n > before)
                    out[n - 1].cancelled = 1;
            }
            /* cancelled, or moved out of the window: nothing in [from, to] */
        }
    }
    moved_in(r, own, n_own, own, n_own, star, n_star, from, to, eff_from, eff_to, out, max, &n,
             &total);
    moved_in(r, star, n_star, own, n_own, star, n_star, from, to, eff_from, eff_to, out, max, &n,
             &total);
    for (size_t i = 0; i < n_own; i++) {
        const cal_exception_t *x = &own[i];
        if (x->action == CAL_ADDED && x->new_date >= from && x->new_date <= to &&
            x->new_date >= eff_from && x->new_date <= eff_to)
            put(out, max, &n, &total, x->new_date, x->new_date, 1, x);
    }
    sort_occ(out, n);
    return n;
}
