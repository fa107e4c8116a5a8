/* privacy.c - owns the orchestration of erasure, retention and export across
 * the registered stores (privacy_modules.c), the ordering of skill events
 * (per-user state in the vault, name "ev:<user>"), and retention periods. */
#include "binday/privacy/privacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/alexa/alexa_request.h"
#include "binday/data/keyfile.h"
#include "binday/privacy/seal.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/util/xalloc.h"

struct privacy {
    store_t *store;
    vault_t *vault;
    secret_key_t user_key;
    secret_key_t journal_key;
    privacy_retention_t ret;
    void (*before_erase)(void *ud);
    void *before_erase_ud;
    writer_t *writer;
};

void privacy_set_writer(privacy_t *p, writer_t *w)
{
    p->writer = w;
}

writer_t *privacy_writer(const privacy_t *p)
{
    return p->writer;
}

void privacy_set_before_erase(privacy_t *p, void (*fn)(void *ud), void *ud)
{
    p->before_erase = fn;
    p->before_erase_ud = ud;
}

static void before_erase(privacy_t *p)
{
    if (p->before_erase)
        p->before_erase(p->before_erase_ud);
}

store_t *privacy_store(privacy_t *p)
{
    return p->store;
}

vault_t *privacy_vault(privacy_t *p)
{
    return p->vault;
}

void privacy_user_hex(const privacy_t *p, const char *alexa_user_id, char *out, size_t out_size)
{
    secret_hmac_hex(&p->user_key, alexa_user_id, strlen(alexa_user_id), out, out_size);
}

/* as_of minus whole calendar months, the day clamped to the month's length */
static int months_back(int as_of, int months)
{
    int y, m, d;
    date_to_ymd(as_of, &y, &m, &d);
    int mi = y * 12 + (m - 1) - months;
    y = mi / 12;
    m = mi % 12 + 1;
    int dim = date_days_in_month(y, m);
    return date_from_ymd(y, m, d > dim ? dim : d);
}

int privacy_cutoff(const privacy_t *p, privacy_class_t cls, int as_of_day)
{
    if (cls == PRIVACY_TRANSCRIPTS)
        return p->ret.transcripts_days > 0 ? as_of_day - p->ret.transcripts_days : months_back(as_of_day, 6);
    return p->ret.case_records_days > 0 ? as_of_day - p->ret.case_records_days : months_back(as_of_day, 72);
}

const store_dbi_def_t *privacy_dbi_defs(size_t *n)
{
    static store_dbi_def_t defs[32];
    static size_t nd;
    if (nd == 0) {
        defs[nd++] = vault_dbi_def;
        defs[nd++] = (store_dbi_def_t){PRIVACY_JOURNAL_DBI, 0};
        for (size_t i = 0; i < privacy_n_modules; i++)
            for (size_t j = 0; j < privacy_modules[i]->n_dbis; j++) {
                if (nd == sizeof(defs) / sizeof(defs[0]))
                    abort(); /* the registry outgrew the table: a build-time mistake */
                defs[nd++] = privacy_modules[i]->dbis[j];
            }
    }
    *n = nd;
    return defs;
}

static int upgrade_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    privacy_t *p = ud;
    for (size_t i = 0; i < privacy_n_modules; i++) {
        size_t k = 0;
        if (privacy_modules[i]->upgrade == NULL)
            continue;
        int rc = privacy_modules[i]->upgrade(p, txn, &k, err, err_size);
        if (rc)
            return rc;
        if (k > 0)
            log_warn("privacy.upgrade", "store=%s records=%zu note=\"records of an older layout converted or dropped (docs/privacy.md)\"",
                     privacy_modules[i]->name, k);
    }
    return 0;
}

/* Hand the modules that want it the handle (NULL: detach, at close). */
static void attach_all(privacy_t *p)
{
    for (size_t i = 0; i < privacy_n_modules; i++)
        if (privacy_modules[i]->attach)
            privacy_modules[i]->attach(p);
}

