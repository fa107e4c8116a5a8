/* calendar.h - the collection calendar engine (pure functions, no storage).
 *
 * A round collects on anchor + 7*interval*k (any integer k) within its
 * validity. Exceptions are keyed by the ORIGINAL date: moved (to new_date),
 * cancelled, or added (new_date only). A round's own exception for a date wins
 * over a `*` exception for that date. An exception never applies to a date
 * that a collection was moved onto, so nothing is moved twice.
 * Dates are days since epoch (see date.h); bounds are inclusive.
 */
#ifndef BINDAY_CALENDAR_H
#define BINDAY_CALENDAR_H

#include <stddef.h>

typedef struct cal_round {
    int weekday;        /* 0 = Monday */
    int interval_weeks; /* 1..8 */
    int anchor;
    int valid_from;     /* DATE_NONE_LO when absent */
    int valid_to;       /* DATE_NONE_HI when absent */
} cal_round_t;

typedef enum { CAL_MOVED = 1, CAL_CANCELLED = 2, CAL_ADDED = 3 } cal_action_t;

typedef struct cal_exception {
    int action;        /* cal_action_t */
    int original;      /* moved, cancelled */
    int new_date;      /* moved, added */
    const char *reason; /* may be NULL; not owned */
    size_t reason_len;
} cal_exception_t;

typedef struct cal_occurrence {
    int date;          /* the day the bin is collected */
    int original;      /* the day it would have been (== date when unchanged/added) */
    int changed;       /* moved or added by an exception */
    const char *reason; /* from the exception, may be NULL */
    size_t reason_len;
    int cancelled;     /* only from cal_occurrences_ex(with_cancelled): date == original */
} cal_occurrence_t;

/* Does the round's schedule (without exceptions) include day? */
int cal_round_collects(const cal_round_t *r, int day);
/* The round's first scheduled day >= day (ignoring validity), never fails. */
int cal_round_next_on_or_after(const cal_round_t *r, int day);

/* Occurrences whose current date is in [from, to], sorted by date, restricted
 * to original dates in [eff_from, eff_to] (the assignment's validity; pass
 * DATE_NONE_LO/HI for none). `own` are the round's exceptions, `star` the `*`
 * ones (`added` is ignored there). Returns how many were written (at most max;
 * the rest are dropped). */
size_t cal_occurrences(const cal_round_t *r, const cal_exception_t *own, size_t n_own,
                       const cal_exception_t *star, size_t n_star, int from, int to,
                       int eff_from, int eff_to, cal_occurrence_t *out, size_t max);

/* The same, and when with_cancelled is non-zero also the cancelled
 * occurrences whose original date is in [from, to] (cancelled = 1,
 * changed = 1), e.g. so a calendar feed can mark them STATUS:CANCELLED. */
size_t cal_occurrences_ex(const cal_round_t *r, const cal_exception_t *own, size_t n_own,
                          const cal_exception_t *star, size_t n_star, int from, int to,
                          int eff_from, int eff_to, int with_cancelled, cal_occurrence_t *out,
                          size_t max);

#endif
