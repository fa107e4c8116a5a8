/* account.c - owns staff accounts (account.h): Argon2id hashing and
 * verification (libargon2), the "staff_accounts" records, and the audit
 * record every account change writes in its own txn.
 *
 * A record is a JSON object {"role","hash","disabled","created","changed",
 * "created_by"}; the hash never leaves this file (not in audit records, not
 * in listings). */
#include "binday/staff/account.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/staff/audit.h"
#include "binday/util/xalloc.h"
#include "staff_internal.h"

/* ---- names and passwords ---- */

int staff_user_valid(const char *name, size_t n)
{
    if (name == NULL || n == 0 || n > STAFF_USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-'))
            return 0;
    }
    return 1;
}

int staff_password_valid(const char *pw, size_t n)
{
    if (pw == NULL || n < STAFF_PASSWORD_MIN || n > STAFF_PASSWORD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (pw[i] == '\0' || pw[i] == '\r' || pw[i] == '\n')
            return 0;
    return 1;
}

static _Atomic uint32_t p_m = STAFF_ARGON2_M_KIB, p_t = STAFF_ARGON2_T, p_p = STAFF_ARGON2_P;

void staff_password_set_params(uint32_t m_kib, uint32_t t, uint32_t p)
{
    atomic_store(&p_m, m_kib ? m_kib : STAFF_ARGON2_M_KIB);
    atomic_store(&p_t, t ? t : STAFF_ARGON2_T);
    atomic_store(&p_p, p ? p : STAFF_ARGON2_P);
}

int staff_password_hash(const char *pw, size_t n, char *out, size_t out_size, char *err, size_t err_size)
{
    uint8_t salt[STAFF_ARGON2_SALT];
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        snprintf(err, err_size, "no random bytes for a salt");
        return STAFF_ERROR;
    }
    int rc = argon2id_hash_encoded(atomic_load(&p_t), atomic_load(&p_m), atomic_load(&p_p), pw, n, salt,
                                   sizeof(salt), STAFF_ARGON2_HASH, out, out_size);
    if (rc != ARGON2_OK) {
        snprintf(err, err_size, "argon2id: %s", argon2_error_message(rc));
        return STAFF_ERROR;
    }
    return 0;
}

int staff_password_verify(const char *phc, const char *pw, size_t n)
{
    if (phc == NULL || strncmp(phc, "$argon2id$", 10) != 0)
        return -1;
    int rc = argon2id_verify(phc, pw, n); /* recomputes, compares in constant time */
    if (rc == ARGON2_OK)
        return 1;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return 0;
    return -1;
}

int staff_password_random(char out[32], char *err, size_t err_size)
{
    /* no 0/O, 1/l/I: read out over the phone or copied by hand */
    static const char alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const unsigned n = sizeof(alpha) - 1; /* 57 */
    size_t got = 0;
    while (got < 20) {
        uint8_t b[32];
        if (RAND_bytes(b, sizeof(b)) != 1) {
            snprintf(err, err_size, "no random bytes");
            return STAFF_ERROR;
        }
        for (size_t i = 0; i < sizeof(b) && got < 20; i++)
            if (b[i] < 256 - 256 % n) /* rejection sampling: no bias */
                out[got++] = alpha[b[i] % n];
    }
    out[got] = '\0';
    return 0;
}

/* ---- records ---- */

typedef struct acct_rec {
    staff_account_t a;
    char hash[STAFF_PHC_MAX];
} acct_rec_t;

static int rec_decode(const MDB_val *k, const MDB_val *v, acct_rec_t *r)
{
    memset(r, 0, sizeof(*r));
    if (k->mv_size == 0 || k->mv_size > STAFF_USER_MAX)
        return -1;
    memcpy(r->a.user, k->mv_data, k->mv_size);
    json_t *o = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    const char *role = json_string_value(json_object_get(o, "role"));
    const char *hash = json_string_value(json_object_get(o, "hash"));
    const char *by = json_string_value(json_object_get(o, "created_by"));
    int ok = role && hash && staff_role_parse(role, strlen(role), &r->a.role) == 0 && strlen(hash) < STAFF_PHC_MAX;
    if (ok) {
        snprintf(r->hash, sizeof(r->hash), "%s", hash);
        snprintf(r->a.created_by, sizeof(r->a.created_by), "%s", by ? by : "");
        r->a.disabled = json_is_true(json_object_get(o, "disabled"));
        r->a.created = (int64_t)json_integer_value(json_object_get(o, "created"));
        r->a.changed = (int64_t)json_integer_value(json_object_get(o, "changed"));
    }
    json_decref(o);
    return ok ? 0 : -1;
}