int privacy_open(store_t *s, const char *dir, const secret_key_t *user_key, const privacy_retention_t *ret,
                 privacy_t **out, char *err, size_t err_size)
{
    privacy_t *p = xcalloc(1, sizeof(*p));
    p->store = s;
    p->user_key = *user_key;
    if (ret)
        p->ret = *ret;
    if (store_keyfile(s, dir, PRIVACY_JOURNAL_KEY_FILE, 1, &p->journal_key, err, err_size) != 0 ||
        vault_open(s, dir, &p->vault, err, err_size) != 0) {
        memset(p, 0, sizeof(*p));
        free(p);
        return -1;
    }
    attach_all(p);
    if (store_write(s, upgrade_fn, p, err, err_size) != 0) {
        privacy_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

void privacy_close(privacy_t *p)
{
    if (p == NULL)
        return;
    attach_all(NULL);
    vault_close(p->vault);
    memset(&p->user_key, 0, sizeof(p->user_key));
    memset(&p->journal_key, 0, sizeof(p->journal_key));
    free(p);
}

/* Entries of the vault-less DBI: whether the store holds personal data yet. */
static long dbi_entries(store_t *s, const char *name)
{
    MDB_dbi d;
    if (store_dbi(s, name, &d) != 0)
        return -1;
    store_reader_t *r = store_reader_new(s);
    MDB_txn *txn;
    char err[200];
    long n = -1;
    MDB_stat st;
    if (r && store_reader_begin(r, &txn, err, sizeof(err)) == 0) {
        if (mdb_stat(txn, d, &st) == 0)
            n = (long)st.ms_entries;
        store_reader_end(r);
    }
    store_reader_free(r);
    return n;
}

int privacy_load_user_key(store_t *s, const char *dir, secret_key_t *out, char *err, size_t err_size)
{
    /* a store with vault entries but no registered pseudonym key was written
     * before the registry: its key can only be restored, not made anew */
    return store_keyfile(s, dir, PRIVACY_USER_KEY_FILE, dbi_entries(s, VAULT_DBI_NAME) == 0, out, err, err_size);
}

char *privacy_iso_time(int64_t ms, char *out, size_t n)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char b[32];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", b, (int)(ms - (int64_t)secs * 1000));
    return out;
}

/* ---- the erasure journal ------------------------------------------------------ */

void privacy_journal_tag(const secret_key_t *jk, const char *user_hex, uint8_t tag[PRIVACY_JOURNAL_TAG])
{
    uint8_t h[32];
    seal_derive(jk->k, "erasure-journal:", 16, user_hex, strlen(user_hex), h);
    memcpy(tag, h, PRIVACY_JOURNAL_TAG);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append (time | tag -> what) in the erasure's own txn, so the journal and
 * the erasure commit together. */
static int journal_append(privacy_t *p, MDB_txn *txn, const char *user, unsigned what)
{
    MDB_dbi d;
    if (store_dbi(p->store, PRIVACY_JOURNAL_DBI, &d) != 0)
        return MDB_BAD_DBI;
    uint8_t k[8 + PRIVACY_JOURNAL_TAG], v[4];
    uint64_t t = (uint64_t)now_ms();
    for (int i = 7; i >= 0; i--, t >>= 8)
        k[i] = (uint8_t)t;
    privacy_journal_tag(&p->journal_key, user, k + 8);
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)(what >> (24 - 8 * i));
    MDB_val kv = {sizeof(k), k}, vv = {sizeof(v), v};
    return mdb_put(txn, d, &kv, &vv, 0);
}

struct jput {
    privacy_t *p;
    const uint8_t *tag;
    int64_t ts;
    unsigned what;
};

static int journal_put_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct jput *a = ud;
    MDB_dbi d;
    if (store_dbi(a->p->store, PRIVACY_JOURNAL_DBI, &d) != 0)
        return MDB_BAD_DBI;
    uint8_t k[8 + PRIVACY_JOURNAL_TAG], v[4];
    uint64_t t = (uint64_t)a->ts;
    for (int i = 7; i >= 0; i--, t >>= 8)
        k[i] = (uint8_t)t;
    memcpy(k + 8, a->tag, PRIVACY_JOURNAL_TAG);
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)(a->what >> (24 - 8 * i));
    MDB_val kv = {sizeof(k), k}, vv = {sizeof(v), v};
    int rc = mdb_put(txn, d, &kv, &vv, 0);
    if (rc)
        snprintf(err, err_size, "erasure journal: %s", mdb_strerror(rc));
    return rc;
}

