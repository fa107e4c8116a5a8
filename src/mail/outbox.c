/* outbox.c - owns the mail DBIs: queued messages, caps, and case records.
 * Records are small JSON documents; the sender (mailer.c) and the skill only
 * go through the functions here. */
#include "binday/mail/outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/privacy/privacy.h"
#include "binday/util/b64.h"
#include "binday/privacy/seal.h"
#include "binday/privacy/vault.h"
#include "binday/util/xalloc.h"
#include <openssl/crypto.h>

#define DBI_OUTBOX "mail_outbox"
#define DBI_LOG "mail_log"
#define DBI_LIMITS "mail_limits"

const store_dbi_def_t outbox_dbi_defs[OUTBOX_N_DBI] = {{DBI_OUTBOX, 0}, {DBI_LOG, 0}, {DBI_LIMITS, 0}};

/* With a vault (the privacy vault), a queued message's address and text are
 * sealed with a data key of their own, "mail:ID"; deleting that key
 * (delivery, erasure) and rotating the vault makes the record unreadable even
 * from free pages (docs/privacy.md). Every privacy_open wires it (attach
 * below), so the server and the CLI destroy the same keys. Without one (unit
 * tests of the queue alone), plain. */
static vault_t *V;

static void attach(privacy_t *p)
{
    V = p ? privacy_vault(p) : NULL;
}

/* json_dumps that cannot fail: NULL only when memory ran out (the trees
 * dumped here are built from valid strings). */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (s == NULL)
        xalloc_die("json text", 0);
    return s;
}

static void vault_name(const char *id, char *out, size_t n)
{
    snprintf(out, n, "mail:%s", id);
}

/* {"to","msg"} sealed with the message's key, base64 into *out (malloc'd). */
static int seal_record(MDB_txn *txn, const char *id, const char *to, const char *msg, size_t msg_len, char **out)
{
    char name[OUTBOX_ID_MAX + 8];
    uint8_t key[VAULT_KEY_BYTES];
    vault_name(id, name, sizeof(name));
    int rc = vault_key(V, txn, name, 1, key);
    if (rc)
        return rc;
    json_t *o = json_pack("{s:s,s:s%}", "to", to, "msg", msg, msg_len);
    if (o == NULL)
        xalloc_die("outbox record", msg_len);
    char *plain = dump(o);
    json_decref(o);
    size_t pl = strlen(plain), cap = pl + SEAL_OVERHEAD;
    uint8_t *ct = xmalloc(cap);
    char *b = xmalloc(4 * (cap / 3 + 1) + 1);
    size_t cl = seal_encrypt(key, id, strlen(id), plain, pl, ct, cap);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(plain, pl);
    free(plain);
    if (cl == 0 || b64_encode(ct, cl, b, 4 * (cap / 3 + 1) + 1) < 0) {
        free(ct);
        free(b);
        return MDB_CORRUPTED;
    }
    free(ct);
    *out = b;
    return 0;
}

/* The inverse: a new {"to","msg"} object, or an error (VAULT_STALE: retry). */
static int open_record(MDB_txn *txn, const char *id, const char *sealed, json_t **out)
{
    char name[OUTBOX_ID_MAX + 8];
    uint8_t key[VAULT_KEY_BYTES];
    vault_name(id, name, sizeof(name));
    if (V == NULL)
        return MDB_NOTFOUND;
    int rc = vault_key(V, txn, name, 0, key);
    if (rc)
        return rc;
    size_t sl = strlen(sealed), cl = 0, pl = 0;
    uint8_t *ct = xmalloc(B64_DECODED_MAX(sl) + 1), *plain = xmalloc(sl + 1);
    rc = MDB_CORRUPTED;
    if (b64_decode_strict((const uint8_t *)sealed, sl, ct, B64_DECODED_MAX(sl) + 1, &cl) == 0 &&
        seal_decrypt(key, id, strlen(id), ct, cl, plain, sl + 1, &pl) == 0) {
        *out = json_loadb((const char *)plain, pl, 0, NULL);
        rc = *out ? 0 : MDB_CORRUPTED;
        OPENSSL_cleanse(plain, pl);
    }
    OPENSSL_cleanse(key, sizeof(key));
    free(ct);
    free(plain);
    return rc;
}

/* Destroy a message's key (delivery, failure, erasure). */
static int drop_key(MDB_txn *txn, const char *id, size_t idlen, size_t *n)
{
    if (V == NULL)
        return 0;
    char sid[OUTBOX_ID_MAX], name[OUTBOX_ID_MAX + 8];
    snprintf(sid, sizeof(sid), "%.*s", (int)idlen, id);
    vault_name(sid, name, sizeof(name));
    int rc = vault_del(V, txn, name);
    if (rc == 0 && n)
        (*n)++;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the user's mail key: what links case records, queued messages and
 * the cap counter to a person ----
 * With a vault, nothing in the mail DBIs names the user in clear: records
 * carry "utag" = HMAC(mail user key, "mail-user") (32 hex), the cap counter
 * is "d:DAY:<utag>", and a case record's linking fields (pseudonymous id,
 * links with the calendar token) are sealed under that key ("case"). The key
 * is the vault entry "mu:<user>"; erasure destroys it (and rotates), so what
 * stays for the case-record period - and every older copy in free pages -
 * links to no one (docs/privacy.md, "Case records"). */
#define UTAG_HEX 32

static void mu_name(const char *user, char *out, size_t n)
{
    snprintf(out, n, "mu:%s", user);
}

