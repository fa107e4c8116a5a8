/* lookup_table.h - the small tables every lookup reads (services, rounds and
 * exceptions), decoded once per import generation into an immutable table
 * that all threads share.
 *
 * Why: each lookup reads ~11 values from these tables; decoding them from
 * LMDB every time cost ~4% of a request. Values from the map must not be
 * kept past their read txn (LMDB's rule: the pages may be reused, and
 * growing the map remaps it), so the table owns copies of everything: no
 * pointer into the map survives the build.
 *
 * Which table a lookup gets is decided by the generation stored in the
 * lookup's own snapshot (store_generation(), bumped by every import in its
 * own txn), never by time or by what another thread saw: a lookup always
 * pairs the table with the snapshot it reads. An import committed by another
 * process shows at the next lookup.
 *
 * Memory: at most one table per thread that looked something up plus the
 * newest published one, each at most LOOKUP_TABLE_MAX_BYTES (8 MiB; a council's
 * tables take ~85 KB for 635 rounds and services); past that bound
 * (or for a snapshot older than the published table) lookup_table_get
 * returns no table and the caller reads LMDB directly.
 */
#ifndef BINDAY_DATA_LOOKUP_TABLE_H
#define BINDAY_DATA_LOOKUP_TABLE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/data/calendar.h"
#include "binday/data/records.h"
#include "binday/data/store.h"

#define LOOKUP_TABLE_MAX_BYTES ((size_t)8 << 20)
#define LOOKUP_TABLE_MAX_EXC 256 /* exceptions kept per round (a few a year in practice) */

typedef struct lookup_table lookup_table_t;

/* The table of txn's snapshot (txn: a read or write txn of s). Returns 0 with
 * *out set - or *out NULL when there is none to use (over the memory bound,
 * txn older than the table other threads use now, or a malformed generation:
 * read the map instead) -
 * or an MDB error from reading the store. Builds the table when this is the
 * first lookup of a new generation, once however many threads ask at a time.
 * The table stays valid on this thread until its next lookup_table_get (or
 * the thread ends); it is read-only and does not depend on txn. */
int lookup_table_get(store_t *s, MDB_txn *txn, const lookup_table_t **out);

/* Finders: 0 and *out filled, MDB_NOTFOUND, or MDB_CORRUPTED when the stored
 * value did not decode. Strings point into the table (valid as long as it). */
int lookup_table_round(const lookup_table_t *t, const char *id, size_t n, cal_round_t *out);
int lookup_table_service(const lookup_table_t *t, const char *id, size_t n, rec_service_t *out);
/* round_id or "*": its exceptions (at most LOOKUP_TABLE_MAX_EXC, stored order). */
int lookup_table_exceptions(const lookup_table_t *t, const char *id, size_t n,
                            const cal_exception_t **out, size_t *n_out);

uint64_t lookup_table_generation(const lookup_table_t *t);
size_t lookup_table_bytes(const lookup_table_t *t);
/* Tables built by this process so far (tests; each build is also logged). */
unsigned long long lookup_table_builds(void);
/* For tests: the bound for tables built afterwards (0 = LOOKUP_TABLE_MAX_BYTES). */
void lookup_table_set_max_bytes(size_t bytes);

#endif
