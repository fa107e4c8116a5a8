/* store.c - owns the LMDB environment: opening, schema version, DBI handles,
 * map growth, reused read transactions and hot backups.
 *
 * Map size: we start from max(256 MiB, 2 x the data file) of address space
 * (cheap on 64-bit; the file only grows as pages are used) and double on
 * MDB_MAP_FULL. mdb_env_set_mapsize may only run while no txn of this process
 * is active, so readers take `resize_lock` shared between begin and end and a
 * resize takes it exclusively.
 */
#include "binday/data/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binday/util/log.h"
#include "binday/util/metrics.h"

#define MAX_DBIS 32
#define MIN_MAP ((size_t)256 << 20)

static const char *const core_names[STORE_N_CORE] = {
    "meta", "addresses", "postcodes", "services", "rounds", "assignments", "exceptions", "notices",
    "materials",
};

struct store {
    MDB_env *env;
    pthread_rwlock_t resize_lock;
    uint64_t id;              /* store_instance_id */
    pthread_mutex_t write_lock; /* one store_write at a time, so a resize never races a writer */
    size_t n_dbis;
    char names[MAX_DBIS][64];
    MDB_dbi dbis[MAX_DBIS];
};

static size_t initial_map; /* tests only; 0 = MIN_MAP */
static _Atomic uint64_t last_id;

uint64_t store_instance_id(const store_t *s)
{
    return s->id;
}

#define GEN_KEY "generation"

int store_generation(const store_t *s, MDB_txn *txn, uint64_t *gen)
{
    MDB_val k = {sizeof(GEN_KEY) - 1, (void *)GEN_KEY}, v;
    *gen = 0;
    int rc = mdb_get(txn, s->dbis[STORE_META], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    /* decimal digits only: anything else is not a value this code wrote */
    if (v.mv_size == 0 || v.mv_size > 20)
        return MDB_CORRUPTED;
    uint64_t g = 0;
    for (size_t i = 0; i < v.mv_size; i++) {
        unsigned char c = ((const unsigned char *)v.mv_data)[i];
        if (c < '0' || c > '9' || g > (UINT64_MAX - 9) / 10)
            return MDB_CORRUPTED;
        g = g * 10 + (c - '0');
    }
    *gen = g;
    return 0;
}

int store_generation_bump(const store_t *s, MDB_txn *txn, uint64_t *gen)
{
    uint64_t g;
    int rc = store_generation(s, txn, &g);
    if (rc)
        return rc;
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(g + 1));
    MDB_val k = {sizeof(GEN_KEY) - 1, (void *)GEN_KEY}, v = {(size_t)n, buf};
    rc = mdb_put(txn, s->dbis[STORE_META], &k, &v, 0);
    if (rc == 0 && gen)
        *gen = g + 1;
    return rc;
}

void store_set_initial_mapsize(size_t bytes)
{
    initial_map = bytes;
}

struct store_reader {
    store_t *s;
    MDB_txn *txn; /* reset between uses; NULL until first begin */
    int active;
};

void store_uprn_key(unsigned long long uprn, unsigned char key[8])
{
    for (int i = 7; i >= 0; i--) {
        key[i] = (unsigned char)(uprn & 0xff);
        uprn >>= 8;
    }
}

unsigned long long store_uprn_from_key(const unsigned char key[8])
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | key[i];
    return v;
}

static size_t current_mapsize(MDB_env *env)
{
    MDB_envinfo info;
    mdb_env_info(env, &info);
    return info.me_mapsize;
}

