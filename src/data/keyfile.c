/* keyfile.c - owns the registry of the data directory's key files in the
 * store's meta DBI (keyfile.h): a lost key is refused, never replaced. */
#include "binday/data/keyfile.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "binday/util/algo.h"

#define FP_LEN 8

static void fingerprint(const secret_key_t *k, uint8_t fp[FP_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    EVP_Digest(k->k, SECRET_KEY_BYTES, md, &ml, algo_sha256(), NULL);
    memcpy(fp, md, FP_LEN);
}

static void reg_name(const char *name, char *out, size_t n)
{
    snprintf(out, n, "keyfile:%s", name);
}

/* 0 and the fingerprint, MDB_NOTFOUND, or an MDB error */
static int get_fp(store_t *s, const char *name, uint8_t fp[FP_LEN])
{
    MDB_dbi meta;
    if (store_dbi(s, "meta", &meta) != 0)
        return MDB_BAD_DBI;
    store_reader_t *r = store_reader_new(s);
    if (r == NULL)
        return ENOMEM;
    MDB_txn *txn;
    char err[200], k[96];
    int rc = store_reader_begin(r, &txn, err, sizeof(err));
    if (rc == 0) {
        reg_name(name, k, sizeof(k));
        MDB_val key = {strlen(k), k}, v;
        rc = mdb_get(txn, meta, &key, &v);
        if (rc == 0 && v.mv_size != FP_LEN)
            rc = MDB_CORRUPTED;
        if (rc == 0)
            memcpy(fp, v.mv_data, FP_LEN);
        store_reader_end(r);
    } else {
        rc = MDB_PANIC;
    }
    store_reader_free(r);
    return rc;
}

int store_keyfile_registered(store_t *s, const char *name)
{
    uint8_t fp[FP_LEN];
    int rc = get_fp(s, name, fp);
    return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}

struct reg {
    const char *name;
    uint8_t fp[FP_LEN];
    store_t *s;
};

/* register unless another process registered first (then keep theirs: the
 * caller compares afterwards) */
static int reg_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct reg *a = ud;
    MDB_dbi meta;
    (void)err;
    (void)err_size;
    if (store_dbi(a->s, "meta", &meta) != 0)
        return MDB_BAD_DBI;
    char k[96];
    reg_name(a->name, k, sizeof(k));
    MDB_val key = {strlen(k), k}, v = {FP_LEN, a->fp};
    int rc = mdb_put(txn, meta, &key, &v, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

int store_keyfile(store_t *s, const char *dir, const char *name, int may_create, secret_key_t *out, char *err,
                  size_t err_size)
{
    uint8_t want[FP_LEN], have[FP_LEN];
    int rc = get_fp(s, name, want);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(err, err_size, "%s: store: %s", name, mdb_strerror(rc));
        return -1;
    }
    int registered = rc == 0;
    int lr = secret_load(dir, name, out, err, err_size);
    if (lr < 0)
        return -1;
    if (lr == 1) {
        if (registered || !may_create) {
            snprintf(err, err_size,
                     "%s/%s is missing, but the store holds data that depends on it: restore it from the same "
                     "backup as the store (binday restore, docs/store.md); a new key would silently make that "
                     "data unreachable, so none is created",
                     dir, name);
            return -1;
        }
        if (secret_load_or_create(dir, name, out, err, err_size) != 0)
            return -1;
    }
    fingerprint(out, have);
    if (!registered) {
        struct reg a = {name, {0}, s};
        memcpy(a.fp, have, FP_LEN);
        if (store_write(s, reg_fn, &a, err, err_size) != 0)
            return -1;
        if (get_fp(s, name, want) != 0) {
            snprintf(err, err_size, "%s: could not register the key in the store", name);
            return -1;
        }
    }
    if (memcmp(want, have, FP_LEN) != 0) {
        memset(out, 0, sizeof(*out));
        snprintf(err, err_size,
                 "%s/%s is not the key this store was written with: restore the file from the same backup as "
                 "the store (binday restore, docs/store.md)",
                 dir, name);
        return -1;
    }
    return 0;
}
