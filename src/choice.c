/* choice.c - owns the remembered address choices (DBI "address_choice"). */
#include "binday/choice.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const store_dbi_def_t choice_dbi_def = {CHOICE_DBI_NAME, 0};

#define KEY_LEN (2 * SECRET_HEX_LEN)

void choice_address_digest(const secret_key_t *key, const alexa_address_t *a, char *out, size_t out_size)
{
    /* fold case and runs of spaces so "12 high st" and "12  High St" agree */
    char buf[8 * 210] = "";
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

static void make_key(char key[KEY_LEN], const char *user_hex, const char *addr_hex)
{
    memcpy(key, user_hex, SECRET_HEX_LEN);
    memcpy(key + SECRET_HEX_LEN, addr_hex, SECRET_HEX_LEN);
}

static int dbi(store_t *s, MDB_dbi *d)
{
    return store_dbi(s, CHOICE_DBI_NAME, d) == 0 ? 0 : MDB_BAD_DBI;
}

int choice_get(store_t *s, MDB_txn *txn, const char *user_hex, const char *addr_hex, uint64_t *uprn)
{
    MDB_dbi d;
    int rc = dbi(s, &d);
    if (rc)
        return rc;
    char key[KEY_LEN];
    make_key(key, user_hex, addr_hex);
    MDB_val k = {KEY_LEN, key}, v;
    rc = mdb_get(txn, d, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *uprn = store_uprn_from_key(v.mv_data);
    return 0;
}

struct put_args {
    store_t *s;
    char key[KEY_LEN];
    uint64_t uprn;
};

static int put_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct put_args *a = ud;
    MDB_dbi d;
    int rc = dbi(a->s, &d);
    if (rc)
        return rc;
    unsigned char val[8];
    store_uprn_key(a->uprn, val);
    MDB_val k = {KEY_LEN, a->key}, v = {8, val};
    rc = mdb_put(txn, d, &k, &v, 0);
    if (rc)
        snprintf(err, err_size, "address_choice put: %s", mdb_strerror(rc));
    return rc;
}

int choice_put(store_t *s, const char *user_hex, const char *addr_hex, uint64_t uprn, char *err, size_t err_size)
{
    struct put_args a = {.s = s, .uprn = uprn};
    make_key(a.key, user_hex, addr_hex);
    return store_write(s, put_fn, &a, err, err_size);
}

struct forget_args {
    store_t *s;
    const char *user_hex;
    size_t n;
};

static int forget_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct forget_args *a = ud;
    MDB_dbi d;
    int rc = dbi(a->s, &d);
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, d, &c)) != 0)
        return rc;
    a->n = 0;
    for (;;) {
        MDB_val k = {SECRET_HEX_LEN, (void *)a->user_hex}, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc)
            break;
        if (k.mv_size != KEY_LEN || memcmp(k.mv_data, a->user_hex, SECRET_HEX_LEN) != 0) {
            rc = MDB_NOTFOUND;
            break;
        }
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
        a->n++;
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc)
        snprintf(err, err_size, "address_choice forget: %s", mdb_strerror(rc));
    return rc;
}

int choice_forget_user(store_t *s, const char *user_hex, size_t *n_deleted, char *err, size_t err_size)
{
    struct forget_args a = {.s = s, .user_hex = user_hex};
    int rc = store_write(s, forget_fn, &a, err, err_size);
    if (n_deleted)
        *n_deleted = a.n;
    return rc;
}