static int check_schema(store_t *s, MDB_txn *txn, const char *dir, char *err, size_t err_size)
{
    MDB_val k = {strlen("schema_version"), (void *)"schema_version"}, v;
    int rc = mdb_get(txn, s->dbis[STORE_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", STORE_SCHEMA_VERSION);
        MDB_val nv = {(size_t)n, buf};
        rc = mdb_put(txn, s->dbis[STORE_META], &k, &nv, 0);
        if (rc)
            snprintf(err, err_size, "%s: cannot record schema version: %s", dir,
                     mdb_strerror(rc));
        return rc ? -1 : 0;
    }
    if (rc) {
        snprintf(err, err_size, "%s: cannot read schema version: %s", dir, mdb_strerror(rc));
        return -1;
    }
    char buf[16] = {0};
    memcpy(buf, v.mv_data, v.mv_size < 15 ? v.mv_size : 15);
    int ver = atoi(buf);
    if (ver > STORE_SCHEMA_VERSION) {
        snprintf(err, err_size,
                 "%s: data has schema version %d but this binday understands up to %d; "
                 "refusing to open it (upgrade binday, or restore a backup made by this version)",
                 dir, ver, STORE_SCHEMA_VERSION);
        return -1;
    }
    if (ver < 1) {
        snprintf(err, err_size, "%s: corrupt schema version", dir);
        return -1;
    }
    return 0;
}

/* ---- metrics: the map against its size (docs/metrics.md) ---- */
METRICS_DEFINE(m_map_size, METRICS_GAUGE, "binday_lmdb_map_size_bytes",
               "The LMDB map's size: what the store may hold before the next resize (doubling)", NULL, NULL, 1, NULL,
               NULL, 1, NULL, 0)
METRICS_DEFINE(m_map_used, METRICS_GAUGE, "binday_lmdb_map_used_bytes",
               "The LMDB map's high-water mark of pages (freed pages inside it are reused first)", NULL, NULL, 1, NULL,
               NULL, 1, NULL, 0)

/* at scrape time; shared resize_lock as a reader's, so a resize is not half-seen */
static void collect(void *ud)
{
    store_t *s = ud;
    MDB_envinfo ei;
    MDB_stat st;
    pthread_rwlock_rdlock(&s->resize_lock);
    if (mdb_env_info(s->env, &ei) == 0 && mdb_env_stat(s->env, &st) == 0) {
        uint64_t used = ((uint64_t)ei.me_last_pgno + 1) * st.ms_psize;
        metrics_set(&m_map_size, 0, 0, (int64_t)ei.me_mapsize);
        metrics_set(&m_map_used, 0, 0, (int64_t)(used < ei.me_mapsize ? used : ei.me_mapsize));
    }
    pthread_rwlock_unlock(&s->resize_lock);
}

int store_open(const char *dir, const store_dbi_def_t *extra, size_t n_extra, store_t **out,
               char *err, size_t err_size)
{
    *out = NULL;
    if (STORE_N_CORE + n_extra > MAX_DBIS) {
        snprintf(err, err_size, "too many databases (%zu)", STORE_N_CORE + n_extra);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: not a directory", dir);
        return -1;
    }
    store_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    s->id = ++last_id;
    pthread_rwlock_init(&s->resize_lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    int rc = mdb_env_create(&s->env);
    if (rc)
        goto fail_rc;
    mdb_env_set_maxdbs(s->env, MAX_DBIS);
    mdb_env_set_maxreaders(s->env, 254);
    size_t map = initial_map ? initial_map : MIN_MAP;
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) == 0 && (size_t)st.st_size * 2 > map)
        map = (size_t)st.st_size * 2;
    mdb_env_set_mapsize(s->env, map);
    /* NOTLS: read txns are reset/renewed and may move between threads;
     * NORDAHEAD: lookups are random reads, readahead only evicts cache. */
    rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0600);
    if (rc)
        goto fail_rc;
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    if (dead > 0)
        log_info("store_stale_readers", "cleared=%d", dead);

    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        goto fail_rc;
    for (size_t i = 0; i < STORE_N_CORE + n_extra; i++) {
        const char *name = i < STORE_N_CORE ? core_names[i] : extra[i - STORE_N_CORE].name;
        unsigned flags = i < STORE_N_CORE ? 0 : extra[i - STORE_N_CORE].flags;
        if (strlen(name) >= sizeof(s->names[0])) {
            mdb_txn_abort(txn);
            snprintf(err, err_size, "database name too long: %s", name);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->names[j], name) == 0) {
                mdb_txn_abort(txn);
                snprintf(err, err_size, "database %s registered twice", name);
                goto fail;
            }
        rc = mdb_dbi_open(txn, name, flags | MDB_CREATE, &s->dbis[i]);
        if (rc) {
            mdb_txn_abort(txn);
            snprintf(err, err_size, "%s: cannot open database %s: %s", dir, name,
                     mdb_strerror(rc));
            goto fail;
        }
        snprintf(s->names[i], sizeof(s->names[i]), "%s", name);
        s->n_dbis = i + 1;
    }
    if (check_schema(s, txn, dir, err, err_size) != 0) {
        mdb_txn_abort(txn);
        goto fail;
    }
    rc = mdb_txn_commit(txn); /* DBI handles survive only a committed txn */
    if (rc == MDB_MAP_FULL) {
        snprintf(err, err_size, "%s: map full while opening", dir);
        goto fail;
    }
    if (rc)
        goto fail_rc;
    *out = s;
    metrics_add_collector(collect, s); /* at most 16: a tool's extra stores may go unmeasured */
    return 0;
fail_rc:
    snprintf(err, err_size, "%s: %s", dir, mdb_strerror(rc));
fail:
    if (s->env)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
    return -1;
}

void store_close(store_t *s)
{
    if (s == NULL)
        return;
    metrics_remove_collector(collect, s);
    mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
}

MDB_env *store_env(store_t *s)
{
    return s->env;
}

MDB_dbi store_core_dbi(const store_t *s, store_table_t t)
{
    return s->dbis[t];
}