static void utag_of(const uint8_t key[VAULT_KEY_BYTES], char out[UTAG_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[32];
    seal_derive(key, "mail-user", 9, NULL, 0, h);
    for (int i = 0; i < UTAG_HEX / 2; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[UTAG_HEX] = '\0';
}

/* The user's mail key (created with `create`) and tag: 0, MDB_NOTFOUND or an error. */
static int user_mail_key(MDB_txn *txn, const char *user, int create, uint8_t key[VAULT_KEY_BYTES],
                         char utag[UTAG_HEX + 1])
{
    char name[VAULT_MAX_NAME + 1];
    mu_name(user, name, sizeof(name));
    int rc = vault_key(V, txn, name, create, key);
    if (rc == 0)
        utag_of(key, utag);
    return rc;
}

/* json (compact text) sealed under key with the message id as associated
 * data, base64 (malloc'd), or NULL when sealing failed. */
static char *seal_json(const uint8_t key[VAULT_KEY_BYTES], const char *id, const json_t *o)
{
    char *plain = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (plain == NULL) {
        xalloc_die("json text", 0);
        return NULL;
    }
    size_t pl = strlen(plain), cap = pl + SEAL_OVERHEAD, bcap = 4 * (cap / 3 + 1) + 1;
    uint8_t *ct = xmalloc(cap);
    char *b = xmalloc(bcap);
    size_t cl = seal_encrypt(key, id, strlen(id), plain, pl, ct, cap);
    OPENSSL_cleanse(plain, pl);
    free(plain);
    if (cl == 0 || b64_encode(ct, cl, b, bcap) < 0) {
        free(b);
        b = NULL;
    }
    free(ct);
    return b;
}

static json_t *open_json(const uint8_t key[VAULT_KEY_BYTES], const char *id, const char *sealed)
{
    size_t sl = strlen(sealed), cl = 0, pl = 0;
    uint8_t *ct = xmalloc(B64_DECODED_MAX(sl) + 1), *plain = xmalloc(sl + 1);
    json_t *o = NULL;
    if (b64_decode_strict((const uint8_t *)sealed, sl, ct, B64_DECODED_MAX(sl) + 1, &cl) == 0 &&
        seal_decrypt(key, id, strlen(id), ct, cl, plain, sl + 1, &pl) == 0) {
        o = json_loadb((const char *)plain, pl, 0, NULL);
        OPENSSL_cleanse(plain, pl);
    }
    free(ct);
    free(plain);
    return o;
}

static int dbi(store_t *s, const char *name, MDB_dbi *out)
{
    return store_dbi(s, name, out) == 0 ? 0 : MDB_BAD_DBI;
}

static int put_json(MDB_txn *txn, MDB_dbi d, const char *key, json_t *v)
{
    char *s = dump(v);
    MDB_val k = {strlen(key), (void *)key}, val = {strlen(s), s};
    int rc = mdb_put(txn, d, &k, &val, 0);
    free(s);
    return rc;
}

static int get_json(MDB_txn *txn, MDB_dbi d, const char *key, json_t **out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, d, &k, &v);
    if (rc)
        return rc;
    *out = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    return *out ? 0 : MDB_CORRUPTED;
}

static int get_count(MDB_txn *txn, MDB_dbi d, const char *key, long *n)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, d, &k, &v);
    *n = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    char buf[24];
    size_t l = v.mv_size < sizeof(buf) - 1 ? v.mv_size : sizeof(buf) - 1;
    memcpy(buf, v.mv_data, l);
    buf[l] = '\0';
    *n = strtol(buf, NULL, 10);
    return 0;
}

static int put_count(MDB_txn *txn, MDB_dbi d, const char *key, long n)
{
    char buf[24];
    int l = snprintf(buf, sizeof(buf), "%ld", n);
    MDB_val k = {strlen(key), (void *)key}, v = {(size_t)l, buf};
    return mdb_put(txn, d, &k, &v, 0);
}

/* Delete counters of earlier days/hours: keys with `prefix` sorting below `keep`. */
static int prune(MDB_txn *txn, MDB_dbi d, const char *prefix, const char *keep)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    size_t pl = strlen(prefix), kl = strlen(keep);
    MDB_val k = {pl, (void *)prefix}, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pl || memcmp(k.mv_data, prefix, pl) != 0)
            break;
        size_t n = k.mv_size < kl ? k.mv_size : kl;
        int cmp = memcmp(k.mv_data, keep, n);
        if (cmp > 0 || (cmp == 0 && k.mv_size >= kl))
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct enq {
    store_t *s;
    const char *id, *user, *to, *msg;
    size_t msg_len;
    json_t *links;
    const outbox_limits_t *lim;
    long long now;
    int today;
    outbox_verdict_t *verdict;
} enq_t;