int privacy_journal_put(privacy_t *p, const uint8_t tag[PRIVACY_JOURNAL_TAG], int64_t ts_ms, unsigned what, char *err,
                        size_t err_size)
{
    struct jput a = {p, tag, ts_ms, what};
    return store_write(p->store, journal_put_fn, &a, err, err_size) == 0 ? 0 : -1;
}

int privacy_journal_each(store_t *s, int64_t since_ms, privacy_journal_fn fn, void *ud, char *err, size_t err_size)
{
    MDB_dbi d;
    if (store_dbi(s, PRIVACY_JOURNAL_DBI, &d) != 0) {
        snprintf(err, err_size, "erasure journal: the store was not opened with privacy_dbi_defs()");
        return -1;
    }
    store_reader_t *r = store_reader_new(s);
    MDB_txn *txn;
    if (r == NULL || store_reader_begin(r, &txn, err, err_size) != 0) {
        store_reader_free(r);
        return -1;
    }
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, d, &c);
    MDB_val k, v;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 + PRIVACY_JOURNAL_TAG || v.mv_size != 4)
            continue;
        const uint8_t *kb = k.mv_data, *vb = v.mv_data;
        uint64_t t = 0;
        for (int i = 0; i < 8; i++)
            t = t << 8 | kb[i];
        if ((int64_t)t <= since_ms)
            continue;
        unsigned what = (unsigned)vb[0] << 24 | (unsigned)vb[1] << 16 | (unsigned)vb[2] << 8 | vb[3];
        fn(ud, kb + 8, (int64_t)t, what);
    }
    if (c)
        mdb_cursor_close(c);
    store_reader_end(r);
    store_reader_free(r);
    if (rc != MDB_NOTFOUND) {
        snprintf(err, err_size, "erasure journal: %s", mdb_strerror(rc));
        return -1;
    }
    return 0;
}

const secret_key_t *privacy_journal_key(const privacy_t *p)
{
    return &p->journal_key;
}

/* Vault names that carry a user's pseudonymous id after this prefix (every
 * module keeps a per-user key there: choices, transcripts, email, events). */
static const char *const user_prefixes[] = {"c:", "t:", "mu:", "ev:"};

struct users_ctx {
    char (*users)[SECRET_HEX_LEN + 1];
    size_t n, cap;
};

static int collect_user(void *ud, const char *name, const uint8_t *val, size_t len)
{
    struct users_ctx *u = ud;
    (void)val;
    (void)len;
    const char *hex = strchr(name, ':');
    if (hex == NULL || strlen(hex + 1) != SECRET_HEX_LEN)
        return 0;
    for (size_t i = 0; i < u->n; i++)
        if (memcmp(u->users[i], hex + 1, SECRET_HEX_LEN) == 0)
            return 0;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 64;
        u->users = xrealloc(u->users, u->cap * sizeof(*u->users));
    }
    memcpy(u->users[u->n++], hex + 1, SECRET_HEX_LEN + 1);
    return 0; /* never delete: a walk */
}

