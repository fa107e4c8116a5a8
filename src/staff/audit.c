/* audit.c - owns the staff audit log (audit.h): records written inside the
 * changes' own write txns, read back oldest- or newest-first, exported as
 * JSON or CSV, and purged after the case-record period through the privacy
 * registry. */
#include "binday/staff/audit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/strbuf.h"
#include "binday/util/xalloc.h"
#include "staff_internal.h"

static void id_key(uint64_t id, unsigned char k[8])
{
    for (int i = 7; i >= 0; i--) {
        k[i] = (unsigned char)id;
        id >>= 8;
    }
}

static uint64_t key_id(const MDB_val *k)
{
    uint64_t id = 0;
    const unsigned char *p = k->mv_data;
    for (size_t i = 0; i < 8 && i < k->mv_size; i++)
        id = id << 8 | p[i];
    return id;
}

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void rfc3339(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

#define STAFF_NOTE_FIELD 128

/* json_dumps that cannot fail: NULL only when memory ran out. */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (s == NULL)
        xalloc_die("json text", 0);
    return s;
}

int staff_audit_put(staff_t *st, MDB_txn *txn, const char *actor, const char *action, const char *target,
                    const char *summary, const json_t *before, const json_t *after, uint64_t *id_out)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, st->dbi_audit, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    uint64_t id = now_us();
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8 && key_id(&k) >= id)
        id = key_id(&k) + 1; /* strictly increasing even if the clock steps back */
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    char when[32];
    rfc3339((int64_t)(id / 1000000u), when);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "actor", json_string(actor ? actor : ""));
    json_object_set_new(o, "action", json_string(action ? action : ""));
    json_object_set_new(o, "target", json_string(target ? target : ""));
    json_object_set_new(o, "summary", json_string(summary ? summary : ""));
    json_object_set_new(o, "before", before ? json_deep_copy(before) : json_null());
    json_object_set_new(o, "after", after ? json_deep_copy(after) : json_null());
    char *s = dump(o);
    json_decref(o);
    unsigned char kb[8];
    id_key(id, kb);
    MDB_val key = {8, kb}, val = {strlen(s), s};
    rc = mdb_put(txn, st->dbi_audit, &key, &val, MDB_APPEND);
    free(s);
    if (rc == 0 && id_out)
        *id_out = id;
    return rc;
}

typedef struct note_ctx {
    staff_t *st;
    const staff_actor_t *actor;
    const char *action, *target, *detail;
} note_ctx_t;

static int note_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    note_ctx_t *n = ud;
    int rc = staff_audit_put(n->st, txn, n->actor && n->actor->user ? n->actor->user : "", n->action, n->target,
                             n->detail, NULL, NULL, NULL);
    if (rc && rc != MDB_MAP_FULL)
        snprintf(err, err_size, "audit: %s", mdb_strerror(rc));
    return rc;
}

int staff_audit_note(staff_t *st, const staff_actor_t *actor, const char *action, const char *target,
                     const char *detail, char *err, size_t err_size)
{
    note_ctx_t n = {st, actor, action, target, detail};
    return store_write(st->store, note_fn, &n, err, err_size) ? STAFF_ERROR : 0;
}

typedef struct note_job {
    staff_t *st;
    char actor[STAFF_NOTE_FIELD], action[STAFF_NOTE_FIELD], target[STAFF_NOTE_FIELD], detail[512];
} note_job_t;

static int note_apply(MDB_txn *txn, void *arg, char *err, size_t err_size)
{
    note_job_t *n = arg;
    int rc = staff_audit_put(n->st, txn, n->actor, n->action, n->target, n->detail, NULL, NULL, NULL);
    if (rc && rc != MDB_MAP_FULL)
        snprintf(err, err_size, "audit: %s", mdb_strerror(rc));
    return rc;
}

static void note_after(void *arg, int rc, const char *err)
{
    note_job_t *n = arg;
    if (rc)
        log_write(LOG_ERROR, "staff.audit_note_failed", "action=%s err=%s", n->action, err ? err : "");
}

static const writer_ops_t note_ops = {note_apply, NULL, note_after, NULL, NULL};

int staff_audit_note_submit(staff_t *st, const staff_actor_t *actor, const char *action, const char *target,
                            const char *detail)
{
    if (st->writer == NULL) {
        char err[300];
        int rc = staff_audit_note(st, actor, action, target, detail, err, sizeof(err));
        if (rc)
            log_write(LOG_ERROR, "staff.audit_note_failed", "action=%s err=%s", action ? action : "", err);
        return rc;
    }
    note_job_t *n = xcalloc(1, sizeof(*n));
    n->st = st;
    snprintf(n->actor, sizeof(n->actor), "%s", actor && actor->user ? actor->user : "");
    snprintf(n->action, sizeof(n->action), "%s", action ? action : "");
    snprintf(n->target, sizeof(n->target), "%s", target ? target : "");
    snprintf(n->detail, sizeof(n->detail), "%s", detail ? detail : "");
    int rc = writer_submit(st->writer, &note_ops, n, NULL, NULL, NULL);
    if (rc)
        log_write(LOG_ERROR, "staff.audit_note_refused", "action=%s rc=%d", action ? action : "", rc);
    return rc;
}

