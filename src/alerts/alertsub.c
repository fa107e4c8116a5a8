/* alertsub.c - owns the alert subscriptions (DBI "alert_sub", vault keys
 * "a:<user>") and the sent records (DBI "alert_sent"); see alertsub.h. */
#include "binday/alerts/alertsub.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/store.h"
#include "binday/privacy/seal.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

static const store_dbi_def_t dbi_defs[] = {{ALERTSUB_DBI_NAME, 0}, {ALERTSENT_DBI_NAME, 0}};

#define PLAIN_MAX (8 + 1 + ALERTSUB_MAX_ENDPOINT + ALERTSUB_MAX_USER)

static void key_name(const char *user_hex, char *out, size_t n)
{
    snprintf(out, n, "a:%s", user_hex);
}

static int dbi(privacy_t *p, const char *name, MDB_dbi *d)
{
    return store_dbi(privacy_store(p), name, d) == 0 ? 0 : MDB_BAD_DBI;
}

struct put_job {
    privacy_t *p;
    alertsub_t s;
};

static int put_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct put_job *j = ud;
    const alertsub_t *s = &j->s;
    MDB_dbi d;
    int rc = dbi(j->p, ALERTSUB_DBI_NAME, &d);
    if (rc)
        return rc;
    size_t el = strlen(s->endpoint), ul = strlen(s->user_id);
    if (el > ALERTSUB_MAX_ENDPOINT || ul == 0 || ul > ALERTSUB_MAX_USER || strlen(s->user_hex) != SECRET_HEX_LEN) {
        snprintf(err, err_size, "alert_sub: bad subscription");
        return EINVAL;
    }
    uint8_t plain[PLAIN_MAX], sealed[PLAIN_MAX + SEAL_OVERHEAD], k[VAULT_KEY_BYTES];
    store_uprn_key(s->uprn, plain);
    plain[8] = (uint8_t)el;
    memcpy(plain + 9, s->endpoint, el);
    memcpy(plain + 9 + el, s->user_id, ul);
    size_t pl = 9 + el + ul;
    char name[80];
    key_name(s->user_hex, name, sizeof(name));
    if ((rc = vault_key(privacy_vault(j->p), txn, name, 1, k)) != 0) {
        snprintf(err, err_size, "alert_sub key: %s", mdb_strerror(rc));
        OPENSSL_cleanse(plain, sizeof(plain));
        return rc;
    }
    size_t sl = seal_encrypt(k, s->user_hex, SECRET_HEX_LEN, plain, pl, sealed, sizeof(sealed));
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(plain, sizeof(plain));
    if (sl == 0) {
        snprintf(err, err_size, "alert_sub: sealing failed");
        return MDB_PANIC;
    }
    MDB_val kv = {SECRET_HEX_LEN, (void *)s->user_hex}, v = {sl, sealed};
    if ((rc = mdb_put(txn, d, &kv, &v, 0)) != 0)
        snprintf(err, err_size, "alert_sub put: %s", mdb_strerror(rc));
    return rc;
}

int alertsub_put(privacy_t *p, const alertsub_t *s, char *err, size_t err_size)
{
    struct put_job *j = xmalloc(sizeof(*j));
    j->p = p;
    j->s = *s;
    int rc = store_write(privacy_store(p), put_fn, j, err, err_size);
    OPENSSL_cleanse(&j->s, sizeof(j->s));
    free(j);
    return rc;
}

static void put_after(void *arg, int rc, const char *err)
{
    struct put_job *j = arg;
    if (rc != 0)
        log_error("alerts.subscribe", "user=%s error=\"%s\"", j->s.user_hex, err);
    else
        log_info("alerts.subscribe", "user=%s", j->s.user_hex);
}

static void put_release(void *arg)
{
    struct put_job *j = arg;
    OPENSSL_cleanse(&j->s, sizeof(j->s));
    free(j);
}

static const writer_ops_t put_ops = {put_fn, NULL, put_after, NULL, put_release};

/* Fire and forget, as remembered choices (choice.h): the resident hears the
 * answer at once; if the write is lost the first alert simply does not come
 * and asking again subscribes again. */
