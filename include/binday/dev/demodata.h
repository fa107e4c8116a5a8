/* demodata.h - deterministic synthetic Breckland-like data for demos, tests
 * and benchmarks: the six import CSV files. Same options => same bytes.
 */
#ifndef BINDAY_DEMODATA_H
#define BINDAY_DEMODATA_H

#include <stddef.h>
#include <stdint.h>

typedef struct demodata_opts {
    size_t properties; /* approximate number of address rows */
    uint64_t seed;
    int year;          /* calendar year the data is built around */
} demodata_opts_t;

typedef struct demodata_stats {
    size_t rows[6]; /* addresses, services, rounds, assignments, exceptions, notices */
} demodata_stats_t;

/* Write addresses.csv ... notices.csv, and materials.csv (data/materials.csv
 * as compiled in), into dir (created if missing).
 * Returns 0, or -1 with a message in err. */
int demodata_write(const char *dir, const demodata_opts_t *o, demodata_stats_t *st, char *err,
                   size_t err_size);

/* The default materials table (data/materials.csv): static bytes, not
 * NUL-counted in *len. */
const char *demodata_materials_csv(size_t *len);

#endif
