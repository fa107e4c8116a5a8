/* cmd_bench.c - `binday bench-lookup`: in-process lookup latency (address
 * match + 28 days of collections) over a real data environment, for
 * bench/data_bench.sh. Queries are built from stored properties the way a
 * resident would type them ("12 High Street", lowercase postcode without a
 * space), spread evenly over the address table. The first pass warms the
 * page cache and builds the small tables' shared copy (lookup_table.h); the
 * second is timed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "binday/util/date.h"
#include "binday/data/lookup.h"
#include "binday/data/lookup_table.h"
#include "binday/data/records.h"
#include "binday/data/store.h"
#include "binday/util/xalloc.h"

typedef struct query {
    char line1[160], line2[80], pc[16];
    unsigned long long uprn;
} query_t;

static int cmp_u64(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

int cmd_bench_lookup(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"n", required_argument, NULL, 'n'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL;
    size_t n = 20000;
    int from = date_today_london(), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'n': n = (size_t)strtoul(optarg, NULL, 10); break;
        case 'f':
            if (date_parse(optarg, strlen(optarg), &from) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            printf("usage: binday bench-lookup --data DIR [--n N] [--from YYYY-MM-DD]\n"
                   "Time N in-process address lookups (match + 28 days); print p50/p99.\n");
            return CLI_EXIT_OK;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || n == 0 || n > 10000000)
        return CLI_EXIT_USAGE;
    char err[512];
    store_t *s;
    if (store_open(data, NULL, 0, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday bench-lookup: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    MDB_env *env = store_env(s);
    MDB_txn *txn;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    MDB_stat st;
    mdb_stat(txn, store_core_dbi(s, STORE_ADDRESSES), &st);
    size_t total = st.ms_entries;
    if (total == 0) {
        fprintf(stderr, "binday bench-lookup: no addresses\n");
        mdb_txn_abort(txn);
        store_close(s);
        return CLI_EXIT_RUNTIME;
    }
    query_t *q = xcalloc(n, sizeof(*q));
    size_t nq = 0, step = total / n ? total / n : 1, i = 0;
    MDB_cursor *cur;
    mdb_cursor_open(txn, store_core_dbi(s, STORE_ADDRESSES), &cur);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && nq < n;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++) {
        if (i % step)
            continue;
        rec_property_t p;
        if (rec_decode_property(v.mv_data, v.mv_size, &p))
            continue;
        query_t *x = &q[nq++];
        x->uprn = p.uprn;
        if (p.saon.p)
            snprintf(x->line2, sizeof(x->line2), "%.*s", (int)p.saon.n, p.saon.p);
        snprintf(x->line1, sizeof(x->line1), "%.*s %.*s", (int)p.paon.n, p.paon.p, (int)p.street.n,
                 p.street.p);
        size_t o = 0;
        for (uint32_t j = 0; j < p.postcode.n && o < sizeof(x->pc) - 1; j++)
            if (p.postcode.p[j] != ' ')
                x->pc[o++] = (char)(p.postcode.p[j] | 0x20);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = xmalloc(sizeof(*res));
    unsigned long long *ns = xcalloc(nq ? nq : 1, sizeof(*ns));
    size_t exact = 0, wrong = 0, colls = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 warms the page cache */
        for (size_t j = 0; j < nq; j++) {
            addrmatch_input_t in;
            memset(&in, 0, sizeof(in));
            in.line[0] = (const uint8_t *)q[j].line1;
            in.line_len[0] = strlen(q[j].line1);
            if (q[j].line2[0]) {
                in.line[1] = (const uint8_t *)q[j].line2;
                in.line_len[1] = strlen(q[j].line2);
            }
            in.postcode = (const uint8_t *)q[j].pc;
            in.postcode_len = strlen(q[j].pc);
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            lookup_address(r, &in, from, 28, res, err, sizeof(err));
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (pass == 1) {
                ns[j] = (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
                                             (t1.tv_nsec - t0.tv_nsec));
                exact += (res->match == AM_EXACT || res->match == AM_BUILDING) && res->uprn == q[j].uprn;
                wrong += (res->match == AM_EXACT || res->match == AM_BUILDING) &&
                         res->uprn != q[j].uprn;
                colls += res->n_collections;
            }
        }
    }
    qsort(ns, nq, sizeof(*ns), cmp_u64);
    double sum = 0;
    for (size_t j = 0; j < nq; j++)
        sum += (double)ns[j];
    printf("lookups: %zu over %zu properties\n", nq, total);
    printf("lookup p50: %.1f us\n", (double)ns[nq / 2] / 1000.0);
    printf("lookup p99: %.1f us\n", (double)ns[nq * 99 / 100] / 1000.0);
    printf("lookup mean: %.1f us\n", sum / (double)nq / 1000.0);
    printf("typed addresses matched to their own UPRN (exact or building): %.2f%% (%zu of %zu)\n",
           100.0 * (double)exact / (double)nq, exact, nq);
    printf("typed addresses matched to another UPRN (wrong): %zu\n", wrong);
    printf("collections per lookup (28 days): %.1f\n", (double)colls / (double)nq);
    /* the small tables' decoded copy the lookups shared (lookup_table.h) */
    const lookup_table_t *t = NULL;
    if (store_reader_begin(r, &txn, err, sizeof(err)) == 0) {
        if (lookup_table_get(s, txn, &t) != 0)
            t = NULL;
        store_reader_end(r);
    }
    if (t)
        printf("small tables: generation %llu, %zu bytes, built %llu time(s)\n",
               (unsigned long long)lookup_table_generation(t), lookup_table_bytes(t),
               lookup_table_builds());
    else
        printf("small tables: none (read from the map)\n");
    free(ns);
    free(res);
    free(q);
    store_reader_free(r);
    store_close(s);
    return CLI_EXIT_OK;
}
