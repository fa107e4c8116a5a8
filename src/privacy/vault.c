/* vault.c - owns the sealed key/state store (DBI "vault") and its KEK files
 * DIR/vault-<generation>.key. */
#include "binday/privacy/vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binday/privacy/seal.h"
#include "binday/util/xalloc.h"

const store_dbi_def_t vault_dbi_def = {VAULT_DBI_NAME, 0};

#define IDX 16
#define GEN_KEY "\0gen" /* 4 bytes: never the size of an entry key */
#define GEN_KEY_LEN 4
#define PLAIN_MAX (1 + VAULT_MAX_NAME + VAULT_MAX_VALUE)

struct vault {
    store_t *store;
    MDB_dbi dbi;
    char dir[4096];
    pthread_mutex_t mu; /* guards the cache below */
    uint64_t cached_gen;
    uint8_t cached_kek[VAULT_KEY_BYTES];
};

static void kek_path(const vault_t *v, uint64_t gen, char *out, size_t n)
{
    snprintf(out, n, "%s/vault-%" PRIu64 ".key", v->dir, gen);
}

uint64_t vault_generation(vault_t *v, MDB_txn *txn)
{
    return vault_generation_in(txn, v->dbi);
}

uint64_t vault_generation_in(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_val k = {GEN_KEY_LEN, (void *)GEN_KEY}, d;
    if (mdb_get(txn, dbi, &k, &d) != 0 || d.mv_size != 8)
        return 0;
    uint64_t g = 0;
    for (int i = 0; i < 8; i++)
        g = g << 8 | ((const uint8_t *)d.mv_data)[i];
    return g;
}

static int put_generation(vault_t *v, MDB_txn *txn, uint64_t g)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, g >>= 8)
        b[i] = (uint8_t)g;
    MDB_val k = {GEN_KEY_LEN, (void *)GEN_KEY}, d = {8, b};
    return mdb_put(txn, v->dbi, &k, &d, 0);
}

static int read_kek(const char *path, uint8_t kek[VAULT_KEY_BYTES])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, kek, VAULT_KEY_BYTES);
    close(fd);
    return r == VAULT_KEY_BYTES ? 0 : -1;
}

/* Write the file for a new generation: temp file, fsync, rename, fsync the
 * directory, so the KEK is durable before the txn that uses it commits. */
static int write_kek(const vault_t *v, uint64_t gen, const uint8_t kek[VAULT_KEY_BYTES], char *err, size_t n)
{
    char path[4200], tmp[4210];
    kek_path(v, gen, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, n, "vault: create %s: %s", tmp, strerror(errno));
        return -1;
    }
    int ok = write(fd, kek, VAULT_KEY_BYTES) == VAULT_KEY_BYTES && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, n, "vault: write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* The KEK of the generation txn sees. 0, VAULT_STALE (its file is gone: a
 * newer rotation committed after txn began), or MDB_NOTFOUND (no vault yet). */
