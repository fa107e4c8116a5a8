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

#endif