static int users_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct users_ctx *u = ((void **)ud)[1];
    privacy_t *p = ((void **)ud)[0];
    for (size_t i = 0; i < sizeof(user_prefixes) / sizeof(user_prefixes[0]); i++) {
        size_t n = 0;
        int rc = vault_del_if(p->vault, txn, user_prefixes[i], collect_user, u, &n);
        if (rc) {
            snprintf(err, err_size, "users: %s", mdb_strerror(rc));
            return rc;
        }
    }
    return MDB_NOTFOUND; /* read only: abort the txn */
}

int privacy_users_each(privacy_t *p, void (*fn)(void *ud, const char *user_hex), void *ud, char *err, size_t err_size)
{
    struct users_ctx u = {NULL, 0, 0};
    void *args[2] = {p, &u};
    int rc = store_write(p->store, users_fn, args, err, err_size);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        free(u.users);
        return -1;
    }
    for (size_t i = 0; i < u.n; i++)
        fn(ud, u.users[i]);
    free(u.users);
    return 0;
}

/* ---- erasure ----------------------------------------------------------------- */

static int erase_in_txn(privacy_t *p, MDB_txn *txn, const char *user, unsigned what, size_t *n, char *err,
                        size_t err_size)
{
    for (size_t i = 0; i < privacy_n_modules; i++) {
        const privacy_module_t *m = privacy_modules[i];
        size_t k = 0;
        if (m->forget == NULL)
            continue;
        int rc = m->forget(p, txn, user, what, &k, err, err_size);
        if (rc)
            return rc;
        *n += k;
    }
    return 0;
}

struct erase_args {
    privacy_t *p;
    const char *user;
    unsigned what;
    size_t n;
};

static int erase_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct erase_args *a = ud;
    a->n = 0;
    int rc = erase_in_txn(a->p, txn, a->user, a->what, &a->n, err, err_size);
    if (rc == 0 && (rc = journal_append(a->p, txn, a->user, a->what)) != 0)
        snprintf(err, err_size, "erasure journal: %s", mdb_strerror(rc));
    if (rc == 0 && a->n > 0)
        rc = vault_rotate(a->p->vault, txn, err, err_size);
    return rc;
}

/* After a commit that rotated: the old KEK file goes. A failure leaves it
 * until the next sweep (every open, every rotation); say so loudly. */
static void sweep(privacy_t *p)
{
    char err[300];
    if (vault_sweep(p->vault, err, sizeof(err)) != 0)
        log_error("privacy.sweep", "error=\"%s\"", err);
}

int privacy_erase(privacy_t *p, const char *user_hex, unsigned what, const char *reason, size_t *n_erased, char *err,
                  size_t err_size)
{
    struct erase_args a = {p, user_hex, what, 0};
    if (what & PRIVACY_ERASE_USER) /* queued turns belong to what is erased */
        before_erase(p);
    int rc = store_write(p->store, erase_fn, &a, err, err_size);
    if (rc != 0) {
        log_error("privacy.erase", "user=%s what=%u reason=%s error=\"%s\"", user_hex, what, reason, err);
        return -1;
    }
    if (a.n > 0)
        sweep(p);
    log_info("privacy.erase", "user=%s what=%u reason=%s erased=%zu", user_hex, what, reason, a.n);
    if (n_erased)
        *n_erased = a.n;
    return 0;
}

/* An erasure on the writer: its own copy of the user id, the hook before,
 * the sweep and the log line after. */
struct erase_job {
    struct erase_args a;
    char user[SECRET_HEX_LEN + 1];
    char reason[48];
};

/* Only erasures of everything about a user flush the transcript queue
 * first; the writer calls a `before` once per batch, so those get ops of
 * their own. */
static void erase_job_before(void *arg)
{
    struct erase_job *j = arg;
    before_erase(j->a.p);
}

