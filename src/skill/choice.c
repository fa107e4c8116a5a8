/* choice.c - owns the remembered address choices (DBI "address_choice") and
 * their vault keys ("c:<user>"). */
#include "binday/skill/choice.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "binday/privacy/seal.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

static const store_dbi_def_t choice_dbi_def = {CHOICE_DBI_NAME, 0};

#define TAG 16
#define KEY_LEN (2 * TAG)

void choice_address_digest(const secret_key_t *key, const alexa_address_t *a, char *out, size_t out_size)
{
    /* fold case and runs of spaces so "12 high st" and "12  High St" agree */
    char buf[8 * 210] = {0};
    size_t n = 0;
    const char *parts[] = {a->address_line1, a->address_line2, a->address_line3, a->city, a->postal_code,
                           a->country_code};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        int space = 1;
        for (const char *p = parts[i]; p && *p && n < sizeof(buf) - 2; p++) {
            unsigned char c = (unsigned char)*p;
            if (isspace(c) || c == ',') {
                if (!space)
                    buf[n++] = ' ';
                space = 1;
                continue;
            }
            buf[n++] = (char)toupper(c);
            space = 0;
        }
        if (n > 0 && buf[n - 1] == ' ')
            n--;
        buf[n++] = '|';
    }
    secret_hmac_hex(key, buf, n, out, out_size);
}

static void key_name(const char *user_hex, char *out, size_t n)
{
    snprintf(out, n, "c:%s", user_hex);
}

static void user_tag(const uint8_t ck[VAULT_KEY_BYTES], uint8_t tag[TAG])
{
    uint8_t h[32];
    seal_derive(ck, "choice-user", 11, NULL, 0, h);
    memcpy(tag, h, TAG);
}

static void make_key(const uint8_t ck[VAULT_KEY_BYTES], const char *addr_hex, uint8_t key[KEY_LEN])
{
    uint8_t h[32];
    user_tag(ck, key);
    seal_derive(ck, "choice-addr:", 12, addr_hex, strlen(addr_hex), h);
    memcpy(key + TAG, h, TAG);
}

static int dbi(privacy_t *p, MDB_dbi *d)
{
    return store_dbi(privacy_store(p), CHOICE_DBI_NAME, d) == 0 ? 0 : MDB_BAD_DBI;
}

int choice_get(privacy_t *p, MDB_txn *txn, const char *user_hex, const char *addr_hex, uint64_t *uprn)
{
    MDB_dbi d;
    int rc = dbi(p, &d);
    if (rc)
        return rc;
    char name[80];
    uint8_t ck[VAULT_KEY_BYTES], key[KEY_LEN], plain[8];
    key_name(user_hex, name, sizeof(name));
    rc = vault_key(privacy_vault(p), txn, name, 0, ck);
    if (rc == VAULT_STALE)
        rc = MDB_NOTFOUND;
    if (rc)
        return rc;
    make_key(ck, addr_hex, key);
    MDB_val k = {KEY_LEN, key}, v;
    size_t pl = 0;
    rc = mdb_get(txn, d, &k, &v);
    if (rc == 0 && (seal_decrypt(ck, key, KEY_LEN, v.mv_data, v.mv_size, plain, sizeof(plain), &pl) != 0 || pl != 8))
        rc = MDB_CORRUPTED;
    if (rc == 0)
        *uprn = store_uprn_from_key(plain);
    OPENSSL_cleanse(ck, sizeof(ck));
    return rc;
}

struct put_args {
    privacy_t *p;
    const char *user_hex, *addr_hex;
    uint64_t uprn;
};

static int put_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct put_args *a = ud;
    MDB_dbi d;
    int rc = dbi(a->p, &d);
    if (rc)
        return rc;
    char name[80];
    uint8_t ck[VAULT_KEY_BYTES], key[KEY_LEN], val[8], sealed[8 + SEAL_OVERHEAD];
    key_name(a->user_hex, name, sizeof(name));
    if ((rc = vault_key(privacy_vault(a->p), txn, name, 1, ck)) != 0) {
        snprintf(err, err_size, "address_choice key: %s", mdb_strerror(rc));
        return rc;
    }
    make_key(ck, a->addr_hex, key);
    store_uprn_key(a->uprn, val);
    size_t sl = seal_encrypt(ck, key, KEY_LEN, val, 8, sealed, sizeof(sealed));
    OPENSSL_cleanse(ck, sizeof(ck));
    if (sl == 0) {
        snprintf(err, err_size, "address_choice: sealing failed");
        return MDB_PANIC;
    }
    MDB_val k = {KEY_LEN, key}, v = {sl, sealed};
    rc = mdb_put(txn, d, &k, &v, 0);
    if (rc)
        snprintf(err, err_size, "address_choice put: %s", mdb_strerror(rc));
    return rc;
}

int choice_put(privacy_t *p, const char *user_hex, const char *addr_hex, uint64_t uprn, char *err, size_t err_size)
{
    struct put_args a = {p, user_hex, addr_hex, uprn};
    return store_write(privacy_store(p), put_fn, &a, err, err_size);
}

/* A remembered choice is fire and forget: the answer the resident hears
 * comes from the choice they just made, not from the stored copy, and if the
 * write is lost (queue full, crash, write error) the only cost is that the
 * question "which one is yours?" is asked again next time. So the request
 * never waits for this commit. */
struct put_job {
    struct put_args a; /* first: put_fn gets the job as its argument */
    char user[SECRET_HEX_LEN + 1], addr[SECRET_HEX_LEN + 1];
};