/* json_dumps that cannot fail: NULL only when memory ran out. */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (s == NULL)
        xalloc_die("json text", 0);
    return s;
}

static int rec_put(staff_t *st, MDB_txn *txn, const acct_rec_t *r)
{
    json_t *o = json_pack("{s:s,s:s,s:b,s:I,s:I,s:s}", "role", staff_role_name(r->a.role), "hash", r->hash,
                          "disabled", r->a.disabled, "created", (json_int_t)r->a.created, "changed",
                          (json_int_t)r->a.changed, "created_by", r->a.created_by);
    if (o == NULL)
        xalloc_die("json_pack", 0);
    char *s = dump(o);
    json_decref(o);
    MDB_val k = {strlen(r->a.user), (void *)r->a.user}, v = {strlen(s), s};
    int rc = mdb_put(txn, st->dbi_accounts, &k, &v, 0);
    free(s);
    return rc;
}

/* What the audit log shows of an account: never the hash. */
static json_t *rec_public(const acct_rec_t *r)
{
    return json_pack("{s:s,s:s,s:b}", "user", r->a.user, "role", staff_role_name(r->a.role), "disabled",
                     r->a.disabled);
}

static int rec_get(staff_t *st, MDB_txn *txn, const char *user, acct_rec_t *r)
{
    MDB_val k = {strlen(user), (void *)user}, v;
    int rc = mdb_get(txn, st->dbi_accounts, &k, &v);
    if (rc)
        return rc;
    return rec_decode(&k, &v, r) ? MDB_CORRUPTED : 0;
}

/* ---- changes ---- */

typedef enum { OP_ADD, OP_PASSWD, OP_DISABLE, OP_ROLE } op_t;

typedef struct change {
    staff_t *st;
    op_t op;
    const staff_actor_t *actor;
    const char *user;
    staff_role_t role;
    int disabled;
    const char *hash; /* ADD, PASSWD: made before the txn (slow; not repeated on a retry) */
    int result;       /* STAFF_* when the txn was aborted on purpose */
} change_t;

#define ABORT_ON_PURPOSE (-32001)

static int change_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    change_t *c = ud;
    acct_rec_t r, before;
    int rc = rec_get(c->st, txn, c->user, &r);
    if (rc && rc != MDB_NOTFOUND) {
        if (rc != MDB_MAP_FULL)
            snprintf(err, err_size, "reading account: %s", mdb_strerror(rc));
        return rc;
    }
    int exists = rc == 0;
    if (c->op == OP_ADD && exists) {
        c->result = STAFF_EXISTS;
        snprintf(err, err_size, "account %s already exists", c->user);
        return ABORT_ON_PURPOSE;
    }
    if (c->op != OP_ADD && !exists) {
        c->result = STAFF_NOT_FOUND;
        snprintf(err, err_size, "no account %s", c->user);
        return ABORT_ON_PURPOSE;
    }
    before = r;
    int64_t now = (int64_t)time(NULL);
    const char *action = "";
    char summary[160];
    json_t *after_extra = NULL;
    switch (c->op) {
    case OP_ADD:
        memset(&r, 0, sizeof(r));
        snprintf(r.a.user, sizeof(r.a.user), "%s", c->user);
        r.a.role = c->role;
        r.a.created = now;
        snprintf(r.a.created_by, sizeof(r.a.created_by), "%s", c->actor->user);
        snprintf(r.hash, sizeof(r.hash), "%s", c->hash);
        action = "account.add";
        snprintf(summary, sizeof(summary), "added account %s as %s", c->user, staff_role_name(c->role));
        break;
    case OP_PASSWD:
        snprintf(r.hash, sizeof(r.hash), "%s", c->hash);
        action = "account.passwd";
        snprintf(summary, sizeof(summary), "set a new password for %s", c->user);
        after_extra = json_true();
        break;
    case OP_DISABLE:
        r.a.disabled = c->disabled;
        action = c->disabled ? "account.disable" : "account.enable";
        snprintf(summary, sizeof(summary), "%s account %s", c->disabled ? "disabled" : "enabled", c->user);
        break;
    case OP_ROLE:
        r.a.role = c->role;
        action = "account.role";
        snprintf(summary, sizeof(summary), "changed %s's role from %s to %s", c->user,
                 staff_role_name(before.a.role), staff_role_name(c->role));
        break;
    }
    r.a.changed = now;
    rc = rec_put(c->st, txn, &r);
    json_t *b = exists ? rec_public(&before) : NULL;
    json_t *a = rec_public(&r);
    if (after_extra)
        json_object_set_new(a, "password_changed", after_extra);
    if (rc == 0)
        rc = staff_audit_put(c->st, txn, c->actor->user, action, c->user, summary, b, a, NULL);
    json_decref(b);
    json_decref(a);
    if (rc && rc != MDB_MAP_FULL)
        snprintf(err, err_size, "writing account: %s", mdb_strerror(rc));
    return rc;
}