static void erase_job_after(void *arg, int rc, const char *err)
{
    struct erase_job *j = arg;
    if (rc != 0) {
        log_error("privacy.erase", "user=%s what=%u reason=%s error=\"%s\"", j->user, j->a.what, j->reason, err);
        return;
    }
    if (j->a.n > 0)
        sweep(j->a.p);
    log_info("privacy.erase", "user=%s what=%u reason=%s erased=%zu", j->user, j->a.what, j->reason, j->a.n);
}

static const writer_ops_t erase_ops = {erase_fn, NULL, erase_job_after, NULL, NULL};
static const writer_ops_t erase_user_ops = {erase_fn, erase_job_before, erase_job_after, NULL, NULL};

int privacy_erase_submit(privacy_t *p, const char *user_hex, unsigned what, const char *reason)
{
    if (p->writer == NULL) {
        char err[300];
        return privacy_erase(p, user_hex, what, reason, NULL, err, sizeof(err)) == 0 ? 0 : -1;
    }
    struct erase_job *j = xcalloc(1, sizeof(*j));
    snprintf(j->user, sizeof(j->user), "%s", user_hex);
    snprintf(j->reason, sizeof(j->reason), "%s", reason);
    j->a = (struct erase_args){p, j->user, what, 0};
    int rc = writer_submit(p->writer, what & PRIVACY_ERASE_USER ? &erase_user_ops : &erase_ops, j, NULL, NULL, NULL);
    if (rc != 0) /* the user's next request or Amazon's event asks again */
        log_error("privacy.erase", "user=%s what=%u reason=%s error=\"not queued: %s\"", user_hex, what, reason,
                  rc == WRITER_FULL ? "writer queue full" : "stopping");
    return rc;
}

int privacy_forget(privacy_t *p, const char *alexa_user_id, size_t *n_erased, char *err, size_t err_size)
{
    char user[SECRET_HEX_LEN + 1];
    privacy_user_hex(p, alexa_user_id, user, sizeof(user));
    return privacy_erase(p, user, PRIVACY_ERASE_ALL, "forget_request", n_erased, err, err_size);
}

/* ---- skill events ------------------------------------------------------------ */

int privacy_event_decide(const privacy_evstate_t *cur, int have_cur, privacy_ev_t ev, int64_t ts_ms, unsigned perms,
                         privacy_evstate_t *next, unsigned *erase)
{
    *erase = 0;
    if (have_cur && ts_ms <= cur->ts_ms)
        return 0;
    next->ts_ms = ts_ms;
    next->perms = have_cur ? cur->perms : 0;
    next->disabled = have_cur ? cur->disabled : 0;
    switch (ev) {
    case PRIVACY_EV_DISABLED:
        next->perms = 0;
        next->disabled = 1;
        *erase = PRIVACY_ERASE_USER | PRIVACY_ERASE_ADDRESS | PRIVACY_ERASE_EMAIL | PRIVACY_ERASE_NAME |
                 PRIVACY_ERASE_ALERTS;
        break;
    case PRIVACY_EV_ENABLED:
        next->disabled = 0;
        break;
    case PRIVACY_EV_PERMISSIONS:
        /* the full current set: whatever is not in it is not granted now,
         * whether or not we saw it granted */
        next->perms = perms;
        next->disabled = 0;
        if (!(perms & ALEXA_PERM_ADDRESS))
            *erase |= PRIVACY_ERASE_ADDRESS; /* choices come from the full address */
        if (!(perms & ALEXA_PERM_EMAIL))
            *erase |= PRIVACY_ERASE_EMAIL;
        if (!(perms & (ALEXA_PERM_NAME | ALEXA_PERM_GIVEN_NAME)))
            *erase |= PRIVACY_ERASE_NAME;
        if (!(perms & ALEXA_PERM_NOTIFICATIONS))
            *erase |= PRIVACY_ERASE_ALERTS; /* alerts (docs/alerts.md): revoked = stop at once */
        break;
    }
    return 1;
}

#define EV_PREFIX "ev:"
#define EV_LEN 13

