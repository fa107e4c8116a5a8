/* lookup.h - the one question everything asks: which property is this, and
 * when are its bins collected? Used by `binday lookup` and the skill's server
 * threads.
 *
 * A lookup_result_t is large (~100 KB: bounded arrays plus a string arena)
 * and self-contained: every string in it is copied into its own arena, so it
 * stays valid after the read txn ends. Allocate one per thread and reuse it;
 * lookups do not allocate. All reads happen on the caller's store_reader_t
 * (one reused read txn), so a lookup always sees the latest committed import.
 */
#ifndef BINDAY_LOOKUP_H
#define BINDAY_LOOKUP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/data/addrmatch.h"
#include "binday/data/store.h"

#define LOOKUP_MAX_COLLECTIONS 128
#define LOOKUP_MAX_NOTICES 16
#define LOOKUP_MAX_POSTCODE 512 /* properties considered in one postcode */
#define LOOKUP_MAX_DAYS 400
#define LOOKUP_ARENA 32768

typedef struct lookup_collection {
    int date;     /* days since epoch */
    int original; /* == date unless moved */
    int changed;
    rec_str_t service_id, name, colour, spoken_name, reason; /* reason.p NULL = none */
    int subscription;
    int cancelled;          /* only from lookup_uprn_feed_txn: a cancelled occurrence */
    rec_str_t description, link_url; /* the service's; p NULL when absent */
} lookup_collection_t;

typedef struct lookup_candidate {
    uint64_t uprn;
    rec_str_t address;
} lookup_candidate_t;

typedef struct lookup_notice {
    rec_str_t notice_id, message;
    int from, to;
} lookup_notice_t;

typedef struct lookup_result {
    am_kind_t match;
    uint64_t uprn;     /* exact: the property; building: the parent; else 0 */
    rec_str_t address; /* formatted address of uprn (p NULL when none) */
    char postcode[POSTCODE_MAX]; /* normalised input postcode ("" if none) */
    int from, days;
    lookup_candidate_t candidates[AM_MAX_RESULT]; /* ambiguous only */
    size_t n_candidates;
    lookup_collection_t collections[LOOKUP_MAX_COLLECTIONS]; /* by date, service_id */
    size_t n_collections;
    int truncated; /* more collections than fit: the list is the complete
                    * list of the days before next_from (earlier entries are
                    * never dropped for later ones); ask again from next_from */
    int next_from; /* truncated only: first day not (fully) listed */
    lookup_notice_t notices[LOOKUP_MAX_NOTICES];
    size_t n_notices;
    int with_cancelled; /* set by lookup_uprn_feed_txn only */
    /* The properties of the input's postcode as lookup_address_txn read
     * them (n_cands; 0 after any other lookup). Their strings point into the
     * read txn's map: valid only until that txn ends. The skill uses them to
     * ask which flat or which house is the resident's. */
    addrmatch_cand_t cands[LOOKUP_MAX_POSTCODE];
    size_t n_cands;
    /* internal string storage */
    size_t arena_used;
    char arena[LOOKUP_ARENA];
} lookup_result_t;

/* "FLAT 2, 12 HIGH STREET, DEREHAM, NR19 1EE": the property's address as
 * lookup, the console and the skill show it, NUL-terminated in the caller's
 * out (cut to cap - 1 bytes). Returns its length. */
size_t lookup_format_address(const rec_property_t *p, char *out, size_t cap);

/* Match an address and list collections for [from_day, from_day + days - 1]
 * (days clamped to 1..LOOKUP_MAX_DAYS). Returns 0 (res filled, whatever the
 * match outcome) or an MDB error with a message in err. */
int lookup_address(store_reader_t *r, const addrmatch_input_t *in, int from_day, int days,
                   lookup_result_t *res, char *err, size_t err_size);

/* The same for a known property (e.g. a resident's remembered choice).
 * res->match is AM_EXACT, or AM_NONE when the UPRN is no longer stored. */
int lookup_uprn(store_reader_t *r, uint64_t uprn, int from_day, int days, lookup_result_t *res,
                char *err, size_t err_size);

/* Variants running inside a read txn the caller already holds. The small
 * tables come from the shared decoded copy of txn's import generation
 * (lookup_table.h), which this thread keeps a reference to until its next
 * lookup; nothing of txn is kept after the call. */
int lookup_address_txn(store_t *s, MDB_txn *txn, const addrmatch_input_t *in, int from_day,
                       int days, lookup_result_t *res, char *err, size_t err_size);
int lookup_uprn_txn(store_t *s, MDB_txn *txn, uint64_t uprn, int from_day, int days,
                    lookup_result_t *res, char *err, size_t err_size);

/* Do these properties share one collection schedule (the same effective
 * assignments, a flat falling back to its building's)? *uniform = 1 when
 * they all do (and n > 0), 0 when any differs or has none. Returns 0 or an
 * MDB error. */
int lookup_uniform_txn(store_t *s, MDB_txn *txn, const addrmatch_cand_t *c, size_t n, int *uniform);

/* lookup_uprn_txn that also lists cancelled occurrences (cancelled = 1,
 * date = original date), for calendar feeds that mark them STATUS:CANCELLED. */
int lookup_uprn_feed_txn(store_t *s, MDB_txn *txn, uint64_t uprn, int from_day, int days,
                         lookup_result_t *res, char *err, size_t err_size);

/* What is loaded, for /healthz and logs (no personal data). */
typedef struct lookup_dataset_info {
    unsigned long long generation;  /* imports committed so far (0 = never) */
    long long imported_at;          /* unix seconds of the last import, 0 = never */
    size_t addresses, postcodes, rounds, services, notices;
} lookup_dataset_info_t;
int lookup_dataset_info(store_reader_t *r, lookup_dataset_info_t *info, char *err,
                        size_t err_size);

/* The contract's JSON object for `binday lookup --json`. New reference; the
 * caller json_decref()s it. NULL on OOM. */
json_t *lookup_result_json(const lookup_result_t *res);

#endif
