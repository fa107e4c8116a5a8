/* test_store.c - the LMDB store on real environments: schema version, extra
 * DBIs, reused readers seeing commits (also from another process), map growth
 * on MDB_MAP_FULL and MDB_MAP_RESIZED in readers, backup. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binday/data/import.h"
#include "binday/data/store.h"
#include "tap.h"

static char dir[64];

typedef struct kv {
    const char *dbi, *key;
    size_t vlen;
    int count; /* number of keys key0..keyN */
} kv_t;

static int put_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    kv_t *kv = ud;
    MDB_dbi d;
    (void)err;
    (void)err_size;
    if (mdb_dbi_open(txn, kv->dbi, 0, &d))
        return -1;
    char *buf = calloc(1, kv->vlen);
    int rc = 0;
    for (int i = 0; i < kv->count && !rc; i++) {
        char k[64];
        int n = snprintf(k, sizeof(k), "%s%d", kv->key, i);
        memset(buf, 'a' + i % 26, kv->vlen);
        MDB_val key = {(size_t)n, k}, val = {kv->vlen, buf};
        rc = mdb_put(txn, d, &key, &val, 0);
    }
    free(buf);
    return rc;
}

static int reject_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    (void)txn;
    (void)ud;
    snprintf(err, err_size, "rejected");
    return 42;
}

static int has_key(store_reader_t *r, const char *dbi_name, const char *key)
{
    MDB_txn *txn;
    char err[200];
    if (store_reader_begin(r, &txn, err, sizeof(err)) != 0) {
        printf("# reader: %s\n", err);
        return -1;
    }
    MDB_dbi d;
    store_dbi(store_reader_store(r), dbi_name, &d);
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, d, &k, &v);
    store_reader_end(r);
    return rc == 0;
}

/* reader threads hammering the store while the map is grown under them */
typedef struct hammer {
    store_t *s;
    atomic_int *stop;
    long reads, errors;
} hammer_t;

static void *hammer_fn(void *arg)
{
    hammer_t *h = arg;
    store_reader_t *r = store_reader_new(h->s);
    while (!atomic_load(h->stop)) {
        MDB_txn *txn;
        char err[200];
        if (store_reader_begin(r, &txn, err, sizeof(err)) != 0) {
            h->errors++;
            continue;
        }
        MDB_dbi d;
        store_dbi(h->s, "outbox", &d);
        MDB_cursor *cur;
        MDB_val k, v;
        mdb_cursor_open(txn, d, &cur);
        long sum = 0;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            sum += ((const char *)v.mv_data)[v.mv_size - 1]; /* touch the map */
        (void)sum;
        mdb_cursor_close(cur);
        store_reader_end(r);
        h->reads++;
    }
    store_reader_free(r);
    return NULL;
}