static int enqueue_txn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    enq_t *e = ud;
    MDB_dbi dout, dlog, dlim;
    int rc;
    if ((rc = dbi(e->s, DBI_OUTBOX, &dout)) || (rc = dbi(e->s, DBI_LOG, &dlog)) || (rc = dbi(e->s, DBI_LIMITS, &dlim)))
        return rc;
    char day[11], ukey[160], hkey[32], dkeep[16], hkeep[32], utag[UTAG_HEX + 1];
    uint8_t mk[VAULT_KEY_BYTES];
    if (V && (rc = user_mail_key(txn, e->user, 1, mk, utag)) != 0)
        return rc;
    date_format(e->today, day);
    snprintf(ukey, sizeof(ukey), "d:%s:%s", day, V ? utag : e->user);
    snprintf(dkeep, sizeof(dkeep), "d:%s", day);
    snprintf(hkey, sizeof(hkey), "h:%012lld", e->now / 3600);
    snprintf(hkeep, sizeof(hkeep), "%s", hkey);
    if ((rc = prune(txn, dlim, "d:", dkeep)) || (rc = prune(txn, dlim, "h:", hkeep)))
        return rc;
    long un, hn;
    if ((rc = get_count(txn, dlim, ukey, &un)) || (rc = get_count(txn, dlim, hkey, &hn)))
        return rc;
    if (un >= e->lim->user_daily) {
        *e->verdict = OUTBOX_USER_CAPPED;
        return 0;
    }
    if (hn >= e->lim->global_hourly) {
        *e->verdict = OUTBOX_GLOBAL_CAPPED;
        return 0;
    }
    if ((rc = put_count(txn, dlim, ukey, un + 1)) || (rc = put_count(txn, dlim, hkey, hn + 1)))
        return rc;
    json_t *q;
    if (V) {
        char *sealed = NULL;
        if ((rc = seal_record(txn, e->id, e->to, e->msg, e->msg_len, &sealed)) != 0)
            return rc;
        q = json_pack("{s:s,s:s,s:I,s:i,s:I}", "sealed", sealed, "utag", utag, "queued_at", (json_int_t)e->now,
                      "attempts", 0, "next_at_ms", (json_int_t)0);
        free(sealed);
    } else {
        q = json_pack("{s:s,s:s,s:s%,s:I,s:i,s:I}", "to", e->to, "user", e->user, "msg", e->msg, e->msg_len,
                      "queued_at", (json_int_t)e->now, "attempts", 0, "next_at_ms", (json_int_t)0);
    }
    json_t *l;
    if (V) {
        json_t *c = json_pack("{s:s,s:O}", "user", e->user, "links", e->links ? e->links : json_null());
        char *sc = c ? seal_json(mk, e->id, c) : NULL;
        json_decref(c);
        OPENSSL_cleanse(mk, sizeof(mk));
        if (sc == NULL) {
            json_decref(q);
            return MDB_PANIC; /* the random source failed */
        }
        l = json_pack("{s:s,s:s,s:I,s:s,s:i,s:I,s:s}", "kind", "calendar_link", "utag", utag, "queued_at",
                      (json_int_t)e->now, "status", "queued", "attempts", 0, "updated_at", (json_int_t)e->now, "case",
                      sc);
        free(sc);
    } else {
        l = json_pack("{s:s,s:s,s:I,s:s,s:i,s:I,s:O}", "kind", "calendar_link", "user", e->user, "queued_at",
                      (json_int_t)e->now, "status", "queued", "attempts", 0, "updated_at", (json_int_t)e->now, "links",
                      e->links ? e->links : json_null());
    }
    if (q == NULL || l == NULL)
        xalloc_die("outbox record", e->msg_len);
    rc = put_json(txn, dout, e->id, q);
    if (rc == 0)
        rc = put_json(txn, dlog, e->id, l);
    json_decref(q);
    json_decref(l);
    if (rc == 0)
        *e->verdict = OUTBOX_QUEUED;
    (void)err;
    (void)err_size;
    return rc;
}

int outbox_enqueue(store_t *s, const char *id, const char *user, const char *to, const char *msg, size_t msg_len,
                   json_t *links, const outbox_limits_t *lim, long long now, int today, outbox_verdict_t *verdict,
                   char *err, size_t err_size)
{
    enq_t e = {s, id, user, to, msg, msg_len, links, lim, now, today, verdict};
    int rc = store_write(s, enqueue_txn, &e, err, err_size);
    if (rc && !err[0])
        snprintf(err, err_size, "outbox: %s", mdb_strerror(rc));
    return rc;
}

/* ---- enqueue on the writer ---- */

struct enq_job {
    enq_t e; /* first: enqueue_txn gets the job as its argument */
    outbox_verdict_t verdict;
    outbox_limits_t lim;
    char id[OUTBOX_ID_MAX], user[160];
    char *to, *msg; /* owned; wiped at release (they name the recipient) */
    json_t *links;
    outbox_done_fn done;
};

static void enq_job_release(void *arg)
{
    struct enq_job *j = arg;
    if (j->to) {
        OPENSSL_cleanse(j->to, strlen(j->to));
        free(j->to);
    }
    if (j->msg) {
        OPENSSL_cleanse(j->msg, j->e.msg_len);
        free(j->msg);
    }
    json_decref(j->links);
    free(j);
}

static void enq_job_done(void *ud, void *arg, int rc, const char *err)
{
    struct enq_job *j = arg;
    j->done(ud, rc, j->verdict, j->id, err);
}

static const writer_ops_t enq_ops = {enqueue_txn, NULL, NULL, enq_job_done, enq_job_release};

int outbox_enqueue_submit(writer_t *w, writer_port_t *port, store_t *s, const char *id, const char *user,
                          const char *to, const char *msg, size_t msg_len, json_t *links, const outbox_limits_t *lim,
                          long long now, int today, outbox_done_fn done, void *ud, writer_job_t **job)
{
    struct enq_job *j = xcalloc(1, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->user, sizeof(j->user), "%s", user);
    j->to = xstrdup(to);
    j->msg = xmemdup(msg, msg_len);
    j->links = links ? json_deep_copy(links) : NULL; /* the copy is the writer's alone: no shared refcount */
    j->lim = *lim;
    j->done = done;
    j->e = (enq_t){s, j->id, j->user, j->to, j->msg, msg_len, j->links, &j->lim, now, today, &j->verdict};
    return writer_submit(w, &enq_ops, j, port, ud, job);
}

