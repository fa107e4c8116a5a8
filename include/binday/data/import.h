/* import.h - `binday import`: validate CSV files and replace tables atomically.
 *
 * All files of one call are parsed, checked against each other and against the
 * data already stored, and written in ONE write transaction; on any problem
 * nothing is written. Problems are reported as "FILE:LINE: message" through
 * the caller's callback (rows loaded from the store for cross-checks are named
 * "stored:TABLE" with their ordinal as LINE).
 */
#ifndef BINDAY_IMPORT_H
#define BINDAY_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/store.h"

typedef enum {
    IMPORT_ADDRESSES = 0,
    IMPORT_SERVICES,
    IMPORT_ROUNDS,
    IMPORT_ASSIGNMENTS,
    IMPORT_EXCEPTIONS,
    IMPORT_NOTICES,
    IMPORT_MATERIALS, /* optional: "what goes in which bin?" (materials.h) */
    IMPORT_N_TABLES
} import_table_t;

/* "addresses", "services", ... */
const char *import_table_name(import_table_t t);

typedef struct import_report {
    size_t rows[IMPORT_N_TABLES]; /* data rows read per given file */
    size_t n_errors;              /* problems found (reported: at most max_errors) */
} import_report_t;

/* Called once per problem, in file order; `msg` is "FILE:LINE: text". */
typedef void (*import_error_fn)(const char *msg, void *ud);

#define IMPORT_REJECTED 3 /* return value when validation found problems */

/* paths[t] = file for table t, or NULL to keep the stored table.
 * Returns 0 (committed), IMPORT_REJECTED (nothing changed), or -1 on a runtime
 * failure (message in err; nothing changed). */
int import_run(store_t *s, const char *const paths[IMPORT_N_TABLES], size_t max_errors,
               import_error_fn on_error, void *ud, import_report_t *report, char *err,
               size_t err_size);

/* Check one table's CSV bytes on their own (syntax, columns, field formats,
 * duplicates within the file; no references, no store). Pure: for fuzzing
 * and for tools that pre-check a file. Returns the number of problems; *rows
 * (may be NULL) gets the number of valid rows. */
size_t import_check_buffer(import_table_t t, const char *label, const uint8_t *data, size_t len,
                           size_t max_errors, import_error_fn on_error, void *ud, size_t *rows);

/* ---- jobs: an import of CSV bytes inside the caller's transaction ----
 * What the staff console's edits and uploads use (staff/edit.c), so they go
 * through exactly the parsing, checks, messages and writing of import_run:
 *   j = import_job_new(store, max_errors);
 *   import_job_add(j, table, "label", bytes, len);   (each table at most once;
 *                                                     bytes are copied)
 *   import_job_run(j, txn, write, ...)   in a read txn (check only) or in a
 *       store_write txn (write = 1: check, then replace the given tables and
 *       bump store_generation, in that txn). Repeatable: a MAP_FULL retry or
 *       a preview followed by a write may run it again.
 *   import_job_errors(j, &msgs)           "FILE:LINE: message" of the parse
 *       and of the last run, in order (at most max_errors kept)
 *   import_job_diff(j, txn, diff)         rows added/changed/removed per table
 *   import_job_free(j)
 * A job is used by one thread at a time. */
typedef struct import_job import_job_t;

typedef struct import_diff {
    size_t added, changed, removed, unchanged;
    int given; /* the job has this table */
} import_diff_t;

import_job_t *import_job_new(store_t *s, size_t max_errors);
/* Parse one table's bytes. Returns the number of problems found in them. */
size_t import_job_add(import_job_t *j, import_table_t t, const char *label, const uint8_t *data, size_t len);
/* 0 (checked; written when write), IMPORT_REJECTED (problems: see
 * import_job_errors; nothing written), -1 (no tables) or an MDB error
 * (MDB_MAP_FULL included; message in err). */
int import_job_run(import_job_t *j, MDB_txn *txn, int write, char *err, size_t err_size);
/* The messages: valid until the next run or free. Returns how many. */
size_t import_job_errors(const import_job_t *j, const char *const **msgs);
/* Problems found in all (also those past max_errors). */
size_t import_job_error_total(const import_job_t *j);
/* Valid rows of a given table. */
size_t import_job_rows(const import_job_t *j, import_table_t t);
/* Compare the given tables with the stored ones in txn: row identity is the
 * key (uprn, id), (uprn, service, valid_from) for assignments and (round,
 * date) for exceptions; "changed" = same identity, other values. 0 or an
 * MDB error. */
int import_job_diff(import_job_t *j, MDB_txn *txn, import_diff_t diff[IMPORT_N_TABLES]);
void import_job_free(import_job_t *j); /* NULL is a no-op */

#endif