static int kek_for(vault_t *v, MDB_txn *txn, uint8_t kek[VAULT_KEY_BYTES], uint64_t *gen_out)
{
    uint64_t g = vault_generation(v, txn);
    if (g == 0)
        return MDB_NOTFOUND;
    if (gen_out)
        *gen_out = g;
    pthread_mutex_lock(&v->mu);
    int rc = 0;
    if (v->cached_gen != g) {
        char path[4200];
        kek_path(v, g, path, sizeof(path));
        uint8_t k[VAULT_KEY_BYTES];
        if (read_kek(path, k) == 0) {
            memcpy(v->cached_kek, k, sizeof(k));
            v->cached_gen = g;
        } else {
            rc = VAULT_STALE;
        }
        OPENSSL_cleanse(k, sizeof(k));
    }
    if (rc == 0)
        memcpy(kek, v->cached_kek, VAULT_KEY_BYTES);
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static void index_of(const uint8_t kek[VAULT_KEY_BYTES], const char *name, uint8_t idx[IDX])
{
    uint8_t h[32];
    seal_derive(kek, "vault-index:", 12, name, strlen(name), h);
    memcpy(idx, h, IDX);
}

int vault_get(vault_t *v, MDB_txn *txn, const char *name, uint8_t *val, size_t cap, size_t *len)
{
    uint8_t kek[VAULT_KEY_BYTES], idx[IDX], plain[PLAIN_MAX];
    int rc = kek_for(v, txn, kek, NULL);
    if (rc)
        return rc;
    size_t pl = 0, nl = strlen(name);
    if (nl == 0 || nl > VAULT_MAX_NAME) { /* no such entry can exist (put_with refuses the name) */
        OPENSSL_cleanse(kek, sizeof(kek));
        return MDB_NOTFOUND;
    }
    index_of(kek, name, idx);
    MDB_val k = {IDX, idx}, d;
    rc = mdb_get(txn, v->dbi, &k, &d);
    if (rc == 0) {
        if (seal_decrypt(kek, idx, IDX, d.mv_data, d.mv_size, plain, sizeof(plain), &pl) != 0 || pl < 1 + nl ||
            plain[0] != nl || memcmp(plain + 1, name, nl) != 0 || pl - 1 - nl > cap)
            rc = MDB_CORRUPTED;
        else {
            *len = pl - 1 - nl;
            memcpy(val, plain + 1 + nl, *len);
        }
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

static int put_with(vault_t *v, MDB_txn *txn, const uint8_t kek[VAULT_KEY_BYTES], const char *name, const void *val,
                    size_t len)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > VAULT_MAX_NAME || len > VAULT_MAX_VALUE)
        return EINVAL;
    uint8_t idx[IDX], plain[PLAIN_MAX], sealed[PLAIN_MAX + SEAL_OVERHEAD];
    index_of(kek, name, idx);
    plain[0] = (uint8_t)nl;
    memcpy(plain + 1, name, nl);
    if (len)
        memcpy(plain + 1 + nl, val, len);
    size_t sl = seal_encrypt(kek, idx, IDX, plain, 1 + nl + len, sealed, sizeof(sealed));
    OPENSSL_cleanse(plain, sizeof(plain));
    if (sl == 0)
        return MDB_PANIC; /* the random source failed */
    MDB_val k = {IDX, idx}, d = {sl, sealed};
    return mdb_put(txn, v->dbi, &k, &d, 0);
}

int vault_put(vault_t *v, MDB_txn *txn, const char *name, const void *val, size_t len)
{
    uint8_t kek[VAULT_KEY_BYTES];
    int rc = kek_for(v, txn, kek, NULL);
    if (rc == 0)
        rc = put_with(v, txn, kek, name, val, len);
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

int vault_del(vault_t *v, MDB_txn *txn, const char *name)
{
    uint8_t kek[VAULT_KEY_BYTES], idx[IDX];
    size_t nl = strlen(name);
    if (nl == 0 || nl > VAULT_MAX_NAME) /* no such entry can exist (put_with refuses the name) */
        return MDB_NOTFOUND;
    int rc = kek_for(v, txn, kek, NULL);
    if (rc)
        return rc;
    index_of(kek, name, idx);
    OPENSSL_cleanse(kek, sizeof(kek));
    MDB_val k = {IDX, idx};
    return mdb_del(txn, v->dbi, &k, NULL);
}

int vault_key(vault_t *v, MDB_txn *txn, const char *name, int create, uint8_t key[VAULT_KEY_BYTES])
{
    size_t len = 0;
    int rc = vault_get(v, txn, name, key, VAULT_KEY_BYTES, &len);
    if (rc == 0)
        return len == VAULT_KEY_BYTES ? 0 : MDB_CORRUPTED;
    if (rc != MDB_NOTFOUND || !create)
        return rc;
    if (RAND_bytes(key, VAULT_KEY_BYTES) != 1)
        return MDB_PANIC;
    return vault_put(v, txn, name, key, VAULT_KEY_BYTES);
}

/* Walk every entry, opened with kek: fn(ud, name, value, len). */
typedef int (*raw_fn)(void *ud, const char *name, const uint8_t *val, size_t len);
static int walk(vault_t *v, MDB_txn *txn, const uint8_t kek[VAULT_KEY_BYTES], raw_fn fn, void *ud)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, v->dbi, &c);
    if (rc)
        return rc;
    MDB_val k, d;
    uint8_t plain[PLAIN_MAX];
    char name[VAULT_MAX_NAME + 1];
    for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
        if (k.mv_size != IDX)
            continue;
        size_t pl;
        /* a name longer than VAULT_MAX_NAME would overrun name[]: put_with
         * never seals one, so it is a corrupted (or foreign) entry */
        if (seal_decrypt(kek, k.mv_data, IDX, d.mv_data, d.mv_size, plain, sizeof(plain), &pl) != 0 || pl < 1 ||
            plain[0] == 0 || plain[0] > VAULT_MAX_NAME || (size_t)plain[0] + 1 > pl) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(name, plain + 1, plain[0]);
        name[plain[0]] = 0;
        if ((rc = fn(ud, name, plain + 1 + plain[0], pl - 1 - plain[0])) != 0)
            break;
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Names to delete are collected first: deleting under the walk's cursor
 * would disturb the walk. */
struct doomed {
    const char *prefix;
    size_t plen;
    vault_pred_fn pred;
    void *ud;
    char (*names)[VAULT_MAX_NAME + 1];
    size_t n, cap;
};

static int doomed_cb(void *ud, const char *name, const uint8_t *val, size_t len)
{
    struct doomed *d = ud;
    if (strncmp(name, d->prefix, d->plen) != 0 || !d->pred(d->ud, name, val, len))
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        d->names = xrealloc(d->names, cap * sizeof(*d->names));
        d->cap = cap;
    }
    snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
    return 0;
}