static void ev_name(const char *user, char *out, size_t n)
{
    snprintf(out, n, EV_PREFIX "%s", user);
}

static void ev_pack(const privacy_evstate_t *s, uint8_t b[EV_LEN])
{
    uint64_t t = (uint64_t)s->ts_ms;
    for (int i = 7; i >= 0; i--, t >>= 8)
        b[i] = (uint8_t)t;
    for (int i = 0; i < 4; i++)
        b[8 + i] = (uint8_t)(s->perms >> (24 - 8 * i));
    b[12] = s->disabled;
}

static int ev_unpack(const uint8_t *b, size_t len, privacy_evstate_t *s)
{
    if (len != EV_LEN)
        return -1;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | b[i];
    s->ts_ms = (int64_t)t;
    s->perms = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    s->disabled = b[12];
    return 0;
}

struct event_args {
    privacy_t *p;
    const char *user;
    privacy_ev_t ev;
    int64_t ts_ms;
    unsigned perms;
    int applied;
    unsigned erase;
    size_t n;
};

static int event_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct event_args *a = ud;
    char name[VAULT_MAX_NAME + 1];
    ev_name(a->user, name, sizeof(name));
    uint8_t b[VAULT_MAX_VALUE];
    size_t len = 0;
    privacy_evstate_t cur = {0}, next = {0};
    int rc = vault_get(a->p->vault, txn, name, b, sizeof(b), &len);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(err, err_size, "event state: %s", mdb_strerror(rc));
        return rc;
    }
    int have = rc == 0 && ev_unpack(b, len, &cur) == 0;
    a->n = 0;
    a->applied = privacy_event_decide(&cur, have, a->ev, a->ts_ms, a->perms, &next, &a->erase);
    if (!a->applied)
        return 0;
    if ((rc = erase_in_txn(a->p, txn, a->user, a->erase, &a->n, err, err_size)) != 0)
        return rc;
    if (a->erase && (rc = journal_append(a->p, txn, a->user, a->erase)) != 0) {
        snprintf(err, err_size, "erasure journal: %s", mdb_strerror(rc));
        return rc;
    }
    ev_pack(&next, b);
    if ((rc = vault_put(a->p->vault, txn, name, b, EV_LEN)) != 0) {
        snprintf(err, err_size, "event state: %s", mdb_strerror(rc));
        return rc;
    }
    if (a->n > 0)
        rc = vault_rotate(a->p->vault, txn, err, err_size);
    return rc;
}

int privacy_event(privacy_t *p, const char *user_hex, privacy_ev_t ev, int64_t ts_ms, unsigned perms, int *applied,
                  unsigned *erased, char *err, size_t err_size)
{
    struct event_args a = {p, user_hex, ev, ts_ms, perms, 0, 0, 0};
    if (ev == PRIVACY_EV_DISABLED)
        before_erase(p);
    if (store_write(p->store, event_fn, &a, err, err_size) != 0)
        return -1;
    if (a.n > 0)
        sweep(p);
    *applied = a.applied;
    *erased = a.applied ? a.erase : 0;
    return 0;
}

/* An event on the writer: the arguments with their own copy of the user id,
 * and the requester's callback. */
struct event_job {
    struct event_args a; /* first: event_fn gets the job as its argument */
    char user[SECRET_HEX_LEN + 1];
    privacy_event_done_fn done;
};

static int event_job_apply(MDB_txn *txn, void *arg, char *err, size_t err_size)
{
    return event_fn(txn, &((struct event_job *)arg)->a, err, err_size);
}

/* SkillDisabled erases the user's transcripts: queued turns first (once per
 * batch, so disabling events have ops of their own) */
static void event_job_before(void *arg)
{
    struct event_job *j = arg;
    before_erase(j->a.p);
}

static void event_job_after(void *arg, int rc, const char *err)
{
    struct event_job *j = arg;
    (void)err;
    if (rc == 0 && j->a.n > 0)
        sweep(j->a.p);
}