void outbox_item_free(outbox_item_t *it)
{
    if (it->to) /* the address: wipe before free, it must not linger in memory */
        memset(it->to, 0, strlen(it->to));
    if (it->msg) /* its To: header names the recipient too */
        memset(it->msg, 0, it->msg_len);
    free(it->to);
    free(it->msg);
    memset(it, 0, sizeof(*it));
}

int outbox_next(store_reader_t *r, long long now_ms, outbox_item_t *it, long long *earliest_ms, char *err,
                size_t err_size)
{
    MDB_txn *txn;
    memset(it, 0, sizeof(*it));
    *earliest_ms = -1;
    if (store_reader_begin(r, &txn, err, err_size) != 0)
        return -1;
    MDB_dbi d;
    MDB_cursor *c = NULL;
    int rc = dbi(store_reader_store(r), DBI_OUTBOX, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    int found = 0;
    MDB_val k, v;
    /* the outbox is small (bounded by the caps): a scan finds the earliest */
    char best[OUTBOX_ID_MAX] = "";
    long long best_at = -1;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (o == NULL || k.mv_size >= OUTBOX_ID_MAX) {
            json_decref(o);
            continue;
        }
        long long at = (long long)json_integer_value(json_object_get(o, "next_at_ms"));
        if (best_at < 0 || at < best_at) {
            best_at = at;
            memcpy(best, k.mv_data, k.mv_size);
            best[k.mv_size] = '\0';
        }
        json_decref(o);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && best_at >= 0 && best_at <= now_ms) {
        json_t *o = NULL;
        rc = get_json(txn, d, best, &o);
        const char *sealed = rc == 0 ? json_string_value(json_object_get(o, "sealed")) : NULL;
        if (sealed) {
            json_t *inner = NULL;
            rc = open_record(txn, best, sealed, &inner);
            if (rc == 0) {
                json_object_update(o, inner);
                json_decref(inner);
            }
        }
        if (rc == 0) {
            const char *to = json_string_value(json_object_get(o, "to"));
            json_t *m = json_object_get(o, "msg");
            if (to && json_is_string(m)) {
                snprintf(it->id, sizeof(it->id), "%s", best);
                it->to = xstrdup(to);
                it->msg_len = json_string_length(m);
                it->msg = xmemdup(json_string_value(m), it->msg_len);
                it->attempts = (int)json_integer_value(json_object_get(o, "attempts"));
                it->next_at_ms = best_at;
                found = 1;
            } else {
                rc = MDB_CORRUPTED;
            }
            json_decref(o);
        }
    }
    if (c)
        mdb_cursor_close(c);
    store_reader_end(r);
    if (rc) {
        snprintf(err, err_size, "outbox: %s", mdb_strerror(rc));
        return -1;
    }
    *earliest_ms = best_at;
    return found;
}

typedef struct upd {
    store_t *s;
    const char *id, *status, *error;
    int attempts, finish;
    long smtp_code;
    long long next_at_ms, now;
    int rotated; /* out: the vault was rotated, sweep after the commit */
} upd_t;

static int update_txn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    upd_t *u = ud;
    MDB_dbi dout, dlog;
    int rc;
    u->rotated = 0;
    if ((rc = dbi(u->s, DBI_OUTBOX, &dout)) || (rc = dbi(u->s, DBI_LOG, &dlog)))
        return rc;
    json_t *lg = NULL;
    rc = get_json(txn, dlog, u->id, &lg);
    if (rc == MDB_NOTFOUND) { /* erased meanwhile (user forget): keep no record */
        lg = NULL;
        rc = 0;
    }
    if (rc)
        return rc;
    if (u->finish) {
        MDB_val k = {strlen(u->id), (void *)u->id};
        rc = mdb_del(txn, dout, &k, NULL);
        if (rc && rc != MDB_NOTFOUND) {
            json_decref(lg);
            return rc;
        }
        size_t dropped = 0;
        rc = drop_key(txn, u->id, strlen(u->id), &dropped);
        /* The address is kept only until the SMTP server has answered: the
         * deleted key (and the sealed record) stay in LMDB's free pages,
         * readable with the current KEK, so retire that KEK now, in this txn,
         * rather than at the next erasure (docs/privacy.md, "Delivered"). */
        if (rc == 0 && dropped > 0)
            rc = vault_rotate(V, txn, err, err_size);
        if (rc) {
            json_decref(lg);
            return rc;
        }
        u->rotated = dropped > 0;
    } else {
        json_t *q = NULL;
        rc = get_json(txn, dout, u->id, &q);
        if (rc) {
            json_decref(lg);
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        json_object_set_new(q, "attempts", json_integer(u->attempts));
        json_object_set_new(q, "next_at_ms", json_integer(u->next_at_ms));
        rc = put_json(txn, dout, u->id, q);
        json_decref(q);
    }
    if (rc == 0 && lg) {
        json_object_set_new(lg, "status", json_string(u->status));
        json_object_set_new(lg, "attempts", json_integer(u->attempts));
        json_object_set_new(lg, "updated_at", json_integer(u->now));
        if (u->smtp_code)
            json_object_set_new(lg, "smtp_code", json_integer(u->smtp_code));
        if (u->error)
            json_object_set_new(lg, "error", json_string(u->error));
        else
            json_object_del(lg, "error");
        rc = put_json(txn, dlog, u->id, lg);
    }
    json_decref(lg);
    return rc;
}

