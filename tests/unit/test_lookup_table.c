/* test_lookup_table.c - lookups read the small tables (services, rounds,
 * exceptions) from a decoded table per import generation (lookup_table.c):
 * - an import committed between two lookups shows at the next one, through
 *   the same reader, whether this process or another committed it;
 * - the table is built lazily, once per generation even when threads ask at
 *   the same moment, and every lookup agrees with its own snapshot while
 *   imports commit under it;
 * - a read txn older than the published table reads its own snapshot;
 * - over the memory bound, lookups read the map and still answer right;
 * - growing (remapping) the map with no commit in between, in this process
 *   or in another, leaves nothing pointing into the old mapping (the memo
 *   this replaced handed such pointers out and `make bench` crashed; under
 *   ASan this case is the regression test).
 *
 * `test_lookup_table child-import DIR CSV FILLER_MB` is the other process:
 * it grows the map, writes FILLER_MB MiB so the file outgrows the parent's
 * map, and imports CSV as the exceptions table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "binday/data/lookup_table.h"
#include "binday/data/store.h"
#include "binday/util/date.h"
#include "binday/util/xalloc.h"
#include "fixture_data.h"
#include "tap.h"

#define UPRN 100097000000ull
#define DAYS 56 /* a fortnightly round collects 4 times, so two can be cancelled */

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    printf("# import: %s\n", msg);
}

static char dir[64];

/* A write that runs out of map once (store_write grows the map, remapping
 * it) and then gives up: the map moved, and nothing was committed. */
static int full_then_fail(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    (void)txn;
    int *calls = ud;
    if ((*calls)++ == 0)
        return MDB_MAP_FULL;
    snprintf(err, err_size, "giving up on purpose");
    return MDB_NOTFOUND;
}

static int import_file(store_t *s, import_table_t t, const char *path)
{
    const char *paths[IMPORT_N_TABLES] = {NULL};
    paths[t] = path;
    import_report_t rep;
    char err[256];
    int rc = import_run(s, paths, 10, on_err, NULL, &rep, err, sizeof(err));
    if (rc != 0)
        printf("# import %s: %s\n", import_table_name(t), err);
    return rc;
}

static int import_one(store_t *s, import_table_t t, const char *csv)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s.csv", dir, import_table_name(t));
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(csv, f);
    fclose(f);
    return import_file(s, t, path);
}

/* The fixture's services with refuse's name replaced (an import replaces
 * the whole table). */
static int import_services_named(store_t *s, const char *name)
{
    static char svc[16384], renamed[16384 + 256];
    char svc_path[1024];
    fixture_data_path(IMPORT_SERVICES, svc_path, sizeof(svc_path));
    FILE *f = fopen(svc_path, "r");
    size_t sl = f ? fread(svc, 1, sizeof(svc) - 1, f) : 0;
    if (f)
        fclose(f);
    svc[sl] = 0;
    const char *old = "refuse,Household rubbish,";
    char *at = strstr(svc, old);
    if (at == NULL)
        return -1;
    snprintf(renamed, sizeof(renamed), "%.*srefuse,%s,%s", (int)(at - svc), svc, name,
             at + strlen(old));
    return import_one(s, IMPORT_SERVICES, renamed);
}

/* The first refuse collection's date and its service name, or date -1. */
static int first_refuse(const lookup_result_t *res, char *name, size_t n)
{
    for (size_t i = 0; i < res->n_collections; i++) {
        const lookup_collection_t *c = &res->collections[i];
        if (c->service_id.n == 6 && memcmp(c->service_id.p, "refuse", 6) == 0) {
            snprintf(name, n, "%.*s", (int)c->name.n, c->name.p);
            return c->date;
        }
    }
    return -1;
}

/* refuse's name as stored in txn's snapshot, read from the map directly. */
static int raw_refuse_name(store_t *s, MDB_txn *txn, char *name, size_t n)
{
    MDB_val k = {6, (void *)"refuse"}, v;
    rec_service_t sv;
    if (mdb_get(txn, store_core_dbi(s, STORE_SERVICES), &k, &v) != 0 ||
        rec_decode_service(v.mv_data, v.mv_size, &sv) != 0)
        return -1;
    snprintf(name, n, "%.*s", (int)sv.name.n, sv.name.p);
    return 0;
}

