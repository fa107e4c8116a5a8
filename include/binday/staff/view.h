/* view.h - what viewers and the editors' forms read: property search, one
 * property's collections, notices and calendar-feed link, and the lists the
 * edit forms offer (rounds, services, exceptions, notices, bank-holiday
 * proposals).
 *
 * A staff_view_t is one thread's reader (a store_reader_t and a lookup
 * scratch of ~100 KB): create one per thread (e.g. per event loop) and
 * reuse it. Every call takes a fresh snapshot, so it sees an edit the moment
 * it commits. Everything returned is copied out (owned by the result), valid
 * after the call until freed or until the next call on the same view, as
 * each function says.
 *
 * Reuse: search is data/lookup + addrmatch (the skill's matching),
 * calendars are data/lookup's (calendar.c + exceptions, cancelled ones
 * marked as in the calendar feed), the feed link is feed/calfeed's token.
 */
#ifndef BINDAY_STAFF_VIEW_H
#define BINDAY_STAFF_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "binday/staff/staff.h"

#define STAFF_VIEW_DAYS_BACK 28   /* 4 weeks back ... */
#define STAFF_VIEW_DAYS_AHEAD 84  /* ... to 12 weeks ahead */
#define STAFF_SEARCH_MAX 50       /* properties returned by one search at most */
#define STAFF_ADDR_MAX 400
#define STAFF_ID_MAX 64
#define STAFF_TEXT_MAX 1000

typedef struct staff_view staff_view_t;

staff_view_t *staff_view_new(staff_t *st); /* NULL on OOM */
void staff_view_free(staff_view_t *v);     /* NULL is a no-op */

/* ---- search ---- */

typedef enum { STAFF_Q_UPRN = 1, STAFF_Q_POSTCODE, STAFF_Q_ADDRESS } staff_query_kind_t;

typedef struct staff_hit {
    uint64_t uprn;
    char address[STAFF_ADDR_MAX]; /* one line, "Flat 1, 2 High Street, Town, NR19 1EE" */
} staff_hit_t;

typedef struct staff_search {
    staff_query_kind_t kind;  /* how the query was read */
    staff_hit_t hits[STAFF_SEARCH_MAX];
    size_t n_hits;
    int truncated;            /* more matched than fit */
} staff_search_t;

/* Search by what the query looks like: 1-12 digits = a UPRN; a valid
 * postcode = every property of it (sorted as stored); anything else =
 * address words (case-insensitive, each a whole word of the formatted
 * address). A postcode at the end of the words ("12 high street nr19 1aa")
 * narrows the search to that postcode; without one every property is
 * scanned (~60,000 in the demo district), which needs a word of 3 or more
 * letters. 0 (out filled, n_hits may be 0; truncated after
 * STAFF_SEARCH_MAX), STAFF_REJECTED (empty, overlong, or only short words;
 * a hint in err), STAFF_ERROR. */
int staff_search(staff_view_t *v, const char *q, size_t q_len, staff_search_t *out, char *err,
                 size_t err_size);

/* ---- one property ---- */

typedef struct staff_collection {
    int date;                     /* the day it happens (cancelled: the day it would have) */
    int original;                 /* == date unless moved */
    int moved, added, cancelled;  /* at most one is set */
    char service_id[STAFF_ID_MAX + 1];
    char service_name[128];
    char colour[64];
    char reason[STAFF_TEXT_MAX + 1]; /* "" when none */
} staff_collection_t;

typedef struct staff_notice {
    char notice_id[STAFF_ID_MAX + 1];
    char scope[STAFF_ID_MAX + 16];
    char message[STAFF_TEXT_MAX + 1];
    int from, to;
    int in_force;                 /* today within from..to */
} staff_notice_t;

#define STAFF_PROP_MAX_COLLECTIONS 128
#define STAFF_PROP_MAX_NOTICES 16

typedef struct staff_property {
    uint64_t uprn;
    char address[STAFF_ADDR_MAX];
    char postcode[16];
    int from, to;                 /* the window shown: today - 28 .. today + 84 */
    staff_collection_t collections[STAFF_PROP_MAX_COLLECTIONS]; /* by date, service */
    size_t n_collections;
    int truncated;
    staff_notice_t notices[STAFF_PROP_MAX_NOTICES]; /* this property's, overlapping the window;
                                                      in_force: in force today */
    size_t n_notices;
    char feed_path[64];           /* "/calendar/TOKEN.ics" */
    char feed_url[1024];          /* https link (public_url + path), "" without public_url */
    char feed_webcal[1024];       /* webcal:// link, "" without public_url */
} staff_property_t;

/* The property's calendar around `today` (days since epoch; pass
 * date_today_london()). out is large (~180 KB): allocate it once. 0,
 * STAFF_NOT_FOUND, STAFF_ERROR. */
int staff_property_get(staff_view_t *v, uint64_t uprn, int today, staff_property_t *out, char *err,
                       size_t err_size);

/* ---- lists for the edit forms (each malloc'd; caller frees *out) ---- */

typedef struct staff_round_info {
    char round_id[STAFF_ID_MAX + 1];
    char service_id[STAFF_ID_MAX + 1];
    char service_name[128];
    int weekday;                  /* 0 = Monday */
    int interval_weeks;
    size_t properties;            /* properties assigned to it (now) */
} staff_round_info_t;

typedef struct staff_service_info {
    char service_id[STAFF_ID_MAX + 1];
    char name[128];
    char colour[64];
} staff_service_info_t;

typedef struct staff_exception_info {
    char round_id[STAFF_ID_MAX + 1]; /* or "*" */
    int action;                   /* cal_action_t: CAL_MOVED, CAL_CANCELLED, CAL_ADDED */
    int original, new_date;       /* DATE_NONE_* when absent */
    char reason[STAFF_TEXT_MAX + 1];
} staff_exception_info_t;

typedef struct staff_holiday_info {
    int original, new_date;
    char holiday[96];             /* the bank holiday that causes it */
    int accepted;                 /* a `*` exception for `original` is stored */
} staff_holiday_info_t;

/* Rounds with their service and property counts, sorted by id. */
int staff_rounds_list(staff_view_t *v, staff_round_info_t **out, size_t *n, char *err, size_t err_size);
int staff_services_list(staff_view_t *v, staff_service_info_t **out, size_t *n, char *err, size_t err_size);
/* Exceptions with a date (original or new) in [from, to], by date. */
int staff_exceptions_list(staff_view_t *v, int from, int to, staff_exception_info_t **out, size_t *n,
                          char *err, size_t err_size);
/* Every stored notice; in_force relative to today. Sorted by from, id. */
int staff_notices_list(staff_view_t *v, int today, staff_notice_t **out, size_t *n, char *err,
                       size_t err_size);
/* The `binday holidays propose --year` proposals (compiled-in holidays),
 * each marked accepted or not. */
int staff_holidays_list(staff_view_t *v, int year, staff_holiday_info_t **out, size_t *n, char *err,
                        size_t err_size);

#endif