static int update(upd_t *u, char *err, size_t err_size)
{
    int rc = store_write(u->s, update_txn, u, err, err_size);
    if (rc && !err[0])
        snprintf(err, err_size, "outbox: %s", mdb_strerror(rc));
    /* committed with a rotation: the old KEK file goes now (a failure leaves
     * it to the next sweep, at the next open or rotation) */
    char serr[300];
    if (rc == 0 && u->rotated && vault_sweep(V, serr, sizeof(serr)) != 0)
        log_error("mail.sweep", "error=\"%s\"", serr);
    return rc;
}

int outbox_finish(store_t *s, const char *id, const char *status, int attempts, long smtp_code, const char *error,
                  long long now, char *err, size_t err_size)
{
    upd_t u = {s, id, status, error, attempts, 1, smtp_code, 0, now, 0};
    return update(&u, err, err_size);
}

int outbox_retry(store_t *s, const char *id, int attempts, long long next_at_ms, long smtp_code, const char *error,
                 long long now, char *err, size_t err_size)
{
    upd_t u = {s, id, "queued", error, attempts, 0, smtp_code, next_at_ms, now, 0};
    return update(&u, err, err_size);
}

long outbox_pending(store_reader_t *r)
{
    MDB_txn *txn;
    char err[200];
    if (store_reader_begin(r, &txn, err, sizeof(err)) != 0)
        return -1;
    MDB_dbi d;
    MDB_stat st;
    long n = -1;
    if (dbi(store_reader_store(r), DBI_OUTBOX, &d) == 0 && mdb_stat(txn, d, &st) == 0)
        n = (long)st.ms_entries;
    store_reader_end(r);
    return n;
}

int outbox_stats(store_reader_t *r, long *pending, long long *oldest_queued_at)
{
    MDB_txn *txn;
    char err[200];
    *pending = 0;
    *oldest_queued_at = 0;
    if (store_reader_begin(r, &txn, err, sizeof(err)) != 0)
        return -1;
    MDB_dbi d;
    MDB_cursor *c = NULL;
    int rc = dbi(store_reader_store(r), DBI_OUTBOX, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    MDB_val k, v;
    /* the outbox is small (bounded by the caps), as in outbox_next */
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        long long at = (long long)json_integer_value(json_object_get(o, "queued_at"));
        json_decref(o);
        (*pending)++;
        if (at > 0 && (*oldest_queued_at == 0 || at < *oldest_queued_at))
            *oldest_queued_at = at;
    }
    if (c)
        mdb_cursor_close(c);
    store_reader_end(r);
    return rc == MDB_NOTFOUND ? 0 : -1;
}