int vault_del_if(vault_t *v, MDB_txn *txn, const char *prefix, vault_pred_fn pred, void *ud, size_t *n_deleted)
{
    uint8_t kek[VAULT_KEY_BYTES];
    int rc = kek_for(v, txn, kek, NULL);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    struct doomed d = {prefix, strlen(prefix), pred, ud, NULL, 0, 0};
    rc = walk(v, txn, kek, doomed_cb, &d);
    OPENSSL_cleanse(kek, sizeof(kek));
    for (size_t i = 0; rc == 0 && i < d.n; i++)
        if ((rc = vault_del(v, txn, d.names[i])) == 0 && n_deleted)
            (*n_deleted)++;
    free(d.names);
    return rc;
}

/* ---- rotation ---------------------------------------------------------------- */

struct entry {
    char name[VAULT_MAX_NAME + 1];
    uint8_t val[VAULT_MAX_VALUE];
    size_t len;
};

struct collect {
    struct entry *e;
    size_t n, cap;
};

static int collect_cb(void *ud, const char *name, const uint8_t *val, size_t len)
{
    struct collect *c = ud;
    if (len > VAULT_MAX_VALUE)
        return MDB_CORRUPTED;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        c->e = xrealloc(c->e, cap * sizeof(*c->e));
        c->cap = cap;
    }
    struct entry *e = &c->e[c->n++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    memcpy(e->val, val, len);
    e->len = len;
    return 0;
}

int vault_rotate(vault_t *v, MDB_txn *txn, char *err, size_t err_size)
{
    uint8_t old[VAULT_KEY_BYTES], fresh[VAULT_KEY_BYTES];
    uint64_t g = 0;
    int rc = kek_for(v, txn, old, &g);
    if (rc) {
        snprintf(err, err_size, "vault rotate: %s", rc == VAULT_STALE ? "KEK file missing" : mdb_strerror(rc));
        return rc;
    }
    struct collect c = {0};
    rc = walk(v, txn, old, collect_cb, &c);
    OPENSSL_cleanse(old, sizeof(old));
    if (rc) {
        snprintf(err, err_size, "vault rotate: read: %s", mdb_strerror(rc));
        goto out;
    }
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
        snprintf(err, err_size, "vault rotate: no random bytes");
        rc = MDB_PANIC;
        goto out;
    }
    if (write_kek(v, g + 1, fresh, err, err_size) != 0) {
        rc = EIO;
        goto out;
    }
    /* forget any cached KEK: should this txn abort and be retried, generation
     * g+1 gets another key, and nothing may keep the first one */
    pthread_mutex_lock(&v->mu);
    v->cached_gen = 0;
    OPENSSL_cleanse(v->cached_kek, sizeof(v->cached_kek));
    pthread_mutex_unlock(&v->mu);
    /* empty the DBI (its pages go to the free list, sealed under the old KEK)
     * and write every entry again under the new one */
    if ((rc = mdb_drop(txn, v->dbi, 0)) != 0 || (rc = put_generation(v, txn, g + 1)) != 0) {
        snprintf(err, err_size, "vault rotate: %s", mdb_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < c.n; i++) {
        if ((rc = put_with(v, txn, fresh, c.e[i].name, c.e[i].val, c.e[i].len)) != 0) {
            snprintf(err, err_size, "vault rotate: write: %s", mdb_strerror(rc));
            goto out;
        }
    }
out:
    OPENSSL_cleanse(fresh, sizeof(fresh));
    if (c.e)
        OPENSSL_cleanse(c.e, c.cap * sizeof(*c.e));
    free(c.e);
    return rc;
}