int alertsub_put_submit(privacy_t *p, const alertsub_t *s)
{
    struct put_job *j = xcalloc(1, sizeof(*j));
    j->p = p;
    j->s = *s;
    writer_t *w = privacy_writer(p);
    if (w == NULL) {
        char err[200];
        int rc = store_write(privacy_store(p), put_fn, j, err, sizeof(err));
        put_after(j, rc, err);
        put_release(j);
        return rc;
    }
    int rc = writer_submit(w, &put_ops, j, NULL, NULL, NULL);
    if (rc != 0)
        log_warn("alerts.subscribe", "user=%s error=\"not queued: %s\"", s->user_hex,
                 rc == WRITER_FULL ? "writer queue full" : "stopping");
    return rc;
}

/* Open one record: 0, MDB_NOTFOUND (no key: being erased), VAULT_STALE, or an error. */
static int open_record(privacy_t *p, MDB_txn *txn, const MDB_val *k, const MDB_val *v, alertsub_t *out)
{
    if (k->mv_size != SECRET_HEX_LEN)
        return MDB_NOTFOUND;
    memset(out, 0, sizeof(*out));
    memcpy(out->user_hex, k->mv_data, SECRET_HEX_LEN);
    char name[80];
    uint8_t key[VAULT_KEY_BYTES], plain[PLAIN_MAX];
    key_name(out->user_hex, name, sizeof(name));
    int rc = vault_key(privacy_vault(p), txn, name, 0, key);
    if (rc)
        return rc;
    size_t pl = 0;
    rc = seal_decrypt(key, k->mv_data, SECRET_HEX_LEN, v->mv_data, v->mv_size, plain, sizeof(plain), &pl);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != 0 || pl < 9 || 9 + (size_t)plain[8] >= pl || (size_t)plain[8] > ALERTSUB_MAX_ENDPOINT ||
        pl - 9 - plain[8] > ALERTSUB_MAX_USER) {
        OPENSSL_cleanse(plain, sizeof(plain));
        return MDB_CORRUPTED;
    }
    size_t el = plain[8];
    out->uprn = store_uprn_from_key(plain);
    memcpy(out->endpoint, plain + 9, el);
    memcpy(out->user_id, plain + 9 + el, pl - 9 - el);
    OPENSSL_cleanse(plain, sizeof(plain));
    return 0;
}

int alertsub_each(privacy_t *p, MDB_txn *txn, alertsub_each_fn fn, void *ud)
{
    MDB_dbi d;
    MDB_cursor *c;
    int rc = dbi(p, ALERTSUB_DBI_NAME, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    alertsub_t *s = xmalloc(sizeof(*s));
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int orc = open_record(p, txn, &k, &v, s);
        if (orc == MDB_NOTFOUND)
            continue;
        if (orc == MDB_CORRUPTED) { /* never stops everyone's alerts: logged, skipped */
            log_error("alerts.subscription", "error=\"unreadable record skipped\"");
            continue;
        }
        if (orc) {
            rc = orc;
            break;
        }
        if ((rc = fn(ud, s)) != 0)
            break;
    }
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- sent records ---- */

int alertsent_get(privacy_t *p, MDB_txn *txn, const char *ref, int *state)
{
    MDB_dbi d;
    int rc = dbi(p, ALERTSENT_DBI_NAME, &d);
    if (rc)
        return rc;
    MDB_val k = {strlen(ref), (void *)ref}, v;
    *state = ALERTSENT_NONE;
    rc = mdb_get(txn, d, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0 && v.mv_size == 5)
        *state = ((const uint8_t *)v.mv_data)[0];
    return rc;
}

struct sent_args {
    privacy_t *p;
    const char *ref;
    int state, day;
};

static int sent_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct sent_args *a = ud;
    MDB_dbi d;
    int rc = dbi(a->p, ALERTSENT_DBI_NAME, &d);
    if (rc)
        return rc;
    uint32_t day = (uint32_t)a->day;
    uint8_t b[5] = {(uint8_t)a->state, (uint8_t)(day >> 24), (uint8_t)(day >> 16), (uint8_t)(day >> 8),
                    (uint8_t)day};
    MDB_val k = {strlen(a->ref), (void *)a->ref}, v = {sizeof(b), b};
    if ((rc = mdb_put(txn, d, &k, &v, 0)) != 0)
        snprintf(err, err_size, "alert_sent put: %s", mdb_strerror(rc));
    return rc;
}