int outbox_log_each(store_reader_t *r, outbox_log_fn fn, void *ud, char *err, size_t err_size)
{
    MDB_txn *txn;
    if (store_reader_begin(r, &txn, err, err_size) != 0)
        return -1;
    MDB_dbi d;
    MDB_cursor *c = NULL;
    int rc = dbi(store_reader_store(r), DBI_LOG, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    MDB_val k, v;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ud);
    if (c)
        mdb_cursor_close(c);
    store_reader_end(r);
    if (rc != MDB_NOTFOUND) {
        snprintf(err, err_size, "mail log: %s", mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- privacy (privacy.h): export, forget, retention ----------------------------- */

/* Each record of DBI `name` whose "user" is user_hex (all when NULL), passing
 * (cursor, key, parsed record); fn returns an MDB code. */
typedef int (*each_fn)(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud);

static int each_of(privacy_t *p, MDB_txn *txn, const char *name, const char *user_hex, each_fn fn, void *ud)
{
    MDB_dbi d;
    MDB_cursor *c;
    /* with a vault records name the user's tag, not the user */
    const char *field = V ? "utag" : "user";
    char utag[UTAG_HEX + 1];
    if (V && user_hex) {
        uint8_t mk[VAULT_KEY_BYTES];
        int r = user_mail_key(txn, user_hex, 0, mk, utag);
        OPENSSL_cleanse(mk, sizeof(mk));
        if (r == MDB_NOTFOUND)
            return 0; /* no key: nothing of the user's can be found (or read) */
        if (r)
            return r;
        user_hex = utag;
    }
    int rc = dbi(privacy_store(p), name, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (o == NULL)
            continue;
        const char *u = json_string_value(json_object_get(o, field));
        if (user_hex == NULL || (u && strcmp(u, user_hex) == 0))
            rc = fn(c, &k, o, ud);
        json_decref(o);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

struct export_ctx {
    MDB_txn *txn;
    json_t *list;
    const uint8_t *mk; /* the user's mail key (NULL without a vault) */
    int queued;        /* the outbox (1) or the case records (0) */
};

/* Unix seconds (as stored) as ISO 8601 with zone, in place. */
static void iso_member(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v))
        return;
    char at[40];
    json_object_set_new(o, name, json_string(privacy_iso_time((int64_t)json_integer_value(v) * 1000, at, sizeof(at))));
}

static int export_one(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    struct export_ctx *x = ud;
    (void)c;
    char id[OUTBOX_ID_MAX];
    snprintf(id, sizeof(id), "%.*s", (int)(k->mv_size < OUTBOX_ID_MAX ? k->mv_size : OUTBOX_ID_MAX - 1),
             (const char *)k->mv_data);
    json_t *copy = json_deep_copy(rec);
    const char *sealed = json_string_value(json_object_get(rec, x->queued ? "sealed" : "case"));
    if (sealed && x->queued) { /* the recipient while it is held; the body adds nothing */
        json_t *inner = NULL;
        if (open_record(x->txn, id, sealed, &inner) == 0) {
            json_object_set(copy, "to", json_object_get(inner, "to"));
            json_decref(inner);
        } else {
            json_object_set_new(copy, "to", json_string("(unreadable)"));
        }
    } else if (sealed && x->mk) {
        json_t *inner = open_json(x->mk, id, sealed);
        if (inner)
            json_object_update(copy, inner);
        json_decref(inner);
    }
    json_object_del(copy, "sealed");
    json_object_del(copy, "case");
    json_object_del(copy, "msg");
    json_object_del(copy, "utag");
    json_object_del(copy, "next_at_ms");
    iso_member(copy, "queued_at");
    iso_member(copy, "updated_at");
    json_object_set_new(copy, "id", json_string(id));
    json_array_append_new(x->list, copy);
    return 0;
}

/* The user's cap counters: "d:DAY:<tag>" -> count. */
static int each_counter(MDB_txn *txn, store_t *s, const char *tag, int del, json_t *out, size_t *n)
{
    MDB_dbi d;
    MDB_cursor *c;
    int rc = dbi(s, DBI_LIMITS, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    size_t tl = strlen(tag);
    MDB_val k = {2, (void *)"d:"}, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;) {
        const char *kb = k.mv_data;
        if (k.mv_size < 2 || memcmp(kb, "d:", 2) != 0)
            break;
        /* d:YYYY-MM-DD:<tag> */
        if (k.mv_size == 2 + 10 + 1 + tl && memcmp(kb + 13, tag, tl) == 0) {
            if (out) {
                char day[11], num[24];
                snprintf(day, sizeof(day), "%.10s", kb + 2);
                snprintf(num, sizeof(num), "%.*s", (int)(v.mv_size < 23 ? v.mv_size : 23), (const char *)v.mv_data);
                json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "counter", "emails_sent_on_day", "day", day,
                                                     "count", (json_int_t)strtoll(num, NULL, 10)));
            }
            if (del) {
                if ((rc = mdb_cursor_del(c, 0)) != 0)
                    break;
                (*n)++;
                rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
                if (rc == EINVAL) /* deleted the last one */
                    rc = MDB_NOTFOUND;
                continue;
            }
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int export_user(privacy_t *p, MDB_txn *txn, const char *user_hex, json_t **out, char *err, size_t err_size)
{
    uint8_t mk[VAULT_KEY_BYTES];
    char utag[UTAG_HEX + 1];
    int have = 0, rc = 0;
    if (V) {
        rc = user_mail_key(txn, user_hex, 0, mk, utag);
        if (rc == MDB_NOTFOUND)
            return 0; /* nothing of the user's can be read */
        have = rc == 0;
    }
    json_t *q = json_array(), *l = json_array(), *cn = json_array();
    struct export_ctx xq = {txn, q, have ? mk : NULL, 1}, xl = {txn, l, have ? mk : NULL, 0};
    if (rc == 0)
        rc = each_of(p, txn, DBI_OUTBOX, user_hex, export_one, &xq);
    if (rc == 0)
        rc = each_of(p, txn, DBI_LOG, user_hex, export_one, &xl);
    if (rc == 0)
        rc = each_counter(txn, privacy_store(p), have ? utag : user_hex, 0, cn, NULL);
    OPENSSL_cleanse(mk, sizeof(mk));
    if (rc) {
        json_decref(q);
        json_decref(l);
        json_decref(cn);
        snprintf(err, err_size, "email export: %s", mdb_strerror(rc));
        return rc;
    }
    if (json_array_size(q) == 0 && json_array_size(l) == 0 && json_array_size(cn) == 0) {
        json_decref(q);
        json_decref(l);
        json_decref(cn);
        return 0;
    }
    *out = json_pack("{s:o,s:o,s:o}", "queued", q, "case_records", l, "counters", cn);
    return 0;
}

typedef struct forget_ctx {
    MDB_txn *txn;
    MDB_dbi log;
    unsigned what;
    size_t n;
} forget_ctx_t;

/* a queued message of the user: delete it (and with it the address) and say
 * so in its case record */
static int cancel_one(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    forget_ctx_t *f = ud;
    (void)rec;
    int rc = mdb_cursor_del(c, 0);
    if (rc == 0)
        rc = drop_key(f->txn, k->mv_data, k->mv_size, &f->n);
    if (rc)
        return rc;
    f->n++;
    MDB_val lv;
    MDB_val lk = *k;
    if (mdb_get(f->txn, f->log, &lk, &lv) == 0) {
        json_t *lg = json_loadb(lv.mv_data, lv.mv_size, 0, NULL);
        if (lg) {
            json_object_set_new(lg, "status", json_string("cancelled"));
            char *s = dump(lg);
            json_decref(lg);
            MDB_val nv = {strlen(s), s};
            rc = mdb_put(f->txn, f->log, &lk, &nv, 0);
            free(s);
        }
    }
    return rc;
}

/* a case record of the user: stripped to time, kind, outcome and the
 * pseudonymous id (ERASE_USER), or deleted (`binday user forget`) */
static int strip_one(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    forget_ctx_t *f = ud;
    if (f->what & PRIVACY_ERASE_EVENT_STATE) {
        f->n++;
        return mdb_cursor_del(c, 0);
    }
    if (!json_object_get(rec, "links") && !json_object_get(rec, "case") && !json_object_get(rec, "utag") &&
        !json_object_get(rec, "user"))
        return 0;
    /* what the council needs of the case: when, what, what became of it;
     * nothing that links it to a person (pseudonym, its tag) or a property
     * (the feed links carry the calendar token) */
    json_object_del(rec, "links");
    json_object_del(rec, "case");
    json_object_del(rec, "utag");
    json_object_del(rec, "user");
    json_object_del(rec, "error");
    char *s = dump(rec);
    MDB_val key = *k, nv = {strlen(s), s};
    int rc = mdb_put(f->txn, f->log, &key, &nv, 0);
    free(s);
    f->n++;
    return rc;
}

static int forget(privacy_t *p, MDB_txn *txn, const char *user_hex, unsigned what, size_t *n_erased, char *err,
                  size_t err_size)
{
    if (!(what & (PRIVACY_ERASE_EMAIL | PRIVACY_ERASE_USER)))
        return 0;
    forget_ctx_t f = {txn, 0, what, 0};
    int rc = dbi(privacy_store(p), DBI_LOG, &f.log);
    if (rc == 0)
        rc = each_of(p, txn, DBI_OUTBOX, user_hex, cancel_one, &f);
    if (rc == 0 && (what & PRIVACY_ERASE_USER))
        rc = each_of(p, txn, DBI_LOG, user_hex, strip_one, &f);
    if (rc == 0 && (what & PRIVACY_ERASE_USER)) {
        /* the cap counter, then the key that links everything above */
        char utag[UTAG_HEX + 1], name[VAULT_MAX_NAME + 1];
        uint8_t mk[VAULT_KEY_BYTES];
        int r = V ? user_mail_key(txn, user_hex, 0, mk, utag) : 0;
        OPENSSL_cleanse(mk, sizeof(mk));
        if (r == 0)
            rc = each_counter(txn, privacy_store(p), V ? utag : user_hex, 1, NULL, &f.n);
        else if (r != MDB_NOTFOUND)
            rc = r;
        if (rc == 0 && V && r == 0) {
            mu_name(user_hex, name, sizeof(name));
            if ((rc = vault_del(V, txn, name)) == 0)
                f.n++;
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    if (rc) {
        snprintf(err, err_size, "email forget: %s", mdb_strerror(rc));
        return rc;
    }
    *n_erased += f.n;
    return 0;
}

typedef struct purge_ctx {
    int cutoff;
    size_t n;
} purge_ctx_t;

static int purge_one(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    purge_ctx_t *pc = ud;
    (void)k;
    json_t *st = json_object_get(rec, "status");
    if (json_is_string(st) && strcmp(json_string_value(st), "queued") == 0)
        return 0; /* still being delivered */
    long long at = (long long)json_integer_value(json_object_get(rec, "queued_at"));
    if (date_london_from_unix((time_t)at) >= pc->cutoff)
        return 0;
    pc->n++;
    return mdb_cursor_del(c, 0);
}

struct orphan_ctx {
    MDB_txn *txn;
    MDB_dbi out;
};

/* A message key whose message is gone: left by an erasure or delivery in a
 * process that had no vault wired into the outbox (before issue 15 every CLI
 * command). Nothing can need it any more. */
static int orphan_key(void *ud, const char *name, const uint8_t *val, size_t len)
{
    struct orphan_ctx *o = ud;
    (void)val;
    (void)len;
    const char *id = name + 5; /* after "mail:" */
    MDB_val k = {strlen(id), (void *)id}, v;
    return mdb_get(o->txn, o->out, &k, &v) == MDB_NOTFOUND;
}

/* The tags still used by a record or a counter, sorted, to find user keys
 * with nothing left to link (purge). */
struct tags {
    char (*t)[UTAG_HEX + 1];
    size_t n, cap;
};

static void add_tag(struct tags *t, const char *tag, size_t len)
{
    if (len != UTAG_HEX)
        return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->t = xrealloc(t->t, t->cap * sizeof(*t->t));
    }
    memcpy(t->t[t->n], tag, UTAG_HEX);
    t->t[t->n++][UTAG_HEX] = '\0';
}

static int tag_of_rec(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    (void)c;
    (void)k;
    const char *u = json_string_value(json_object_get(rec, "utag"));
    if (u)
        add_tag(ud, u, strlen(u));
    return 0;
}

static int cmp_tag(const void *a, const void *b)
{
    return memcmp(a, b, UTAG_HEX);
}

/* a user mail key whose tag nothing uses any more */
static int unused_user_key(void *ud, const char *name, const uint8_t *val, size_t len)
{
    struct tags *t = ud;
    (void)name;
    if (len != VAULT_KEY_BYTES)
        return 0;
    char tag[UTAG_HEX + 1];
    if (t->n == 0)
        return 1;
    utag_of(val, tag);
    return bsearch(tag, t->t, t->n, sizeof(*t->t), cmp_tag) == NULL;
}

static int purge_user_keys(privacy_t *p, MDB_txn *txn, size_t *n)
{
    struct tags t = {NULL, 0, 0};
    int rc = each_of(p, txn, DBI_OUTBOX, NULL, tag_of_rec, &t);
    if (rc == 0)
        rc = each_of(p, txn, DBI_LOG, NULL, tag_of_rec, &t);
    MDB_dbi d;
    MDB_cursor *c = NULL;
    if (rc == 0 && (rc = dbi(privacy_store(p), DBI_LIMITS, &d)) == 0)
        rc = mdb_cursor_open(txn, d, &c);
    MDB_val k = {2, (void *)"d:"}, v;
    for (int r = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && r == 0;
         r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 2 || memcmp(k.mv_data, "d:", 2) != 0)
            break;
        if (k.mv_size == 13 + UTAG_HEX)
            add_tag(&t, (const char *)k.mv_data + 13, UTAG_HEX);
    }
    if (c)
        mdb_cursor_close(c);
    if (t.n)
        qsort(t.t, t.n, sizeof(*t.t), cmp_tag);
    if (rc == 0)
        rc = vault_del_if(privacy_vault(p), txn, "mu:", unused_user_key, &t, n);
    free(t.t);
    return rc;
}

static int purge(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n_erased, char *err, size_t err_size)
{
    purge_ctx_t pc = {privacy_cutoff(p, PRIVACY_CASE_RECORDS, as_of_day), 0};
    struct orphan_ctx oc = {txn, 0};
    int rc = dbi(privacy_store(p), DBI_OUTBOX, &oc.out);
    if (rc == 0)
        rc = vault_del_if(privacy_vault(p), txn, "mail:", orphan_key, &oc, &pc.n);
    if (rc == 0)
        rc = each_of(p, txn, DBI_LOG, NULL, purge_one, &pc);
    /* cap counters of days before as_of (they count only on their day, and
     * until the next enqueue prunes them they would keep a user key alive) */
    MDB_dbi dlim;
    char keep[16], day[11];
    snprintf(keep, sizeof(keep), "d:%s", date_format(as_of_day, day));
    if (rc == 0 && (rc = dbi(privacy_store(p), DBI_LIMITS, &dlim)) == 0)
        rc = prune(txn, dlim, "d:", keep);
    if (rc == 0 && V)
        rc = purge_user_keys(p, txn, &pc.n);
    if (rc) {
        snprintf(err, err_size, "email purge: %s", mdb_strerror(rc));
        return rc;
    }
    *n_erased += pc.n;
    return 0;
}

/* Records of the layout before issue 15 name the user in clear ("user",
 * and the case record's "links"): seal them as enqueue now does. Free pages
 * keep the old copies until the file is compacted - `binday backup` then
 * `binday restore --replace` does that (docs/privacy.md, "Case records"). */
struct upg {
    MDB_txn *txn;
    int log; /* mail_log (1) or mail_outbox (0) */
    size_t n;
};

static int upgrade_one(MDB_cursor *c, const MDB_val *k, json_t *rec, void *ud)
{
    struct upg *u = ud;
    const char *user = json_string_value(json_object_get(rec, "user"));
    if (user == NULL || json_object_get(rec, "utag"))
        return 0;
    char id[OUTBOX_ID_MAX], utag[UTAG_HEX + 1];
    uint8_t mk[VAULT_KEY_BYTES];
    snprintf(id, sizeof(id), "%.*s", (int)(k->mv_size < OUTBOX_ID_MAX ? k->mv_size : OUTBOX_ID_MAX - 1),
             (const char *)k->mv_data);
    int rc = user_mail_key(u->txn, user, 1, mk, utag);
    if (rc)
        return rc;
    json_t *copy = json_deep_copy(rec);
    if (u->log) {
        json_t *cs = json_pack("{s:s,s:O}", "user", user, "links",
                               json_object_get(rec, "links") ? json_object_get(rec, "links") : json_null());
        char *sc = cs ? seal_json(mk, id, cs) : NULL;
        json_decref(cs);
        if (sc == NULL) {
            json_decref(copy);
            OPENSSL_cleanse(mk, sizeof(mk));
            return MDB_PANIC;
        }
        json_object_set_new(copy, "case", json_string(sc));
        free(sc);
        json_object_del(copy, "links");
    }
    OPENSSL_cleanse(mk, sizeof(mk));
    json_object_del(copy, "user");
    json_object_set_new(copy, "utag", json_string(utag));
    char *txt = dump(copy);
    json_decref(copy);
    MDB_val key = {strlen(id), id}, nv = {strlen(txt), txt};
    rc = mdb_cursor_put(c, &key, &nv, MDB_CURRENT);
    free(txt);
    if (rc == 0)
        u->n++;
    return rc;
}

static int upgrade(privacy_t *p, MDB_txn *txn, size_t *n_changed, char *err, size_t err_size)
{
    if (V == NULL)
        return 0;
    struct upg u = {txn, 0, 0};
    /* each_of matches on "utag" with a vault: walk every record (user NULL) */
    int rc = each_of(p, txn, DBI_OUTBOX, NULL, upgrade_one, &u);
    if (rc == 0) {
        u.log = 1;
        rc = each_of(p, txn, DBI_LOG, NULL, upgrade_one, &u);
    }
    /* counters keyed by the old pseudonym cannot be told from new ones: a
     * one-off reset of today's caps */
    MDB_dbi dlim;
    if (rc == 0 && u.n > 0 && (rc = dbi(privacy_store(p), DBI_LIMITS, &dlim)) == 0)
        rc = prune(txn, dlim, "d:", "d:~");
    if (rc) {
        snprintf(err, err_size, "email upgrade (sealing case records): %s", mdb_strerror(rc));
        return rc;
    }
    *n_changed += u.n;
    return 0;
}

const privacy_module_t outbox_privacy_module = {"email", outbox_dbi_defs, OUTBOX_N_DBI, export_user, forget, purge,
                                                upgrade, attach};