int main(void)
{
    char err[512];
    snprintf(dir, sizeof(dir), "/tmp/binday-store-XXXXXX");
    ok(mkdtemp(dir) != NULL, "temp dir");
    char data[128];
    snprintf(data, sizeof(data), "%s/env", dir);

    /* fresh environment, directory created with 0700, extra DBIs */
    store_dbi_def_t extra[] = {{"outbox", 0}, {"privacy", 0}};
    store_t *s;
    is_int(store_open(data, extra, 2, &s, err, sizeof(err)), 0, "open fresh (%s)", err);
    struct stat st;
    ok(stat(data, &st) == 0 && (st.st_mode & 0777) == 0700, "data dir mode 0700");
    MDB_dbi d;
    is_int(store_dbi(s, "outbox", &d), 0, "extra dbi registered");
    is_int(store_dbi(s, "addresses", &d), 0, "core dbi by name");
    is_int(store_dbi(s, "nope", &d), -1, "unknown dbi");

    /* a reader reused across commits sees each commit without reopening */
    store_reader_t *r = store_reader_new(s);
    is_int(has_key(r, "outbox", "k0"), 0, "key absent before write");
    kv_t kv = {"outbox", "k", 10, 1};
    is_int(store_write(s, put_fn, &kv, err, sizeof(err)), 0, "write");
    is_int(has_key(r, "outbox", "k0"), 1, "same reader sees the commit");
    is_int(store_write(s, reject_fn, NULL, err, sizeof(err)), 42, "callback value passed back");

    /* a commit by another process (like `binday import` next to the server) */
    pid_t pid = fork();
    if (pid == 0) {
        store_t *s2;
        if (store_open(data, extra, 2, &s2, err, sizeof(err)) != 0)
            _exit(1);
        kv_t kv2 = {"privacy", "other", 10, 1};
        int rc = store_write(s2, put_fn, &kv2, err, sizeof(err));
        store_close(s2);
        _exit(rc ? 1 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "other process committed");
    is_int(has_key(r, "privacy", "other0"), 1, "reader sees another process's commit");
    /* a real `binday import` committing in another process while this
     * process's reader stays open */
    char svc[160];
    snprintf(svc, sizeof(svc), "%s/services.csv", dir);
    FILE *f = fopen(svc, "w");
    fprintf(f, "service_id,name,colour,spoken_name\nrefuse,Household rubbish,green,green bin\n");
    fclose(f);
    is_int(has_key(r, "services", "refuse"), 0, "no service before the import");
    pid = fork();
    if (pid == 0) {
        store_t *s2;
        if (store_open(data, extra, 2, &s2, err, sizeof(err)) != 0)
            _exit(1);
        const char *paths[IMPORT_N_TABLES] = {NULL, svc, NULL, NULL, NULL, NULL};
        import_report_t rep;
        int rc = import_run(s2, paths, 10, NULL, NULL, &rep, err, sizeof(err));
        store_close(s2);
        _exit(rc ? 1 : 0);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "import committed in another process");
    is_int(has_key(r, "services", "refuse"), 1, "open reader sees the import at once");
    store_reader_free(r);
    store_close(s);

    /* map growth: a 1 MiB map and 4 MB of data */
    char small[128];
    snprintf(small, sizeof(small), "%s/small", dir);
    store_set_initial_mapsize(1 << 20);
    is_int(store_open(small, extra, 2, &s, err, sizeof(err)), 0, "open small map");
    r = store_reader_new(s);
    is_int(has_key(r, "outbox", "big0"), 0, "reader active before growth");
    kv_t big = {"outbox", "big", 4000, 1000};
    is_int(store_write(s, put_fn, &big, err, sizeof(err)), 0, "write 4 MB grows the map (%s)",
           err);
    is_int(has_key(r, "outbox", "big999"), 1, "reader after growth");
    /* another process grows the map further: this process's reader gets
     * MDB_MAP_RESIZED on renew and must adopt the new size */
    pid = fork();
    if (pid == 0) {
        store_t *s2;
        if (store_open(small, extra, 2, &s2, err, sizeof(err)) != 0)
            _exit(1);
        kv_t more = {"privacy", "more", 8000, 2000};
        int rc = store_write(s2, put_fn, &more, err, sizeof(err));
        store_close(s2);
        _exit(rc ? 1 : 0);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "other process grew the map");
    is_int(has_key(r, "privacy", "more1999"), 1, "reader handles MDB_MAP_RESIZED");
    kv_t after = {"outbox", "after", 100, 1};
    is_int(store_write(s, put_fn, &after, err, sizeof(err)), 0, "writer after resize (%s)", err);
    store_reader_free(r);

    /* growth while two threads read: the resize waits for active reads */
    {
        atomic_int stop = 0;
        hammer_t h[2] = {{s, &stop, 0, 0}, {s, &stop, 0, 0}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, hammer_fn, &h[i]);
        int wrc = 0;
        for (int round = 0; round < 6 && !wrc; round++) {
            char pre[32];
            snprintf(pre, sizeof(pre), "grow%d-", round);
            kv_t g = {"outbox", pre, 6000, 800};
            wrc = store_write(s, put_fn, &g, err, sizeof(err));
        }
        atomic_store(&stop, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        is_int(wrc, 0, "writes that grow the map while threads read (%s)", err);
        ok(h[0].reads > 0 && h[1].reads > 0 && h[0].errors == 0 && h[1].errors == 0,
           "reader threads kept reading (%ld, %ld reads)", h[0].reads, h[1].reads);
    }

    /* backup: a compact copy that opens as an environment */
    char bk[160], rest[160];
    snprintf(bk, sizeof(bk), "%s/backup.mdb", dir);
    is_int(store_backup(s, bk, err, sizeof(err)), 0, "backup (%s)", err);
    store_close(s);
    store_set_initial_mapsize(0);
    snprintf(rest, sizeof(rest), "%s/restored", dir);
    mkdir(rest, 0700);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/data.mdb'", bk, rest);
    is_int(system(cmd), 0, "restore = copy the file");
    is_int(store_open(rest, extra, 2, &s, err, sizeof(err)), 0, "restored opens");
    r = store_reader_new(s);
    is_int(has_key(r, "privacy", "more0"), 1, "restored data present");
    store_reader_free(r);

    /* a newer schema version is refused with a clear message */
    MDB_txn *txn;
    mdb_txn_begin(store_env(s), NULL, 0, &txn);
    MDB_val k = {14, "schema_version"}, v = {2, "99"};
    mdb_put(txn, store_core_dbi(s, STORE_META), &k, &v, 0);
    mdb_txn_commit(txn);
    store_close(s);
    ok(store_open(rest, extra, 2, &s, err, sizeof(err)) != 0, "newer schema refused");
    ok(strstr(err, "schema version 99") && strstr(err, "refusing"), "message names it: %s", err);

    /* clashing names are refused */
    store_dbi_def_t clash[] = {{"meta", 0}};
    ok(store_open(data, clash, 1, &s, err, sizeof(err)) != 0, "clash refused: %s", err);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# cleanup failed\n");
    return done_testing();
}