int alertsent_put(privacy_t *p, const char *ref, int state, int day, char *err, size_t err_size)
{
    struct sent_args a = {p, ref, state, day};
    return store_write(privacy_store(p), sent_fn, &a, err, err_size);
}

const char *alertsent_state_name(int state)
{
    static const char *const n[] = {"none", "sending", "sent", "dropped", "failed"};
    return state >= 0 && state <= ALERTSENT_FAILED ? n[state] : "?";
}

/* ---- the privacy module ---- */

static int export_user(privacy_t *p, MDB_txn *txn, const char *user_hex, json_t **out, char *err, size_t err_size)
{
    MDB_dbi d;
    int rc = dbi(p, ALERTSUB_DBI_NAME, &d);
    if (rc)
        return rc;
    if (strlen(user_hex) != SECRET_HEX_LEN)
        return 0;
    MDB_val k = {SECRET_HEX_LEN, (void *)user_hex}, v;
    if ((rc = mdb_get(txn, d, &k, &v)) == MDB_NOTFOUND)
        return 0;
    alertsub_t *s = xmalloc(sizeof(*s));
    if (rc == 0)
        rc = open_record(p, txn, &k, &v, s);
    if (rc == 0) {
        char u[24];
        snprintf(u, sizeof(u), "%llu", (unsigned long long)s->uprn);
        *out = json_pack("{s:s,s:s}", "uprn", u, "api_endpoint", s->endpoint);
    }
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        snprintf(err, err_size, "alert_sub export: %s", mdb_strerror(rc));
    return rc;
}

static int forget(privacy_t *p, MDB_txn *txn, const char *user_hex, unsigned what, size_t *n_erased, char *err,
                  size_t err_size)
{
    /* the property came from the address: it goes with the address permission too */
    if (!(what & (PRIVACY_ERASE_ALERTS | PRIVACY_ERASE_USER | PRIVACY_ERASE_ADDRESS)))
        return 0;
    MDB_dbi d;
    int rc = dbi(p, ALERTSUB_DBI_NAME, &d);
    if (rc)
        return rc;
    size_t n = 0;
    if (strlen(user_hex) == SECRET_HEX_LEN) {
        MDB_val k = {SECRET_HEX_LEN, (void *)user_hex};
        rc = mdb_del(txn, d, &k, NULL);
        if (rc == 0)
            n++;
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        char name[80];
        key_name(user_hex, name, sizeof(name));
        rc = vault_del(privacy_vault(p), txn, name);
        if (rc == 0)
            n++;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc) {
        snprintf(err, err_size, "alert_sub forget: %s", mdb_strerror(rc));
        return rc;
    }
    *n_erased += n;
    return 0;
}

/* Sent records of collections more than ALERTSENT_KEEP_DAYS ago: past any
 * resend, so they go. They are not counted in *n_erased: nothing in them is
 * sealed or personal, so their going needs no vault rotation. */
static int purge(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n_erased, char *err, size_t err_size)
{
    (void)n_erased;
    size_t n = 0;
    MDB_dbi d;
    MDB_cursor *c;
    int rc = dbi(p, ALERTSENT_DBI_NAME, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;) {
        const uint8_t *b = v.mv_data;
        int day = v.mv_size == 5
                      ? (int)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | (uint32_t)b[4])
                      : 0;
        if (day < as_of_day - ALERTSENT_KEEP_DAYS) {
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            n++;
            rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
            continue;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND || rc == EINVAL)
        rc = 0;
    if (rc)
        snprintf(err, err_size, "alert_sent purge: %s", mdb_strerror(rc));
    else if (n > 0)
        log_info("alerts.purge", "sent_records=%zu", n);
    return rc;
}

const privacy_module_t alertsub_privacy_module = {"alert_subscription", dbi_defs, 2, export_user, forget, purge,
                                                  NULL, NULL};
