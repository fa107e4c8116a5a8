/* lookup_bench.c - in-process lookup latency for make bench (scenario 4): the
 * skill's question "which property is this, and when are its bins collected
 * in the next 28 days?" (lookup_address: match + collections), on a store
 * filled by `binday import`, one thread, one reused read txn per lookup as the
 * server does.
 *
 * Input: a TSV of Device Address API fields (addressLine1, city, postalCode),
 * taken from the imported addresses. Each address is looked up once for
 * warm-up and then ROUNDS times in a shuffled order; every lookup is timed on
 * its own (CLOCK_MONOTONIC) and p50/p90/p99/p99.9 are printed with the share
 * of exact matches (so a benchmark that silently stops matching is visible).
 *
 * usage: lookup_bench DATA_DIR ADDRESSES_TSV [ROUNDS]
 * output: one line "LOOKUP n=... p50_us=... p99_us=... exact=..." */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/date.h"
#include "binday/log.h"
#include "binday/lookup.h"
#include "binday/store.h"

typedef struct {
    char *line, *city, *pc;
} addr_t;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void fill(addrmatch_input_t *in, const addr_t *a)
{
    memset(in, 0, sizeof(*in));
    in->line[0] = (const uint8_t *)a->line;
    in->line_len[0] = strlen(a->line);
    in->city = (const uint8_t *)a->city;
    in->city_len = strlen(a->city);
    in->postcode = (const uint8_t *)a->pc;
    in->postcode_len = strlen(a->pc);
    in->country = (const uint8_t *)"GB";
    in->country_len = 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lookup_bench DATA_DIR ADDRESSES_TSV [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    log_set_level(LOG_ERROR);
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    size_t n = 0, cap = 1024;
    addr_t *v = malloc(cap * sizeof(*v));
    if (v == NULL)
        abort();
    char buf[1024];
    while (fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL)
            continue;
        *t1 = *t2 = '\0';
        if (n == cap) {
            cap *= 2;
            addr_t *nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL)
                abort();
            v = nv;
        }
        v[n++] = (addr_t){strdup(buf), strdup(t1 + 1), strdup(t2 + 1)};
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "lookup_bench: no addresses in %s\n", argv[2]);
        return 1;
    }
    char err[512];
    store_t *s;
    if (store_open(argv[1], NULL, 0, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "lookup_bench: %s\n", err);
        return 1;
    }
    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = malloc(sizeof(*res));
    size_t total = n * (size_t)rounds;
    double *lat = malloc(total * sizeof(double));
    size_t *order = malloc(n * sizeof(size_t));
    if (r == NULL || res == NULL || lat == NULL || order == NULL)
        abort();
    int today = date_today_london();
    addrmatch_input_t in;
    /* warm-up: every address once (pages into the cache, as on a running server) */
    for (size_t i = 0; i < n; i++) {
        fill(&in, &v[i]);
        if (lookup_address(r, &in, today, 28, res, err, sizeof(err)) != 0) {
            fprintf(stderr, "lookup_bench: %s\n", err);
            return 1;
        }
    }
    size_t k = 0, exact = 0, colls = 0;
    srand(42);
    for (int round = 0; round < rounds; round++) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < n; i++) {
            fill(&in, &v[order[i]]);
            double t0 = now_us();
            int rc = lookup_address(r, &in, today, 28, res, err, sizeof(err));
            lat[k++] = now_us() - t0;
            if (rc != 0) {
                fprintf(stderr, "lookup_bench: %s\n", err);
                return 1;
            }
            exact += res->match == AM_EXACT;
            colls += res->n_collections;
        }
    }
    double sum = 0;
    for (size_t i = 0; i < total; i++)
        sum += lat[i];
    qsort(lat, total, sizeof(double), cmp_double);
    printf("LOOKUP n=%zu addresses=%zu p50_us=%.2f p90_us=%.2f p99_us=%.2f p999_us=%.2f mean_us=%.2f "
           "exact=%.3f collections_per_lookup=%.1f\n",
           total, n, pct(lat, total, 50), pct(lat, total, 90), pct(lat, total, 99), pct(lat, total, 99.9),
           sum / (double)total, (double)exact / (double)total, (double)colls / (double)total);
    for (size_t i = 0; i < n; i++) {
        free(v[i].line);
        free(v[i].city);
        free(v[i].pc);
    }
    free(v);
    free(lat);
    free(order);
    free(res);
    store_reader_free(r);
    store_close(s);
    return 0;
}