static void event_job_done(void *ud, void *arg, int rc, const char *err)
{
    struct event_job *j = arg;
    (void)err;
    j->done(ud, rc, rc == 0 ? j->a.applied : 0, rc == 0 && j->a.applied ? j->a.erase : 0);
}

static const writer_ops_t event_ops = {event_job_apply, NULL, event_job_after, event_job_done, NULL};
static const writer_ops_t disable_ops = {event_job_apply, event_job_before, event_job_after, event_job_done, NULL};

int privacy_event_submit(privacy_t *p, writer_port_t *port, const char *user_hex, privacy_ev_t ev, int64_t ts_ms,
                         unsigned perms, privacy_event_done_fn done, void *ud, writer_job_t **job)
{
    struct event_job *j = xcalloc(1, sizeof(*j));
    snprintf(j->user, sizeof(j->user), "%s", user_hex);
    j->a = (struct event_args){p, j->user, ev, ts_ms, perms, 0, 0, 0};
    j->done = done;
    if (p->writer == NULL) { /* a build without a writer is a wiring mistake */
        free(j);
        return WRITER_STOPPED;
    }
    return writer_submit(p->writer, ev == PRIVACY_EV_DISABLED ? &disable_ops : &event_ops, j, port, ud, job);
}

/* The event-state "module": export and forget its entry, purge stale ones. */
static int ev_export(privacy_t *p, MDB_txn *txn, const char *user, json_t **out, char *err, size_t err_size)
{
    char name[VAULT_MAX_NAME + 1];
    ev_name(user, name, sizeof(name));
    uint8_t b[VAULT_MAX_VALUE];
    size_t len = 0;
    privacy_evstate_t s;
    int rc = vault_get(p->vault, txn, name, b, sizeof(b), &len);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0 || ev_unpack(b, len, &s) != 0) {
        snprintf(err, err_size, "event state: %s", rc ? mdb_strerror(rc) : "bad record");
        return rc ? rc : MDB_CORRUPTED;
    }
    json_t *perms = json_array();
    for (unsigned f = 1; f <= ALEXA_PERM_LAST; f <<= 1)
        if (s.perms & f)
            json_array_append_new(perms, json_string(alexa_perm_card_scope((alexa_perm_t)f)));
    char at[40];
    privacy_iso_time(s.ts_ms, at, sizeof(at));
    *out = json_pack("{s:s,s:o,s:b}", "last_event_at", at, "permissions", perms, "disabled", s.disabled != 0);
    return 0;
}

static int ev_forget(privacy_t *p, MDB_txn *txn, const char *user, unsigned what, size_t *n, char *err,
                     size_t err_size)
{
    if (!(what & PRIVACY_ERASE_EVENT_STATE))
        return 0;
    char name[VAULT_MAX_NAME + 1];
    ev_name(user, name, sizeof(name));
    int rc = vault_del(p->vault, txn, name);
    if (rc == 0)
        (*n)++;
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc)
        snprintf(err, err_size, "event state: %s", mdb_strerror(rc));
    return rc;
}

/* event state older than the cut-off (ts_ms in *ud) */
static int stale(void *ud, const char *name, const uint8_t *val, size_t len)
{
    (void)name;
    privacy_evstate_t st;
    return ev_unpack(val, len, &st) == 0 && st.ts_ms < *(const int64_t *)ud;
}

static int ev_purge(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n, char *err, size_t err_size)
{
    int64_t before_ms = (int64_t)(as_of_day - PRIVACY_EVSTATE_DAYS) * 86400000;
    int rc = vault_del_if(p->vault, txn, EV_PREFIX, stale, &before_ms, n);
    if (rc)
        snprintf(err, err_size, "event state purge: %s", mdb_strerror(rc));
    return rc;
}

const privacy_module_t privacy_events_module = {"skill_events", NULL, 0, ev_export, ev_forget, ev_purge, NULL, NULL};