static int run_change(change_t *c, char *err, size_t err_size)
{
    int rc = store_write(c->st->store, change_fn, c, err, err_size);
    if (rc == ABORT_ON_PURPOSE)
        return c->result;
    return rc ? STAFF_ERROR : 0;
}

static int is_admin(const staff_actor_t *a)
{
    return a && a->user && staff_role_allows(a->role, STAFF_ROLE_ADMIN);
}

int staff_account_add(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                      const char *pw, size_t pw_len, char *err, size_t err_size)
{
    if (!is_admin(actor)) {
        snprintf(err, err_size, "only an admin may add accounts");
        return STAFF_FORBIDDEN;
    }
    if (!staff_user_valid(user, user ? strlen(user) : 0)) {
        snprintf(err, err_size, "account names are 1-%d characters of a-z 0-9 . _ @ -", STAFF_USER_MAX);
        return STAFF_REJECTED;
    }
    if (role < STAFF_ROLE_VIEWER || role > STAFF_ROLE_ADMIN) {
        snprintf(err, err_size, "role must be viewer, editor or admin");
        return STAFF_REJECTED;
    }
    if (!staff_password_valid(pw, pw_len)) {
        snprintf(err, err_size, "passwords are %d-%d characters on one line", STAFF_PASSWORD_MIN,
                 STAFF_PASSWORD_MAX);
        return STAFF_REJECTED;
    }
    char hash[STAFF_PHC_MAX];
    if (staff_password_hash(pw, pw_len, hash, sizeof(hash), err, err_size))
        return STAFF_ERROR;
    change_t c = {st, OP_ADD, actor, user, role, 0, hash, 0};
    return run_change(&c, err, err_size);
}

int staff_account_passwd(staff_t *st, const staff_actor_t *actor, const char *user, const char *pw,
                         size_t pw_len, char *err, size_t err_size)
{
    if (!actor || !actor->user || (!is_admin(actor) && strcmp(actor->user, user ? user : "") != 0)) {
        snprintf(err, err_size, "only an admin may set another account's password");
        return STAFF_FORBIDDEN;
    }
    if (!staff_password_valid(pw, pw_len)) {
        snprintf(err, err_size, "passwords are %d-%d characters on one line", STAFF_PASSWORD_MIN,
                 STAFF_PASSWORD_MAX);
        return STAFF_REJECTED;
    }
    if (!staff_user_valid(user, strlen(user))) {
        snprintf(err, err_size, "no account %s", user);
        return STAFF_NOT_FOUND;
    }
    char hash[STAFF_PHC_MAX];
    if (staff_password_hash(pw, pw_len, hash, sizeof(hash), err, err_size))
        return STAFF_ERROR;
    change_t c = {st, OP_PASSWD, actor, user, 0, 0, hash, 0};
    return run_change(&c, err, err_size);
}

int staff_account_set_disabled(staff_t *st, const staff_actor_t *actor, const char *user, int disabled,
                               char *err, size_t err_size)
{
    if (!is_admin(actor)) {
        snprintf(err, err_size, "only an admin may disable accounts");
        return STAFF_FORBIDDEN;
    }
    if (!user || !staff_user_valid(user, strlen(user))) {
        snprintf(err, err_size, "no such account");
        return STAFF_NOT_FOUND;
    }
    change_t c = {st, OP_DISABLE, actor, user, 0, disabled != 0, NULL, 0};
    return run_change(&c, err, err_size);
}

int staff_account_set_role(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                           char *err, size_t err_size)
{
    if (!is_admin(actor)) {
        snprintf(err, err_size, "only an admin may change roles");
        return STAFF_FORBIDDEN;
    }
    if (role < STAFF_ROLE_VIEWER || role > STAFF_ROLE_ADMIN) {
        snprintf(err, err_size, "role must be viewer, editor or admin");
        return STAFF_REJECTED;
    }
    if (!user || !staff_user_valid(user, strlen(user))) {
        snprintf(err, err_size, "no such account");
        return STAFF_NOT_FOUND;
    }
    change_t c = {st, OP_ROLE, actor, user, role, 0, NULL, 0};
    return run_change(&c, err, err_size);
}

/* ---- reading ---- */

typedef int (*read_fn)(staff_t *st, MDB_txn *txn, void *ud, char *err, size_t err_size);

