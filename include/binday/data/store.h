/* store.h - the process's one LMDB environment and its named databases.
 *
 * Open once per process with store_open(); every module that keeps data in
 * LMDB lists its named databases (DBIs) in the `extra` argument so that all
 * handles are opened once, at start, in a committed transaction (LMDB forgets
 * handles opened in an aborted txn). Afterwards look handles up by name with
 * store_dbi(); they are valid until store_close().
 *
 * Writers use store_write(): it runs the caller's function in a write txn and,
 * when LMDB reports MDB_MAP_FULL, aborts, doubles the map and runs it again -
 * so the function must be repeatable (derive everything from its inputs).
 *
 * Readers (one store_reader_t per thread) reuse a single read txn with
 * mdb_txn_reset/renew, so each begin sees the newest committed data, including
 * an import committed by another process a moment ago. A process-wide rwlock
 * lets a writer in this process resize the map (and a reader adopt a map grown
 * by another process, MDB_MAP_RESIZED) while no read txn of this process is
 * active; readers hold it only between begin and end, keep that short.
 */
#ifndef BINDAY_STORE_H
#define BINDAY_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1

/* The databases owned by the data side (store.c opens them always). */
typedef enum {
    STORE_META = 0,    /* "schema_version", "imported_at", "generation" (store_generation), counts */
    STORE_ADDRESSES,   /* uprn (8-byte big-endian) -> property record */
    STORE_POSTCODES,   /* normalised postcode -> its property records (rec_next_property) */
    STORE_SERVICES,    /* service_id -> service record */
    STORE_ROUNDS,      /* round_id -> round record */
    STORE_ASSIGNMENTS, /* uprn (8-byte BE) -> that property's assignments */
    STORE_EXCEPTIONS,  /* round_id or "*" -> that round's exceptions */
    STORE_NOTICES,     /* notice_id -> notice record */
    STORE_MATERIALS,   /* material id (slug) -> material record (materials.h) */
    STORE_N_CORE
} store_table_t;

typedef struct store_dbi_def {
    const char *name;   /* <= 63 bytes; must not clash with the core names */
    unsigned int flags; /* MDB_DUPSORT, MDB_INTEGERKEY... (MDB_CREATE is implied) */
} store_dbi_def_t;

typedef struct store store_t;

/* Open (creating DIR with mode 0700 and the databases if missing) the
 * environment at dir, clear stale reader slots, open the core DBIs and the
 * `extra` ones, and check the schema version (a newer one is refused with a
 * message naming both versions). Returns 0, or -1 with a message in err. */
int store_open(const char *dir, const store_dbi_def_t *extra, size_t n_extra, store_t **out,
               char *err, size_t err_size);
void store_close(store_t *s);
/* For tests: the initial map size of environments opened afterwards
 * (0 = default, 256 MiB or twice the data file). */
void store_set_initial_mapsize(size_t bytes);

/* Unique to this store_open in this process (never reused, unlike the
 * store_t's address after a close and an open), for caches derived from one
 * environment's data that must not be taken for another's. */
uint64_t store_instance_id(const store_t *s);

/* The import generation: a counter in `meta` ("generation", decimal text; 0
 * when never imported) that goes up by one in every write transaction that
 * changes `services`, `rounds` or `exceptions` (today only import's), in that
 * same transaction. So within one environment, two snapshots with the same
 * generation hold the same small tables: lookup_table.c keys its decoded
 * copy by it. store_generation reads it in the caller's txn (read or write):
 * 0 and *gen set, or an MDB error. store_generation_bump writes it + 1 in a
 * write txn (*gen = the new value): 0 or an MDB error (MDB_MAP_FULL too). */
int store_generation(const store_t *s, MDB_txn *txn, uint64_t *gen);
int store_generation_bump(const store_t *s, MDB_txn *txn, uint64_t *gen);

MDB_env *store_env(store_t *s);
MDB_dbi store_core_dbi(const store_t *s, store_table_t t);
/* Handle of a core or extra DBI by name: 0 ok, -1 unknown name. */
int store_dbi(const store_t *s, const char *name, MDB_dbi *out);

/* A write: fn(txn, ud, err, err_size) returns 0 to commit, MDB_MAP_FULL (or
 * any MDB error) to abort, or any other non-zero value to abort and have
 * store_write return it unchanged (e.g. "input rejected"). MDB_MAP_FULL from
 * fn or from commit makes store_write grow the map and call fn again.
 * Returns 0 after a commit; an MDB error code (message in err); or fn's value. */
typedef int (*store_write_fn)(MDB_txn *txn, void *ud, char *err, size_t err_size);
int store_write(store_t *s, store_write_fn fn, void *ud, char *err, size_t err_size);

/* Per-thread reader. Not thread-safe itself; create one per thread. */
typedef struct store_reader store_reader_t;
store_reader_t *store_reader_new(store_t *s); /* NULL on OOM */
void store_reader_free(store_reader_t *r);
/* Start reading the newest committed snapshot. 0 and *txn set, or an MDB
 * error (message in err). Pair with store_reader_end. */
int store_reader_begin(store_reader_t *r, MDB_txn **txn, char *err, size_t err_size);
void store_reader_end(store_reader_t *r);
store_t *store_reader_store(store_reader_t *r);

/* Compacting hot copy of the environment to one file (written to a temp file
 * beside it, fsynced, then renamed). 0, or -1 with a message. */
int store_backup(store_t *s, const char *out_path, char *err, size_t err_size);

/* 8-byte big-endian key of a uprn, so keys sort numerically. */
void store_uprn_key(unsigned long long uprn, unsigned char key[8]);
unsigned long long store_uprn_from_key(const unsigned char key[8]);

#endif