static size_t mapsize(store_t *s)
{
    MDB_envinfo info;
    mdb_env_info(store_env(s), &info);
    return info.me_mapsize;
}

/* An exceptions table cancelling round REF-WED-1 on day a (and b if >= 0). */
static void cancel_csv(int a, int b, char *csv, size_t n)
{
    int y, m, d;
    date_to_ymd(a, &y, &m, &d);
    int o = snprintf(csv, n,
                     "round_id,action,original_date,new_date,reason\n"
                     "REF-WED-1,cancelled,%04d-%02d-%02d,,strike\n",
                     y, m, d);
    if (b >= 0 && o > 0 && (size_t)o < n) {
        date_to_ymd(b, &y, &m, &d);
        snprintf(csv + o, n - (size_t)o, "REF-WED-1,cancelled,%04d-%02d-%02d,,strike\n", y, m, d);
    }
}

/* The generation stored in the newest snapshot (UINT64_MAX on error). */
static uint64_t generation_now(store_t *s, int *rc)
{
    MDB_txn *txn;
    uint64_t g = UINT64_MAX;
    *rc = mdb_txn_begin(store_env(s), NULL, MDB_RDONLY, &txn);
    if (*rc == 0) {
        *rc = store_generation(s, txn, &g);
        mdb_txn_abort(txn);
    }
    return g;
}

static int put_generation(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    (void)err;
    (void)err_size;
    store_t *s = ud;
    MDB_val k = {10, (void *)"generation"}, v = {3, (void *)"12x"};
    return mdb_put(txn, store_core_dbi(s, STORE_META), &k, &v, 0);
}

/* ---- the other process ------------------------------------------------------------- */

static int put_filler(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    (void)err;
    (void)err_size;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "test.filler", MDB_CREATE, &dbi);
    static char blob[65536];
    memset(blob, 'x', sizeof(blob));
    for (int i = 0; i < *(int *)ud * 16 && rc == 0; i++) {
        char key[16];
        int kl = snprintf(key, sizeof(key), "%08d", i);
        MDB_val k = {(size_t)kl, key}, v = {sizeof(blob), blob};
        rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    return rc;
}

static int child_import(const char *d, const char *csv, int filler_mb)
{
    char err[512];
    store_t *s;
    if (store_open(d, NULL, 0, &s, err, sizeof(err)) != 0) {
        printf("# child: %s\n", err);
        return 1;
    }
    int calls = 0, rc = 0;
    store_write(s, full_then_fail, &calls, err, sizeof(err)); /* grows this process's map */
    if (store_write(s, put_filler, &filler_mb, err, sizeof(err)) != 0 ||
        import_file(s, IMPORT_EXCEPTIONS, csv) != 0) {
        printf("# child: %s\n", err);
        rc = 1;
    }
    store_close(s);
    return rc;
}