/* ---- retention --------------------------------------------------------------- */

struct purge_args {
    privacy_t *p;
    int as_of;
    size_t n;
};

static int purge_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct purge_args *a = ud;
    a->n = 0;
    for (size_t i = 0; i < privacy_n_modules; i++) {
        const privacy_module_t *m = privacy_modules[i];
        size_t k = 0;
        if (m->purge == NULL)
            continue;
        int rc = m->purge(a->p, txn, a->as_of, &k, err, err_size);
        if (rc)
            return rc;
        a->n += k;
    }
    return a->n > 0 ? vault_rotate(a->p->vault, txn, err, err_size) : 0;
}

/* ---- purge metrics (docs/metrics.md) ---- */
static const char *const purge_results[] = {"ok", "error"};
METRICS_DEFINE(m_purge_runs, METRICS_COUNTER, "binday_privacy_purge_runs_total",
               "Retention purges run (daily by the store writer), by result", "result", purge_results, 2, NULL, NULL, 1,
               NULL, 0)
METRICS_DEFINE(m_purge_erased, METRICS_COUNTER, "binday_privacy_purge_erased_records_total",
               "Records erased by retention purges (transcripts, skill events, case records past retention)", NULL,
               NULL, 1, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_purge_last, METRICS_GAUGE, "binday_privacy_purge_last_success_timestamp_seconds",
               "When the last successful retention purge finished (Unix time; 0 before the first)", NULL, NULL, 1, NULL,
               NULL, 1, NULL, 0)

int privacy_purge(privacy_t *p, int as_of_day, privacy_purge_stats_t *st, char *err, size_t err_size)
{
    struct purge_args a = {p, as_of_day, 0};
    before_erase(p);
    char day[11];
    date_format(as_of_day, day);
    if (store_write(p->store, purge_fn, &a, err, err_size) != 0) {
        log_error("privacy.purge", "as_of=%s error=\"%s\"", day, err);
        metrics_inc(&m_purge_runs, 1, 0);
        return -1;
    }
    if (a.n > 0)
        sweep(p);
    log_info("privacy.purge", "as_of=%s erased=%zu", day, a.n);
    metrics_inc(&m_purge_runs, 0, 0);
    metrics_add(&m_purge_erased, 0, 0, a.n);
    metrics_set(&m_purge_last, 0, 0, (int64_t)time(NULL));
    if (st)
        st->erased = a.n;
    return 0;
}

/* ---- access ------------------------------------------------------------------ */

json_t *privacy_export(privacy_t *p, const char *alexa_user_id, char *err, size_t err_size)
{
    char user[SECRET_HEX_LEN + 1];
    privacy_user_hex(p, alexa_user_id, user, sizeof(user));
    store_reader_t *r = store_reader_new(p->store);
    if (r == NULL)
        xalloc_die("store reader", sizeof(void *));
    json_t *out = NULL;
    /* a rotation by another process may retire the KEK our snapshot needs: retry with a newer one */
    for (int attempt = 0; attempt < 5 && out == NULL; attempt++) {
        MDB_txn *txn;
        if (store_reader_begin(r, &txn, err, err_size) != 0)
            break;
        json_t *doc = json_pack("{s:s,s:s}", "user_id", alexa_user_id, "pseudonymous_id", user);
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < privacy_n_modules; i++) {
            json_t *part = NULL;
            if (privacy_modules[i]->export_user == NULL)
                continue;
            rc = privacy_modules[i]->export_user(p, txn, user, &part, err, err_size);
            if (rc == 0 && part)
                json_object_set_new(doc, privacy_modules[i]->name, part);
        }
        store_reader_end(r);
        if (rc == 0)
            out = doc;
        else
            json_decref(doc);
        if (rc != 0 && rc != VAULT_STALE)
            break;
    }
    store_reader_free(r);
    return out;
}