/* Unlink vault-N.key (and leftovers .tmp) for every N but keep. */
static void remove_other_keks(vault_t *v, uint64_t keep)
{
    DIR *d = opendir(v->dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char keep_name[64];
    snprintf(keep_name, sizeof(keep_name), "vault-%" PRIu64 ".key", keep);
    int removed = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vault-", 6) != 0 || strcmp(e->d_name, keep_name) == 0)
            continue;
        size_t l = strlen(e->d_name);
        if (!((l > 4 && strcmp(e->d_name + l - 4, ".key") == 0) || (l > 8 && strcmp(e->d_name + l - 8, ".key.tmp") == 0)))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed = 1;
    }
    if (removed)
        fsync(dirfd(d));
    closedir(d);
}


static int sweep_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    vault_t *v = ud;
    uint64_t g = vault_generation(v, txn);
    if (g == 0) {
        /* a new vault: generation 1 */
        uint8_t kek[VAULT_KEY_BYTES];
        if (RAND_bytes(kek, sizeof(kek)) != 1) {
            snprintf(err, err_size, "vault: no random bytes");
            return MDB_PANIC;
        }
        int w = write_kek(v, 1, kek, err, err_size);
        OPENSSL_cleanse(kek, sizeof(kek));
        if (w != 0)
            return EIO;
        int rc = put_generation(v, txn, 1);
        if (rc)
            snprintf(err, err_size, "vault: %s", mdb_strerror(rc));
        return rc;
    }
    char path[4200];
    kek_path(v, g, path, sizeof(path));
    if (access(path, R_OK) != 0) {
        snprintf(err, err_size, "vault: key file %s is missing: sealed data cannot be read", path);
        return EIO;
    }
    /* inside the write txn, so no other process is between writing a new
     * KEK file and committing it */
    remove_other_keks(v, g);
    return 0;
}

int vault_sweep(vault_t *v, char *err, size_t err_size)
{
    int rc = store_write(v->store, sweep_fn, v, err, err_size);
    return rc == 0 ? 0 : -1;
}

int vault_open(store_t *s, const char *dir, vault_t **out, char *err, size_t err_size)
{
    vault_t *v = xcalloc(1, sizeof(*v));
    v->store = s;
    pthread_mutex_init(&v->mu, NULL);
    if (strlen(dir) >= sizeof(v->dir) - 64 || store_dbi(s, VAULT_DBI_NAME, &v->dbi) != 0) {
        snprintf(err, err_size, "vault: %s", strlen(dir) >= sizeof(v->dir) - 64 ? "path too long" : "DBI not opened");
        vault_close(v);
        return -1;
    }
    snprintf(v->dir, sizeof(v->dir), "%s", dir);
    if (vault_sweep(v, err, err_size) != 0) {
        vault_close(v);
        return -1;
    }
    *out = v;
    return 0;
}

void vault_close(vault_t *v)
{
    if (v == NULL)
        return;
    OPENSSL_cleanse(v->cached_kek, sizeof(v->cached_kek));
    pthread_mutex_destroy(&v->mu);
    free(v);
}