static int run_child(const char *csv, int filler_mb)
{
    char mb[16];
    snprintf(mb, sizeof(mb), "%d", filler_mb);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_lookup_table", "child-import", dir, csv, mb, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- threads ----------------------------------------------------------------------- */

#define THREADS 4

typedef struct worker {
    store_t *s;
    pthread_barrier_t *start;
    int *stop;          /* set once by main (atomic builtins) */
    int once;           /* one lookup after the barrier, then return */
    long lookups, mismatches, failures;
    char last[64];
} worker_t;

static void *worker(void *ud)
{
    worker_t *w = ud;
    store_reader_t *r = store_reader_new(w->s);
    lookup_result_t *res = xmalloc(sizeof(*res));
    pthread_barrier_wait(w->start);
    do {
        MDB_txn *txn;
        char err[256], raw[64] = "", got[64] = "";
        if (store_reader_begin(r, &txn, err, sizeof(err)) != 0) {
            w->failures++;
            break;
        }
        int from = date_from_ymd(2026, 3, 2);
        if (raw_refuse_name(w->s, txn, raw, sizeof(raw)) != 0 ||
            lookup_uprn_txn(w->s, txn, UPRN, from, DAYS, res, err, sizeof(err)) != 0 ||
            first_refuse(res, got, sizeof(got)) < 0)
            w->failures++;
        else if (strcmp(raw, got) != 0)
            w->mismatches++;
        snprintf(w->last, sizeof(w->last), "%s", got);
        store_reader_end(r);
        w->lookups++;
    } while (!w->once && !__atomic_load_n(w->stop, __ATOMIC_ACQUIRE));
    free(res);
    store_reader_free(r);
    return NULL;
}

/* Starts n workers on s at one barrier; *stop ends them unless once. */
static void run_workers(store_t *s, worker_t *w, int n, int once, int *stop, pthread_t *th,
                        pthread_barrier_t *b)
{
    pthread_barrier_init(b, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = s;
        w[i].start = b;
        w[i].stop = stop;
        w[i].once = once;
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
}

static void join_workers(worker_t *w, int n, pthread_t *th, pthread_barrier_t *b, long *lookups,
                         long *mismatches, long *failures)
{
    *lookups = *mismatches = *failures = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        *lookups += w[i].lookups;
        *mismatches += w[i].mismatches;
        *failures += w[i].failures;
    }
    pthread_barrier_destroy(b);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "child-import") == 0)
        return child_import(argv[2], argv[3], atoi(argv[4]));

    snprintf(dir, sizeof(dir), "/tmp/binday-lktab-XXXXXX");
    ok(mkdtemp(dir) != NULL, "temp dir");
    char err[512];
    store_t *s;
    store_set_initial_mapsize(1 << 20); /* small, so another process's growth exceeds it */
    ok(store_open(dir, NULL, 0, &s, err, sizeof(err)) == 0, "store_open %s", err);
    store_set_initial_mapsize(0);
    int grc;
    ok(generation_now(s, &grc) == 0 && grc == 0, "generation 0 before any import");
    is_int(fixture_data_import(s, on_err, err, sizeof(err)), 0, "fixture imports");
    ok(generation_now(s, &grc) == 1 && grc == 0, "generation 1 after it");

    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = xmalloc(sizeof(*res));
    int from = date_from_ymd(2026, 3, 2);
    char name[64] = "", name2[64] = "";
    unsigned long long b0 = lookup_table_builds();
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0, "lookup %s", err);
    int d = first_refuse(res, name, sizeof(name));
    ok(d >= from && strcmp(name, "Household rubbish") == 0, "a refuse collection (%s)", name);
    is_int(lookup_table_builds(), b0 + 1, "the table was built by the first lookup");
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name2, sizeof(name2)) == d && strcmp(name2, name) == 0,
       "a second lookup in the same generation: the same answer");
    is_int(lookup_table_builds(), b0 + 1, "... from the same table");

    /* staff cancel that collection and rename the service: the next lookup
     * on this thread must see both */
    char csv[512];
    cancel_csv(d, -1, csv, sizeof(csv));
    ok(import_one(s, IMPORT_EXCEPTIONS, csv) == 0, "exception imported");
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0, "lookup after the commit");
    int d2 = first_refuse(res, name, sizeof(name));
    ok(d2 > d, "the cancelled collection is gone at once");
    is_int(lookup_table_builds(), b0 + 2, "a new generation, a new table");
    ok(import_services_named(s, "General waste") == 0, "service renamed");
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d2 && strcmp(name, "General waste") == 0,
       "the new name shows at once (%s)", name);

    /* the map is remapped with no commit in between: nothing may point into
     * the old mapping (the memo did, and make bench crashed) */
    size_t m0 = mapsize(s);
    int calls = 0;
    store_write(s, full_then_fail, &calls, err, sizeof(err));
    ok(calls == 2 && mapsize(s) == 2 * m0, "the map was grown (remapped) without a commit");
    for (int i = 0; i < 3; i++) /* more remaps: the old mappings go */
        (void)store_write(s, full_then_fail, &(int){0}, err, sizeof(err));
    unsigned long long b1 = lookup_table_builds();
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d2 && strcmp(name, "General waste") == 0,
       "a lookup after the remaps answers right (%s)", name);
    is_int(lookup_table_builds(), b1, "from the table built before them: it owns its data");

    /* another process grows the file beyond this process's map and cancels
     * the next collection: shown at the next lookup, on the same reader */
    size_t m1 = mapsize(s);
    char path[128];
    snprintf(path, sizeof(path), "%s/child-exceptions.csv", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        cancel_csv(d, d2, csv, sizeof(csv));
        fputs(csv, f);
        fclose(f);
    }
    int filler_mb = (int)(m1 >> 20) + 1;
    is_int(run_child(path, filler_mb), 0, "another process imported (after writing %d MiB)",
           filler_mb);
    err[0] = '\0';
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0, "lookup after it %s", err);
    ok(mapsize(s) > m1, "this process adopted the larger map (%zu -> %zu)", m1, mapsize(s));
    int d3 = first_refuse(res, name, sizeof(name));
    ok(d3 > d2 && strcmp(name, "General waste") == 0,
       "the other process's cancellation shows at once (%d > %d, %s)", d3, d2, name);

    /* a read txn begun before an import reads its own snapshot, even after
     * other lookups moved the shared table on */
    MDB_txn *old;
    ok(mdb_txn_begin(store_env(s), NULL, MDB_RDONLY, &old) == 0, "an old read txn");
    ok(import_services_named(s, "Black bag") == 0, "service renamed again");
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d3 && strcmp(name, "Black bag") == 0,
       "a new lookup: the new name (%s)", name);
    ok(lookup_uprn_txn(s, old, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d3 && strcmp(name, "General waste") == 0,
       "the old txn: its own snapshot's name (%s)", name);
    mdb_txn_abort(old);

    /* over the memory bound: no table, lookups read the map */
    lookup_table_set_max_bytes(512);
    ok(import_services_named(s, "Residual waste") == 0, "service renamed, table over its bound");
    unsigned long long b2 = lookup_table_builds();
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d3 && strcmp(name, "Residual waste") == 0,
       "the lookup reads the map and answers right (%s)", name);
    is_int(lookup_table_builds(), b2, "no table built");
    lookup_table_set_max_bytes(0);

    /* threads: after an import, four threads look up at the same moment:
     * one build; then lookups agree with their own snapshot while imports
     * commit under them */
    pthread_t th[THREADS];
    worker_t w[THREADS];
    pthread_barrier_t bar;
    int stop = 0;
    long n, bad, failed;
    ok(import_services_named(s, "Rubbish 0") == 0, "service renamed");
    unsigned long long b3 = lookup_table_builds();
    run_workers(s, w, THREADS, 1, &stop, th, &bar);
    join_workers(w, THREADS, th, &bar, &n, &bad, &failed);
    ok(n == THREADS && bad == 0 && failed == 0 && strcmp(w[0].last, "Rubbish 0") == 0,
       "%d threads at once: right answers (%ld lookups, %ld wrong, %ld failed)", THREADS, n, bad,
       failed);
    is_int(lookup_table_builds(), b3 + 1, "one table built for them all");

    b3 = lookup_table_builds();
    run_workers(s, w, THREADS, 0, &stop, th, &bar);
    int imports = 0;
    for (int i = 1; i <= 6; i++) {
        char nm[32];
        snprintf(nm, sizeof(nm), "Rubbish %d", i);
        imports += import_services_named(s, nm) == 0;
        usleep(20000);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    join_workers(w, THREADS, th, &bar, &n, &bad, &failed);
    is_int(imports, 6, "six imports while the threads looked up");
    ok(n > THREADS && bad == 0 && failed == 0,
       "every lookup agreed with its own snapshot (%ld lookups, %ld wrong, %ld failed)", n, bad,
       failed);
    ok(lookup_table_builds() - b3 <= 6, "at most one table per generation (%llu built)",
       lookup_table_builds() - b3);
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d3 && strcmp(name, "Rubbish 6") == 0,
       "and afterwards the last import's name (%s)", name);

    /* a generation this code did not write: no table can be known to match,
     * so lookups read the map (and answer right); an import refuses to count on */
    uint64_t g = generation_now(s, &grc);
    ok(g > 8 && grc == 0, "one generation per import so far (%llu)", (unsigned long long)g);
    ok(store_write(s, put_generation, s, err, sizeof(err)) == 0, "generation overwritten");
    generation_now(s, &grc);
    is_int(grc, MDB_CORRUPTED, "a malformed generation reads as corrupt");
    unsigned long long b4 = lookup_table_builds();
    ok(lookup_uprn(r, UPRN, from, DAYS, res, err, sizeof(err)) == 0 &&
           first_refuse(res, name, sizeof(name)) == d3 && strcmp(name, "Rubbish 6") == 0,
       "a lookup reads the map and answers right (%s)", name);
    is_int(lookup_table_builds(), b4, "no table built");
    ok(import_services_named(s, "Never") != 0, "an import refuses to bump it");

    free(res);
    store_reader_free(r);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleaned up");
    return done_testing();
}