/* ---- reading ---- */

static int entry_of(const MDB_val *k, const MDB_val *v, staff_audit_fn fn, void *ud, int *stop)
{
    json_t *o = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return MDB_CORRUPTED;
    }
    staff_audit_entry_t e;
    e.id = key_id(k);
    e.time = (int64_t)(e.id / 1000000u);
    e.actor = json_string_value(json_object_get(o, "actor"));
    e.action = json_string_value(json_object_get(o, "action"));
    e.target = json_string_value(json_object_get(o, "target"));
    e.summary = json_string_value(json_object_get(o, "summary"));
    e.before = json_object_get(o, "before");
    e.after = json_object_get(o, "after");
    if (!e.actor)
        e.actor = "";
    if (!e.action)
        e.action = "";
    if (!e.target)
        e.target = "";
    if (!e.summary)
        e.summary = "";
    if (!e.before)
        e.before = json_null(); /* jansson's static singleton */
    if (!e.after)
        e.after = json_null();
    *stop = fn(&e, ud);
    json_decref(o);
    return 0;
}

int staff_audit_each(staff_t *st, int64_t since, size_t limit, staff_audit_fn fn, void *ud, char *err,
                     size_t err_size)
{
    store_reader_t *r = store_reader_new(st->store);
    if (r == NULL)
        xalloc_die("store_reader_new", 0);
    MDB_txn *txn;
    int rc = store_reader_begin(r, &txn, err, err_size);
    if (rc) {
        store_reader_free(r);
        return STAFF_ERROR;
    }
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, st->dbi_audit, &c);
    size_t n = 0;
    if (rc == 0) {
        unsigned char kb[8];
        id_key(since > 0 ? (uint64_t)since * 1000000u : 0, kb);
        MDB_val k = {8, kb}, v;
        int stop = 0;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !stop && (limit == 0 || n < limit);
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
            int r2 = entry_of(&k, &v, fn, ud, &stop);
            if (r2) {
                rc = r2;
                break;
            }
        }
        mdb_cursor_close(c);
    }
    store_reader_end(r);
    store_reader_free(r);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    snprintf(err, err_size, "reading the audit log: %s", mdb_strerror(rc));
    return STAFF_ERROR;
}

int staff_audit_each_newest(staff_t *st, uint64_t before_id, size_t limit, staff_audit_fn fn, void *ud,
                            uint64_t *next_before, char *err, size_t err_size)
{
    *next_before = 0;
    store_reader_t *r = store_reader_new(st->store);
    if (r == NULL)
        xalloc_die("store_reader_new", 0);
    MDB_txn *txn;
    if (store_reader_begin(r, &txn, err, err_size)) {
        store_reader_free(r);
        return STAFF_ERROR;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, st->dbi_audit, &c);
    if (rc == 0) {
        MDB_val k, v;
        unsigned char kb[8];
        if (before_id == 0) {
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
        } else {
            id_key(before_id, kb);
            k.mv_size = 8;
            k.mv_data = kb;
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); /* first >= before_id ... */
            rc = rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST);
        }
        size_t n = 0;
        int stop = 0;
        uint64_t last = 0;
        while (rc == 0 && !stop) {
            if (limit && n == limit) {
                *next_before = last; /* there is at least one more */
                break;
            }
            last = key_id(&k);
            int r2 = entry_of(&k, &v, fn, ud, &stop);
            if (r2) {
                rc = r2;
                break;
            }
            n++;
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        }
        mdb_cursor_close(c);
    }
    store_reader_end(r);
    store_reader_free(r);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    snprintf(err, err_size, "reading the audit log: %s", mdb_strerror(rc));
    return STAFF_ERROR;
}

/* ---- export ---- */

#define STAFF_AUDIT_EXPORT_MAX (256u << 20) /* bytes: bounded like every buffer */

typedef struct export_ctx {
    staff_audit_format_t fmt;
    strbuf_t out;
    json_t *arr;
} export_ctx_t;

/* One CSV cell, RFC 4180: quoted when it holds a comma, quote, CR or LF, or
 * when it starts with a character a spreadsheet would run as a formula (then
 * also prefixed with '). */
