/* test_lookup_memo.c - lookups remember the small tables (rounds, services,
 * exceptions) per snapshot: a commit between two lookups on the same thread
 * must show at once, through the same reader, with nothing stale; and a
 * remap of the map (growth) must not leave the memo pointing into the old
 * mapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/util/date.h"
#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "binday/data/store.h"
#include "fixture_data.h"
#include "tap.h"

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    printf("# import: %s\n", msg);
}

static char dir[64];

/* A write that runs out of map once (store_write grows the map, remapping
 * it) and then gives up: the map moved, and no commit changed the txn id. */
static int full_then_fail(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    (void)txn;
    int *calls = ud;
    if ((*calls)++ == 0)
        return MDB_MAP_FULL;
    snprintf(err, err_size, "giving up on purpose");
    return MDB_NOTFOUND;
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
    const char *paths[IMPORT_N_TABLES] = {NULL};
    paths[t] = path;
    import_report_t rep;
    char err[256];
    int rc = import_run(s, paths, 10, on_err, NULL, &rep, err, sizeof(err));
    if (rc != 0)
        printf("# import %s: %s\n", import_table_name(t), err);
    return rc;
}

/* The first refuse collection's date and its service name, or date -1. */
static int first_refuse(lookup_result_t *res, char *name, size_t n)
{
    for (size_t i = 0; i < res->n_collections; i++) {
        lookup_collection_t *c = &res->collections[i];
        if (c->service_id.n == 6 && memcmp(c->service_id.p, "refuse", 6) == 0) {
            snprintf(name, n, "%.*s", (int)c->name.n, c->name.p);
            return c->date;
        }
    }
    return -1;
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/binday-memo-XXXXXX");
    ok(mkdtemp(dir) != NULL, "temp dir");
    char err[512];
    store_t *s;
    ok(store_open(dir, NULL, 0, &s, err, sizeof(err)) == 0, "store_open %s", err);
    is_int(fixture_data_import(s, on_err, err, sizeof(err)), 0, "fixture imports");

    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = malloc(sizeof(*res));
    int from = date_from_ymd(2026, 3, 2);
    char name[64] = "";
    ok(lookup_uprn(r, 100097000000ull, from, 28, res, err, sizeof(err)) == 0, "lookup %s", err);
    int d = first_refuse(res, name, sizeof(name));
    ok(d >= from && strcmp(name, "Household rubbish") == 0, "a refuse collection (%s)", name);
    /* the same lookup again: served from the memo, the same answer */
    char name2[64] = "";
    ok(lookup_uprn(r, 100097000000ull, from, 28, res, err, sizeof(err)) == 0 && first_refuse(res, name2, sizeof(name2)) == d &&
           strcmp(name2, name) == 0,
       "a second lookup in the same snapshot: the same answer");

    /* staff cancel that collection and rename the service: the next lookup
     * on this thread must see both */
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    char csv[256];
    snprintf(csv, sizeof(csv), "round_id,action,original_date,new_date,reason\nREF-WED-1,cancelled,%04d-%02d-%02d,,strike\n", y, m,
             dd);
    ok(import_one(s, IMPORT_EXCEPTIONS, csv) == 0, "exception imported");
    ok(lookup_uprn(r, 100097000000ull, from, 28, res, err, sizeof(err)) == 0, "lookup after the commit");
    ok(first_refuse(res, name, sizeof(name)) > d, "the cancelled collection is gone at once");
    /* the fixture's services with refuse renamed (an import replaces the table) */
    static char svc[16384];
    char svc_path[1024];
    fixture_data_path(IMPORT_SERVICES, svc_path, sizeof(svc_path));
    FILE *f = fopen(svc_path, "r");
    size_t sl = f ? fread(svc, 1, sizeof(svc) - 1, f) : 0;
    if (f)
        fclose(f);
    svc[sl] = 0;
    static char renamed[16384 + 16];
    const char *old = "refuse,Household rubbish,";
    char *at = strstr(svc, old);
    if (at)
        snprintf(renamed, sizeof(renamed), "%.*srefuse,General waste,%s", (int)(at - svc), svc, at + strlen(old));
    ok(at != NULL && import_one(s, IMPORT_SERVICES, renamed) == 0, "service renamed");
    ok(lookup_uprn(r, 100097000000ull, from, 28, res, err, sizeof(err)) == 0 && first_refuse(res, name, sizeof(name)) > d &&
           strcmp(name, "General waste") == 0,
       "the new name shows at once (%s)", name);

    /* the map is remapped with no commit in between: the memo must not hand
     * out pointers into the old mapping (it did, and make bench crashed) */
    uint64_t g0 = store_map_generation(s);
    int calls = 0;
    store_write(s, full_then_fail, &calls, err, sizeof(err));
    ok(calls == 2 && store_map_generation(s) == g0 + 1, "the map was grown (remapped) without a commit");
    for (int i = 0; i < 3; i++)
        (void)store_write(s, full_then_fail, &(int){0}, err, sizeof(err)); /* more remaps: the old maps go */
    ok(lookup_uprn(r, 100097000000ull, from, 28, res, err, sizeof(err)) == 0 && first_refuse(res, name, sizeof(name)) > d &&
           strcmp(name, "General waste") == 0,
       "a lookup after the remaps reads the new mapping (%s)", name);

    free(res);
    store_reader_free(r);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleaned up");
    return done_testing();
}