static int with_read(staff_t *st, read_fn fn, void *ud, char *err, size_t err_size)
{
    store_reader_t *r = store_reader_new(st->store);
    if (r == NULL)
        xalloc_die("store_reader_new", 0);
    MDB_txn *txn;
    int rc = store_reader_begin(r, &txn, err, err_size);
    if (rc == 0) {
        rc = fn(st, txn, ud, err, err_size);
        store_reader_end(r);
    } else {
        rc = STAFF_ERROR;
    }
    store_reader_free(r);
    return rc;
}

static int get_fn(staff_t *st, MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    acct_rec_t *r = ud;
    char user[STAFF_USER_MAX + 1];
    memcpy(user, r->a.user, sizeof(user));
    int rc = rec_get(st, txn, user, r);
    if (rc == MDB_NOTFOUND) {
        snprintf(err, err_size, "no account %s", user);
        return STAFF_NOT_FOUND;
    }
    if (rc) {
        snprintf(err, err_size, "reading account: %s", mdb_strerror(rc));
        return STAFF_ERROR;
    }
    return 0;
}

static int get_rec(staff_t *st, const char *user, acct_rec_t *r, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    if (user == NULL || !staff_user_valid(user, strlen(user))) {
        snprintf(err, err_size, "no such account");
        return STAFF_NOT_FOUND;
    }
    memcpy(r->a.user, user, strlen(user));
    return with_read(st, get_fn, r, err, err_size);
}

int staff_account_get(staff_t *st, const char *user, staff_account_t *out, char *err, size_t err_size)
{
    acct_rec_t r;
    int rc = get_rec(st, user, &r, err, err_size);
    if (rc == 0)
        *out = r.a;
    memset(&r, 0, sizeof(r));
    return rc;
}

typedef struct list_ctx {
    staff_account_t *a;
    size_t n, cap;
} list_ctx_t;

static int list_fn(staff_t *st, MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    list_ctx_t *l = ud;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, st->dbi_accounts, &c);
    MDB_val k, v;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        acct_rec_t r;
        if (rec_decode(&k, &v, &r) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 16;
            l->a = xrealloc(l->a, l->cap * sizeof(*l->a));
        }
        l->a[l->n++] = r.a; /* LMDB keys sort bytewise: by name */
    }
    if (c)
        mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) {
        snprintf(err, err_size, "listing accounts: %s", mdb_strerror(rc));
        return STAFF_ERROR;
    }
    return 0;
}

int staff_account_list(staff_t *st, staff_account_t **out, size_t *n, char *err, size_t err_size)
{
    list_ctx_t l = {NULL, 0, 0};
    int rc = with_read(st, list_fn, &l, err, err_size);
    if (rc) {
        free(l.a);
        l.a = NULL;
        l.n = 0;
    }
    *out = l.a;
    *n = l.n;
    return rc;
}

static int count_fn(staff_t *st, MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    MDB_stat s;
    int rc = mdb_stat(txn, st->dbi_accounts, &s);
    if (rc) {
        snprintf(err, err_size, "counting accounts: %s", mdb_strerror(rc));
        return STAFF_ERROR;
    }
    *(size_t *)ud = s.ms_entries;
    return 0;
}

int staff_account_count(staff_t *st, size_t *n, char *err, size_t err_size)
{
    *n = 0;
    return with_read(st, count_fn, n, err, err_size);
}

/* ---- sign-in ---- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[STAFF_PHC_MAX];

static void make_dummy(void)
{
    char pw[32], err[100];
    if (staff_password_random(pw, err, sizeof(err)) != 0 ||
        staff_password_hash(pw, strlen(pw), dummy_hash, sizeof(dummy_hash), err, sizeof(err)) != 0)
        dummy_hash[0] = '\0';
}

int staff_signin(staff_t *st, const char *user, const char *pw, size_t pw_len, staff_role_t *role,
                 char *err, size_t err_size)
{
    *role = STAFF_ROLE_NONE;
    acct_rec_t r;
    int rc = get_rec(st, user, &r, err, err_size);
    if (rc == STAFF_ERROR)
        return STAFF_ERROR;
    int ok = 0;
    if (rc == 0 && pw_len <= STAFF_PASSWORD_MAX) {
        ok = staff_password_verify(r.hash, pw, pw_len) == 1 && !r.a.disabled;
    } else {
        /* unknown name: spend the same time on a hash that cannot match */
        pthread_once(&dummy_once, make_dummy);
        if (dummy_hash[0] && pw_len <= STAFF_PASSWORD_MAX)
            (void)staff_password_verify(dummy_hash, pw ? pw : "", pw ? pw_len : 0);
    }
    if (ok)
        *role = r.a.role;
    memset(&r, 0, sizeof(r));
    if (!ok) {
        snprintf(err, err_size, "sign-in refused");
        return STAFF_DENIED;
    }
    return 0;
}