static void put_job_after(void *arg, int rc, const char *err)
{
    struct put_job *j = arg;
    if (rc != 0)
        log_error("skill.remember_choice", "user=%s error=\"%s\"", j->user, err);
    else
        log_info("skill.remember_choice", "user=%s", j->user);
}

static const writer_ops_t put_ops = {put_fn, NULL, put_job_after, NULL, NULL};

int choice_put_submit(privacy_t *p, const char *user_hex, const char *addr_hex, uint64_t uprn)
{
    struct put_job *j = xcalloc(1, sizeof(*j));
    snprintf(j->user, sizeof(j->user), "%s", user_hex);
    snprintf(j->addr, sizeof(j->addr), "%s", addr_hex);
    j->a = (struct put_args){p, j->user, j->addr, uprn};
    writer_t *w = privacy_writer(p);
    if (w == NULL) {
        char err[200];
        int rc = store_write(privacy_store(p), put_fn, &j->a, err, sizeof(err));
        put_job_after(j, rc, err);
        free(j);
        return rc;
    }
    int rc = writer_submit(w, &put_ops, j, NULL, NULL, NULL);
    if (rc != 0)
        log_warn("skill.remember_choice", "user=%s error=\"not queued: %s\"", user_hex,
                 rc == WRITER_FULL ? "writer queue full" : "stopping");
    return rc;
}

/* Visit (and optionally delete) every choice of the user sealed under ck. */
static int each_choice(MDB_txn *txn, MDB_dbi d, const uint8_t ck[VAULT_KEY_BYTES], int del, json_t *list, size_t *n)
{
    uint8_t tag[TAG];
    user_tag(ck, tag);
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    MDB_val k = {TAG, tag}, v;
    if (del) {
        for (;;) {
            k.mv_size = TAG;
            k.mv_data = tag;
            if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0)
                break;
            if (k.mv_size != KEY_LEN || memcmp(k.mv_data, tag, TAG) != 0) {
                rc = MDB_NOTFOUND;
                break;
            }
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            (*n)++;
        }
        mdb_cursor_close(c);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != KEY_LEN || memcmp(k.mv_data, tag, TAG) != 0)
            break;
        uint8_t plain[8];
        size_t pl = 0;
        if (seal_decrypt(ck, k.mv_data, KEY_LEN, v.mv_data, v.mv_size, plain, sizeof(plain), &pl) != 0 || pl != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        char u[24];
        snprintf(u, sizeof(u), "%llu", store_uprn_from_key(plain));
        json_array_append_new(list, json_pack("{s:s}", "uprn", u));
        (*n)++;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int export_user(privacy_t *p, MDB_txn *txn, const char *user_hex, json_t **out, char *err, size_t err_size)
{
    MDB_dbi d;
    char name[80];
    uint8_t ck[VAULT_KEY_BYTES];
    int rc = dbi(p, &d);
    key_name(user_hex, name, sizeof(name));
    if (rc == 0)
        rc = vault_key(privacy_vault(p), txn, name, 0, ck);
    if (rc == MDB_NOTFOUND)
        return 0;
    size_t n = 0;
    json_t *list = json_array();
    if (rc == 0)
        rc = each_choice(txn, d, ck, 0, list, &n);
    OPENSSL_cleanse(ck, sizeof(ck));
    if (rc) {
        json_decref(list);
        snprintf(err, err_size, "address_choice export: %s", mdb_strerror(rc));
        return rc;
    }
    *out = list;
    return 0;
}

static int forget(privacy_t *p, MDB_txn *txn, const char *user_hex, unsigned what, size_t *n_erased, char *err,
                  size_t err_size)
{
    if (!(what & (PRIVACY_ERASE_ADDRESS | PRIVACY_ERASE_USER)))
        return 0;
    MDB_dbi d;
    char name[80];
    uint8_t ck[VAULT_KEY_BYTES];
    int rc = dbi(p, &d);
    key_name(user_hex, name, sizeof(name));
    if (rc == 0)
        rc = vault_key(privacy_vault(p), txn, name, 0, ck);
    if (rc == MDB_NOTFOUND)
        return 0;
    size_t n = 0;
    if (rc == 0)
        rc = each_choice(txn, d, ck, 1, NULL, &n);
    OPENSSL_cleanse(ck, sizeof(ck));
    if (rc == 0 && (rc = vault_del(privacy_vault(p), txn, name)) == 0)
        n++;
    if (rc) {
        snprintf(err, err_size, "address_choice forget: %s", mdb_strerror(rc));
        return rc;
    }
    *n_erased += n;
    return 0;
}

/* The first layout (before privacy.h) keyed choices by the pseudonymous id and
 * address digest in hex (64 bytes) with the UPRN in clear: such records can
 * neither be found for erasure nor opened now, so they go. */
static int upgrade(privacy_t *p, MDB_txn *txn, size_t *n_changed, char *err, size_t err_size)
{
    MDB_dbi d;
    MDB_cursor *c;
    int rc = dbi(p, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;) {
        if (k.mv_size != KEY_LEN) {
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            (*n_changed)++;
            rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
            continue;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND || rc == EINVAL)
        rc = 0;
    if (rc)
        snprintf(err, err_size, "address_choice upgrade: %s", mdb_strerror(rc));
    return rc;
}

const privacy_module_t choice_privacy_module = {"address_choices", &choice_dbi_def, 1, export_user, forget, NULL,
                                                upgrade, NULL};