int store_dbi(const store_t *s, const char *name, MDB_dbi *out)
{
    for (size_t i = 0; i < s->n_dbis; i++)
        if (strcmp(s->names[i], name) == 0) {
            *out = s->dbis[i];
            return 0;
        }
    return -1;
}

/* Remap the open environment, waiting for this process's readers: at twice
 * its size when `grow` (the size it went for in *size), else at the size
 * another process set. The one place that remaps. */
static int remap(store_t *s, int grow, size_t *size)
{
    pthread_rwlock_wrlock(&s->resize_lock);
    size_t want = grow ? current_mapsize(s->env) * 2 : 0;
    int rc = mdb_env_set_mapsize(s->env, want);
    pthread_rwlock_unlock(&s->resize_lock);
    if (size)
        *size = want;
    return rc;
}

/* Grow the map to twice its size. */
static int grow_map(store_t *s, char *err, size_t err_size)
{
    size_t want;
    int rc = remap(s, 1, &want);
    if (rc) {
        snprintf(err, err_size, "cannot grow map to %zu bytes: %s", want, mdb_strerror(rc));
        return rc;
    }
    log_info("store_map_grown", "bytes=%zu", want);
    return 0;
}

static int write_locked(store_t *s, store_write_fn fn, void *ud, char *err, size_t err_size);

int store_write(store_t *s, store_write_fn fn, void *ud, char *err, size_t err_size)
{
    err[0] = '\0';
    pthread_mutex_lock(&s->write_lock);
    int rc = write_locked(s, fn, ud, err, err_size);
    pthread_mutex_unlock(&s->write_lock);
    return rc;
}

static int write_locked(store_t *s, store_write_fn fn, void *ud, char *err, size_t err_size)
{
    for (int attempt = 0; attempt < 24; attempt++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            /* another process grew the map: adopt its size, then retry */
            rc = remap(s, 0, NULL);
            if (rc == 0)
                continue;
        }
        if (rc) {
            snprintf(err, err_size, "cannot start write: %s", mdb_strerror(rc));
            return rc;
        }
        rc = fn(txn, ud, err, err_size);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
            if (rc == 0)
                return 0;
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == MDB_MAP_FULL) {
            int g = grow_map(s, err, err_size);
            if (g)
                return g;
            continue;
        }
        if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
            snprintf(err, err_size, "write failed: %s", mdb_strerror(rc));
        else if (rc > 0 && rc < 200 && err[0] == '\0')
            snprintf(err, err_size, "write failed: %s", strerror(rc));
        return rc;
    }
    snprintf(err, err_size, "write failed: map kept filling up");
    return MDB_MAP_FULL;
}

store_reader_t *store_reader_new(store_t *s)
{
    store_reader_t *r = calloc(1, sizeof(*r));
    if (r)
        r->s = s;
    return r;
}

void store_reader_free(store_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->active)
        store_reader_end(r);
    if (r->txn)
        mdb_txn_abort(r->txn);
    free(r);
}

store_t *store_reader_store(store_reader_t *r)
{
    return r->s;
}

int store_reader_begin(store_reader_t *r, MDB_txn **txn, char *err, size_t err_size)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        pthread_rwlock_rdlock(&r->s->resize_lock);
        int rc = r->txn ? mdb_txn_renew(r->txn)
                        : mdb_txn_begin(r->s->env, NULL, MDB_RDONLY, &r->txn);
        if (rc == 0) {
            r->active = 1;
            *txn = r->txn;
            return 0;
        }
        pthread_rwlock_unlock(&r->s->resize_lock);
        if (rc != MDB_MAP_RESIZED) {
            snprintf(err, err_size, "cannot start read: %s", mdb_strerror(rc));
            return rc;
        }
        /* Another process grew the map. Adopting the new size needs every
         * txn of this process to be inactive (remap takes the lock exclusively). */
        rc = remap(r->s, 0, NULL);
        if (rc) {
            snprintf(err, err_size, "cannot adopt new map size: %s", mdb_strerror(rc));
            return rc;
        }
    }
    snprintf(err, err_size, "cannot start read: map keeps changing");
    return MDB_MAP_RESIZED;
}

void store_reader_end(store_reader_t *r)
{
    if (!r->active)
        return;
    mdb_txn_reset(r->txn);
    r->active = 0;
    pthread_rwlock_unlock(&r->s->resize_lock);
}

int store_backup(store_t *s, const char *out_path, char *err, size_t err_size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out_path, (long)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, err_size, "output path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc == 0 && rename(tmp, out_path) != 0)
        rc = errno;
    if (rc) {
        snprintf(err, err_size, "backup to %s failed: %s", out_path, mdb_strerror(rc));
        unlink(tmp);
        return -1;
    }
    return 0;
}