static void csv_cell(strbuf_t *b, const char *s, int last)
{
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        strbuf_put(b, "\"", 1);
    if (formula)
        strbuf_put(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            strbuf_put(b, "\"\"", 2);
        else
            strbuf_put(b, p, 1);
    }
    if (quote)
        strbuf_put(b, "\"", 1);
    strbuf_puts(b, last ? "\r\n" : ",");
}

static int export_one(const staff_audit_entry_t *e, void *ud)
{
    export_ctx_t *x = ud;
    char when[32], id[24];
    rfc3339(e->time, when);
    snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
    if (x->fmt == STAFF_AUDIT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)e->id));
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "actor", json_string(e->actor));
        json_object_set_new(o, "action", json_string(e->action));
        json_object_set_new(o, "target", json_string(e->target));
        json_object_set_new(o, "summary", json_string(e->summary));
        json_object_set_new(o, "before", json_deep_copy(e->before));
        json_object_set_new(o, "after", json_deep_copy(e->after));
        json_array_append_new(x->arr, o);
        return 0;
    }
    char *bj = json_dumps(e->before, JSON_COMPACT | JSON_ENCODE_ANY);
    char *aj = json_dumps(e->after, JSON_COMPACT | JSON_ENCODE_ANY);
    csv_cell(&x->out, id, 0);
    csv_cell(&x->out, when, 0);
    csv_cell(&x->out, e->actor, 0);
    csv_cell(&x->out, e->action, 0);
    csv_cell(&x->out, e->target, 0);
    csv_cell(&x->out, e->summary, 0);
    csv_cell(&x->out, bj ? bj : "null", 0);
    csv_cell(&x->out, aj ? aj : "null", 1);
    free(bj);
    free(aj);
    return 0;
}

int staff_audit_export(staff_t *st, int64_t since, staff_audit_format_t fmt, char **out, size_t *len, char *err,
                       size_t err_size)
{
    export_ctx_t x;
    memset(&x, 0, sizeof(x));
    x.fmt = fmt;
    strbuf_init(&x.out, STAFF_AUDIT_EXPORT_MAX);
    if (fmt == STAFF_AUDIT_JSON)
        x.arr = json_array();
    else
        strbuf_puts(&x.out, "id,time,actor,action,target,summary,before,after\r\n");
    int rc = staff_audit_each(st, since, 0, export_one, &x, err, err_size);
    if (rc == 0 && fmt == STAFF_AUDIT_JSON) {
        char *s = json_dumps(x.arr, JSON_INDENT(2));
        if (s == NULL)
            xalloc_die("json_dumps", 0);
        strbuf_puts(&x.out, s);
        strbuf_puts(&x.out, "\n");
        free(s);
    }
    json_decref(x.arr);
    if (rc == 0 && x.out.failed) {
        snprintf(err, err_size, "the export is larger than %u MiB: use --since", STAFF_AUDIT_EXPORT_MAX >> 20);
        rc = STAFF_ERROR;
    }
    if (rc) {
        strbuf_free(&x.out);
        *out = NULL;
        *len = 0;
        return rc;
    }
    *len = x.out.len;
    *out = xmalloc(x.out.len + 1);
    memcpy(*out, x.out.p ? x.out.p : "", x.out.len);
    (*out)[x.out.len] = '\0';
    strbuf_free(&x.out);
    return 0;
}

/* ---- retention ---- */

int staff_audit_purge(store_t *s, MDB_txn *txn, int cutoff_day, size_t *n_erased)
{
    MDB_dbi d;
    if (store_dbi(s, STAFF_DBI_AUDIT, &d) != 0)
        return MDB_BAD_DBI;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    /* ids grow with time: delete from the oldest until the first kept one */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int64_t t = (int64_t)(key_id(&k) / 1000000u);
        if (date_london_from_unix((time_t)t) >= cutoff_day)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
        (*n_erased)++;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int purge(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n_erased, char *err, size_t err_size)
{
    size_t n = 0;
    int rc = staff_audit_purge(privacy_store(p), txn, privacy_cutoff(p, PRIVACY_CASE_RECORDS, as_of_day), &n);
    if (rc) {
        snprintf(err, err_size, "staff audit purge: %s", mdb_strerror(rc));
        return rc;
    }
    *n_erased += n;
    return 0;
}

static const store_dbi_def_t staff_dbis[] = {{STAFF_DBI_ACCOUNTS, 0}, {STAFF_DBI_AUDIT, 0}};

/* No export_user/forget: the records hold no resident's data to export or
 * erase (audit.h). */
const privacy_module_t staff_privacy_module = {"staff", staff_dbis, 2, NULL, NULL, purge, NULL, NULL};
