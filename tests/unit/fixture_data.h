/* fixture_data.h - the fixture council's CSV files (tests/data/fixture/),
 * for C unit tests that need a store with addresses and calendars.
 * Header-only; for tests. */
#ifndef BINDAY_TEST_FIXTURE_DATA_H
#define BINDAY_TEST_FIXTURE_DATA_H

#include <stdio.h>
#include <stdlib.h>

#include "binday/data/import.h"

/* tests/data/fixture/<table>.csv under $BINDAY_ROOT (default "."). */
static inline void fixture_data_path(import_table_t t, char *out, size_t n)
{
    const char *root = getenv("BINDAY_ROOT");
    snprintf(out, n, "%s/tests/data/fixture/%s.csv", root ? root : ".", import_table_name(t));
}

/* All six tables into s, as `binday import` would (at most 50 row errors
 * reported through on_err); import_run's result. */
static inline int fixture_data_import(store_t *s, import_error_fn on_err, char *err, size_t err_size)
{
    char buf[IMPORT_N_TABLES][1024];
    const char *paths[IMPORT_N_TABLES];
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        fixture_data_path((import_table_t)i, buf[i], sizeof(buf[i]));
        paths[i] = buf[i];
    }
    import_report_t rep;
    return import_run(s, paths, 50, on_err, NULL, &rep, err, err_size);
}

#endif
