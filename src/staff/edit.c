/* edit.c - owns the editors' changes (edit.h): each is turned into the new
 * CSV of the table it changes and run through the import (import_job_*),
 * with a diff, the properties and dates it touches, and an audit record
 * in the same write txn. Nothing here validates a row itself: the import
 * does, so an edit can never store what `binday import` would refuse. */
#include "binday/staff/edit.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "binday/data/calendar.h"
#include "binday/data/holidays.h"
#include "binday/data/import.h"
#include "binday/data/records.h"
#include "binday/staff/audit.h"
#include "binday/staff/view.h"
#include "binday/util/algo.h"
#include "binday/util/date.h"
#include "binday/util/strbuf.h"
#include "binday/util/xalloc.h"
#include "staff_internal.h"

#define EDIT_LABEL "edit" /* the edited table's label: "edit:2: ..." is the row changed */
#define CSV_MAX (64u << 20)
#define ABORT_EDIT (-32002) /* store_write fn: rejected, do not commit */

/* ---- rows of the exceptions and notices tables, owned ---- */

typedef struct xrow {
    char *round; /* or notice id */
    int action;  /* exceptions */
    int orig, newd;
    char *reason;  /* exceptions: may be NULL; notices: message */
    char *scope;   /* notices */
    int from, to;  /* notices */
    int mine;      /* the row this edit adds or changes: written first */
} xrow_t;

typedef struct xtable {
    xrow_t *r;
    size_t n, cap;
} xtable_t;

static char *dupn(const char *p, size_t n)
{
    if (p == NULL)
        return NULL;
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static xrow_t *xt_add(xtable_t *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->r = xrealloc(t->r, t->cap * sizeof(*t->r));
    }
    xrow_t *x = &t->r[t->n++];
    memset(x, 0, sizeof(*x));
    return x;
}

static void xrow_free(xrow_t *x)
{
    free(x->round);
    free(x->reason);
    free(x->scope);
}

static void xt_del(xtable_t *t, size_t i)
{
    xrow_free(&t->r[i]);
    memmove(&t->r[i], &t->r[i + 1], (t->n - i - 1) * sizeof(*t->r));
    t->n--;
}

static void xt_free(xtable_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        xrow_free(&t->r[i]);
    free(t->r);
    memset(t, 0, sizeof(*t));
}

static int load_exceptions(staff_t *st, MDB_txn *txn, xtable_t *t)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(st->store, STORE_EXCEPTIONS), &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rec_iter_t it;
        rec_exception_t e;
        if (rec_list_open(&it, v.mv_data, v.mv_size) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        int r2;
        while ((r2 = rec_next_exception(&it, &e)) == 1) {
            xrow_t *x = xt_add(t);
            x->round = dupn(k.mv_data, k.mv_size);
            x->action = e.action;
            x->orig = e.original;
            x->newd = e.new_date;
            x->reason = e.reason.p ? dupn(e.reason.p, e.reason.n) : NULL;
        }
        if (r2 < 0) {
            rc = MDB_CORRUPTED;
            break;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int load_notices(staff_t *st, MDB_txn *txn, xtable_t *t)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(st->store, STORE_NOTICES), &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rec_notice_t n;
        if (rec_decode_notice(v.mv_data, v.mv_size, &n) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        xrow_t *x = xt_add(t);
        x->round = dupn(k.mv_data, k.mv_size);
        x->scope = dupn(n.scope.p ? n.scope.p : "", n.scope.n);
        x->reason = dupn(n.message.p ? n.message.p : "", n.message.n);
        x->from = n.from;
        x->to = n.to;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* RFC 4180 cell (the import's reader takes quoted newlines in reason and
 * message). */
static void cell(strbuf_t *b, const char *s, int last)
{
    if (s && strpbrk(s, ",\"\r\n") != NULL) {
        strbuf_put(b, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                strbuf_put(b, "\"\"", 2);
            else
                strbuf_put(b, p, 1);
        }
        strbuf_put(b, "\"", 1);
    } else if (s) {
        strbuf_puts(b, s);
    }
    strbuf_puts(b, last ? "\n" : ",");
}

static const char *action_name(int a)
{
    return a == CAL_MOVED ? "moved" : a == CAL_CANCELLED ? "cancelled" : a == CAL_ADDED ? "added" : "?";
}

static void date_cell(strbuf_t *b, int d, int last)
{
    char s[11];
    cell(b, (d == DATE_NONE_LO || d == DATE_NONE_HI) ? "" : date_format(d, s), last);
}

/* The table as import CSV, the edited row first (line 2). */
static void exceptions_csv(const xtable_t *t, strbuf_t *b)
{
    strbuf_puts(b, "round_id,action,original_date,new_date,reason\n");
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < t->n; i++) {
            const xrow_t *x = &t->r[i];
            if (x->mine != pass)
                continue;
            cell(b, x->round, 0);
            cell(b, action_name(x->action), 0);
            date_cell(b, x->action == CAL_ADDED ? DATE_NONE_LO : x->orig, 0);
            date_cell(b, x->action == CAL_CANCELLED ? DATE_NONE_LO : x->newd, 0);
            cell(b, x->reason ? x->reason : "", 1);
        }
}

static void notices_csv(const xtable_t *t, strbuf_t *b)
{
    strbuf_puts(b, "notice_id,scope,from,to,message\n");
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < t->n; i++) {
            const xrow_t *x = &t->r[i];
            if (x->mine != pass)
                continue;
            cell(b, x->round, 0);
            cell(b, x->scope, 0);
            date_cell(b, x->from, 0);
            date_cell(b, x->to, 0);
            cell(b, x->reason, 1);
        }
}

static json_t *exc_json(const xrow_t *x)
{
    char a[11], b[11];
    json_t *o = json_pack("{s:s,s:s}", "round_id", x->round, "action", action_name(x->action));
    if (x->action != CAL_ADDED)
        json_object_set_new(o, "original_date", json_string(date_format(x->orig, a)));
    if (x->action != CAL_CANCELLED)
        json_object_set_new(o, "new_date", json_string(date_format(x->newd, b)));
    if (x->reason && x->reason[0])
        json_object_set_new(o, "reason", json_string(x->reason));
    return o;
}

static json_t *notice_json(const xrow_t *x)
{
    char a[11], b[11];
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "notice_id", x->round, "scope", x->scope, "from",
                     date_format(x->from, a), "to", date_format(x->to, b), "message", x->reason ? x->reason : "");
}

/* ---- the edit in one txn ---- */

typedef struct touched {
    char round[STAFF_ID_MAX + 2];
    int date;
} touched_t;

typedef struct edit_ctx {
    staff_t *st;
    char actor[STAFF_ID_MAX + 16];
    staff_role_t role;
    staff_edit_t e;          /* strings borrowed, or owned by `own` (submit) */
    char *own_strings[8];
    int *own_dates;
    staff_upload_file_t *own_files;
    import_job_t *upload;    /* UPLOAD: parsed once */
    staff_result_t *res;
    staff_edit_done_fn done;
    void *ud;
} edit_ctx_t;

static void res_error(staff_result_t *r, const char *msg)
{
    r->n_errors_total++;
    if (r->n_errors >= STAFF_MAX_ERRORS)
        return;
    r->errors = xrealloc(r->errors, (r->n_errors + 1) * sizeof(*r->errors));
    r->errors[r->n_errors++] = xstrdup(msg);
}

static void res_date(staff_result_t *r, int d)
{
    if (d == DATE_NONE_LO || d == DATE_NONE_HI)
        return;
    for (size_t i = 0; i < r->n_dates; i++)
        if (r->dates[i] == d)
            return;
    r->n_dates_total++;
    if (r->n_dates == STAFF_MAX_DATES)
        return;
    size_t i = r->n_dates++;
    while (i > 0 && r->dates[i - 1] > d) {
        r->dates[i] = r->dates[i - 1];
        i--;
    }
    r->dates[i] = d;
}

static int touched_cmp(const void *a, const void *b)
{
    const touched_t *x = a, *y = b;
    int c = strcmp(x->round, y->round);
    return c ? c : (x->date > y->date) - (x->date < y->date);
}

/* Properties with a collection of one of the touched (round, date) pairs;
 * "*" stands for every round that collects on the date (a round's own
 * exception for that date would win over the `*` one: not subtracted, the
 * count is an upper bound then). */
static int count_properties(staff_t *st, MDB_txn *txn, touched_t *tt, size_t ntt, size_t *out)
{
    *out = 0;
    touched_t *all = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < ntt; i++) {
        if (strcmp(tt[i].round, "*") != 0) {
            if (n == cap)
                all = xrealloc(all, (cap = cap ? cap * 2 : 16) * sizeof(*all));
            all[n++] = tt[i];
            continue;
        }
        MDB_cursor *c;
        rc = mdb_cursor_open(txn, store_core_dbi(st->store, STORE_ROUNDS), &c);
        if (rc)
            goto out;
        MDB_val k, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            rec_round_t r;
            if (rec_decode_round(v.mv_data, v.mv_size, &r) != 0 || k.mv_size > STAFF_ID_MAX)
                continue;
            cal_round_t cr = {r.weekday, r.interval_weeks, r.anchor, r.valid_from, r.valid_to};
            if (!cal_round_collects(&cr, tt[i].date))
                continue;
            if (n == cap)
                all = xrealloc(all, (cap = cap ? cap * 2 : 16) * sizeof(*all));
            memset(&all[n], 0, sizeof(all[n]));
            memcpy(all[n].round, k.mv_data, k.mv_size);
            all[n++].date = tt[i].date;
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND)
            goto out;
        rc = 0;
    }
    if (n == 0)
        goto out;
    qsort(all, n, sizeof(*all), touched_cmp);
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, store_core_dbi(st->store, STORE_ASSIGNMENTS), &c);
    if (rc)
        goto out;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rec_iter_t it;
        rec_assignment_t a;
        if (rec_list_open(&it, v.mv_data, v.mv_size) != 0)
            continue;
        int hit = 0;
        while (!hit && rec_next_assignment(&it, &a) == 1) {
            if (a.round_id.n > STAFF_ID_MAX)
                continue;
            touched_t key;
            memset(&key, 0, sizeof(key));
            memcpy(key.round, a.round_id.p, a.round_id.n);
            key.date = DATE_NONE_LO;
            /* first pair of this round, then its dates */
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (touched_cmp(&all[mid], &key) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t i = lo; i < n && strcmp(all[i].round, key.round) == 0 && !hit; i++)
                hit = all[i].date >= a.valid_from && all[i].date <= a.valid_to;
        }
        *out += (size_t)hit;
    }
    mdb_cursor_close(c);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
out:
    free(all);
    return rc;
}

static int find_exc(const xtable_t *t, const char *round, int date, int added)
{
    for (size_t i = 0; i < t->n; i++) {
        const xrow_t *x = &t->r[i];
        if (strcmp(x->round, round) != 0)
            continue;
        if (added ? (x->action == CAL_ADDED && x->newd == date) : (x->action != CAL_ADDED && x->orig == date))
            return (int)i;
    }
    return -1;
}

/* The round's service (for the optional service check): 0, MDB_NOTFOUND. */
static int round_service(staff_t *st, MDB_txn *txn, const char *round, char *svc, size_t n)
{
    MDB_val k = {strlen(round), (void *)round}, v;
    int rc = mdb_get(txn, store_core_dbi(st->store, STORE_ROUNDS), &k, &v);
    if (rc)
        return rc;
    rec_round_t r;
    if (rec_decode_round(v.mv_data, v.mv_size, &r) != 0)
        return MDB_CORRUPTED;
    snprintf(svc, n, "%.*s", (int)r.service_id.n, r.service_id.p ? r.service_id.p : "");
    return 0;
}

static void dl(int d, char out[40])
{
    date_long(d, out, 40);
}

/* Build the import job of a non-upload edit from the stored table in txn,
 * plus the audit values and touched pairs. STAFF_* for the edit's own
 * problems (message in res), or an MDB error. */
static int build(edit_ctx_t *x, MDB_txn *txn, import_job_t **job, json_t **before, json_t **after,
                 char *action, char *target, char *summary, touched_t **tt, size_t *ntt)
{
    staff_result_t *res = x->res;
    const staff_edit_t *e = &x->e;
    xtable_t t = {0};
    strbuf_t b;
    strbuf_init(&b, CSV_MAX);
    int rc = 0, is_exc = e->kind != STAFF_EDIT_NOTICE_PUBLISH && e->kind != STAFF_EDIT_NOTICE_EXPIRE;
    char d1[40], d2[40];
    *tt = NULL;
    *ntt = 0;
    rc = is_exc ? load_exceptions(x->st, txn, &t) : load_notices(x->st, txn, &t);
    if (rc)
        goto out;
    const char *round = e->round_id ? e->round_id : "";
    if (e->kind <= STAFF_EDIT_REVERT) {
        if (!e->round_id || !e->round_id[0] || strlen(round) > STAFF_ID_MAX) {
            snprintf(res->message, sizeof(res->message), "choose a round");
            rc = STAFF_REJECTED;
            goto out;
        }
        if (strcmp(round, "*") == 0 && (e->kind == STAFF_EDIT_ADD || e->kind == STAFF_EDIT_REVERT)) {
            snprintf(res->message, sizeof(res->message), "an extra collection needs a round, not every round");
            rc = STAFF_REJECTED;
            goto out;
        }
        if (strcmp(round, "*") != 0) {
            char svc[STAFF_ID_MAX + 1];
            int r2 = round_service(x->st, txn, round, svc, sizeof(svc));
            if (r2 == MDB_NOTFOUND) {
                snprintf(res->message, sizeof(res->message), "there is no round %.64s", round);
                rc = STAFF_NOT_FOUND;
                goto out;
            }
            if (r2) {
                rc = r2;
                goto out;
            }
            if (e->service_id && e->service_id[0] && strcmp(e->service_id, svc) != 0) {
                snprintf(res->message, sizeof(res->message), "round %.64s collects %.64s, not %.64s", round, svc,
                         e->service_id);
                rc = STAFF_REJECTED;
                goto out;
            }
        }
        if (e->kind == STAFF_EDIT_CANCEL && (!e->reason || !e->reason[0])) {
            snprintf(res->message, sizeof(res->message), "give a reason for the cancellation");
            rc = STAFF_REJECTED;
            goto out;
        }
    }
    switch (e->kind) {
    case STAFF_EDIT_MOVE:
    case STAFF_EDIT_CANCEL: {
        int i = find_exc(&t, round, e->date, 0);
        *before = i >= 0 ? exc_json(&t.r[i]) : NULL;
        if (i >= 0)
            xt_del(&t, (size_t)i);
        xrow_t *r = xt_add(&t);
        r->mine = 1;
        r->round = xstrdup(round);
        r->action = e->kind == STAFF_EDIT_MOVE ? CAL_MOVED : CAL_CANCELLED;
        r->orig = e->date;
        r->newd = e->kind == STAFF_EDIT_MOVE ? e->new_date : DATE_NONE_LO;
        r->reason = e->reason && e->reason[0] ? xstrdup(e->reason) : NULL;
        *after = exc_json(r);
        strcpy(action, e->kind == STAFF_EDIT_MOVE ? "exception.move" : "exception.cancel");
        dl(e->date, d1);
        if (e->kind == STAFF_EDIT_MOVE) {
            dl(e->new_date, d2);
            snprintf(summary, 256, "moved round %.64s's collection from %s to %s", round, d1, d2);
        } else {
            snprintf(summary, 256, "cancelled round %.64s's collection on %s", round, d1);
        }
        *tt = xcalloc(2, sizeof(**tt));
        snprintf((*tt)[0].round, sizeof((*tt)[0].round), "%s", round);
        (*tt)[0].date = e->date;
        *ntt = 1;
        res_date(res, e->date);
        if (e->kind == STAFF_EDIT_MOVE)
            res_date(res, e->new_date);
        break;
    }
    case STAFF_EDIT_ADD: {
        xrow_t *r = xt_add(&t);
        r->mine = 1;
        r->round = xstrdup(round);
        r->action = CAL_ADDED;
        r->orig = DATE_NONE_LO;
        r->newd = e->new_date;
        r->reason = e->reason && e->reason[0] ? xstrdup(e->reason) : NULL;
        *after = exc_json(r);
        strcpy(action, "exception.add");
        dl(e->new_date, d1);
        snprintf(summary, 256, "added an extra collection for round %.64s on %s", round, d1);
        *tt = xcalloc(1, sizeof(**tt));
        snprintf((*tt)[0].round, sizeof((*tt)[0].round), "%s", round);
        (*tt)[0].date = e->new_date;
        *ntt = 1;
        res_date(res, e->new_date);
        break;
    }
    case STAFF_EDIT_REVERT: {
        int i = find_exc(&t, round, e->date, 0);
        if (i < 0)
            i = find_exc(&t, round, e->date, 1);
        if (i < 0) {
            dl(e->date, d1);
            snprintf(res->message, sizeof(res->message), "round %.64s has no change on %s", round, d1);
            rc = STAFF_NOT_FOUND;
            goto out;
        }
        *before = exc_json(&t.r[i]);
        *tt = xcalloc(1, sizeof(**tt));
        snprintf((*tt)[0].round, sizeof((*tt)[0].round), "%s", round);
        (*tt)[0].date = t.r[i].action == CAL_ADDED ? t.r[i].newd : t.r[i].orig;
        *ntt = 1;
        res_date(res, t.r[i].orig);
        res_date(res, t.r[i].newd);
        xt_del(&t, (size_t)i);
        strcpy(action, "exception.revert");
        dl(e->date, d1);
        snprintf(summary, 256, "removed round %.64s's change on %s", round, d1);
        break;
    }
    case STAFF_EDIT_HOLIDAYS: {
        size_t nh;
        const holiday_t *h = holidays_builtin(&nh);
        holiday_slip_t slips[128];
        size_t ns = holidays_propose(h, nh, e->year, slips, 128);
        json_t *acc = json_array(), *was = json_array();
        *tt = xcalloc(ns ? ns : 1, sizeof(**tt));
        for (size_t i = 0; i < ns; i++) {
            int want = e->n_dates == 0;
            for (size_t k = 0; k < e->n_dates && !want; k++)
                want = e->dates[k] == slips[i].original;
            if (!want)
                continue;
            int j = find_exc(&t, "*", slips[i].original, 0);
            if (j >= 0 && t.r[j].action == CAL_MOVED && t.r[j].newd == slips[i].new_date)
                continue; /* already accepted */
            if (j >= 0) {
                json_array_append_new(was, exc_json(&t.r[j]));
                xt_del(&t, (size_t)j);
            }
            xrow_t *r = xt_add(&t);
            r->mine = 1;
            r->round = xstrdup("*");
            r->action = CAL_MOVED;
            r->orig = slips[i].original;
            r->newd = slips[i].new_date;
            r->reason = xstrdup("bank holiday");
            json_array_append_new(acc, exc_json(r));
            strcpy((*tt)[*ntt].round, "*");
            (*tt)[(*ntt)++].date = slips[i].original;
            res_date(res, slips[i].original);
            res_date(res, slips[i].new_date);
        }
        for (size_t k = 0; k < e->n_dates; k++) {
            int found = 0;
            for (size_t i = 0; i < ns && !found; i++)
                found = slips[i].original == e->dates[k];
            if (!found) {
                dl(e->dates[k], d1);
                snprintf(res->message, sizeof(res->message), "%s is not a proposed bank-holiday change in %d", d1,
                         e->year);
                json_decref(acc);
                json_decref(was);
                rc = STAFF_REJECTED;
                goto out;
            }
        }
        if (json_array_size(acc) == 0) {
            snprintf(res->message, sizeof(res->message), "nothing to accept: the proposals of %d are accepted already",
                     e->year);
            json_decref(acc);
            json_decref(was);
            rc = STAFF_REJECTED;
            goto out;
        }
        *before = json_array_size(was) ? was : (json_decref(was), NULL);
        *after = acc;
        strcpy(action, "holidays.accept");
        snprintf(summary, 256, "accepted %zu bank-holiday changes of %d", json_array_size(acc), e->year);
        break;
    }
    case STAFF_EDIT_NOTICE_PUBLISH: {
        char idbuf[STAFF_ID_MAX + 1];
        const char *id = e->notice_id;
        if (id == NULL || !id[0]) {
            /* n<date>-<k>: the first free one */
            for (int k = 1; k < 100000; k++) {
                char ds[11];
                date_format(e->from, ds);
                snprintf(idbuf, sizeof(idbuf), "n%.4s%.2s%.2s-%d", ds, ds + 5, ds + 8, k);
                int taken = 0;
                for (size_t i = 0; i < t.n && !taken; i++)
                    taken = strcmp(t.r[i].round, idbuf) == 0;
                if (!taken)
                    break;
            }
            id = idbuf;
        }
        for (size_t i = 0; i < t.n; i++)
            if (strcmp(t.r[i].round, id) == 0) {
                *before = notice_json(&t.r[i]);
                xt_del(&t, i);
                break;
            }
        xrow_t *r = xt_add(&t);
        r->mine = 1;
        r->round = xstrdup(id);
        r->scope = xstrdup(e->scope ? e->scope : "");
        r->reason = xstrdup(e->message ? e->message : "");
        r->from = e->from;
        r->to = e->to;
        *after = notice_json(r);
        strcpy(action, "notice.publish");
        snprintf(target, 96, "notice:%.64s", id);
        snprintf(summary, 256, "published notice %.64s for %.80s", id, r->scope);
        break;
    }
    case STAFF_EDIT_NOTICE_EXPIRE: {
        const char *id = e->notice_id ? e->notice_id : "";
        size_t i;
        for (i = 0; i < t.n; i++)
            if (strcmp(t.r[i].round, id) == 0)
                break;
        if (i == t.n) {
            snprintf(res->message, sizeof(res->message), "there is no notice %.64s", id);
            rc = STAFF_NOT_FOUND;
            goto out;
        }
        *before = notice_json(&t.r[i]);
        int today = e->from;
        if (t.r[i].from >= today) {
            xt_del(&t, i); /* not begun (or begins today): it never shows */
        } else {
            if (t.r[i].to < today) {
                snprintf(res->message, sizeof(res->message), "notice %.64s has already ended", id);
                rc = STAFF_REJECTED;
                goto out;
            }
            t.r[i].to = today - 1;
            t.r[i].mine = 1;
            *after = notice_json(&t.r[i]);
        }
        strcpy(action, "notice.expire");
        snprintf(target, 96, "notice:%.64s", id);
        snprintf(summary, 256, "expired notice %.64s", id);
        break;
    }
    default:
        snprintf(res->message, sizeof(res->message), "unknown edit");
        rc = STAFF_REJECTED;
        goto out;
    }
    if (is_exc) {
        snprintf(target, 96, "round:%.64s", e->kind == STAFF_EDIT_HOLIDAYS ? "*" : round);
        exceptions_csv(&t, &b);
    } else {
        notices_csv(&t, &b);
    }
    if (b.failed) {
        snprintf(res->message, sizeof(res->message), "the table is too large to edit here");
        rc = STAFF_REJECTED;
        goto out;
    }
    *job = import_job_new(x->st->store, STAFF_MAX_ERRORS);
    import_job_add(*job, is_exc ? IMPORT_EXCEPTIONS : IMPORT_NOTICES, EDIT_LABEL, (const uint8_t *)b.p, b.len);
out:
    strbuf_free(&b);
    xt_free(&t);
    return rc;
}

/* Turn the import's messages into the result's. */
static void take_errors(staff_result_t *res, import_job_t *job, int upload)
{
    const char *const *m;
    size_t n = import_job_errors(job, &m);
    for (size_t i = 0; i < n; i++) {
        const char *s = m[i];
        /* "edit:N: " names a line of a table the editor never saw: drop it
         * (line 2 is the edited row; others are stored rows it clashes with) */
        if (!upload && strncmp(s, EDIT_LABEL ":", sizeof(EDIT_LABEL)) == 0) {
            const char *p = s + sizeof(EDIT_LABEL);
            while (*p >= '0' && *p <= '9')
                p++;
            if (p[0] == ':' && p[1] == ' ')
                s = p + 2;
        }
        res_error(res, s);
    }
    if (import_job_error_total(job) > res->n_errors_total)
        res->n_errors_total = import_job_error_total(job);
}

static json_t *upload_summary(const edit_ctx_t *x, const staff_result_t *res)
{
    json_t *o = json_object();
    for (size_t i = 0; i < x->e.n_files; i++) {
        const staff_upload_file_t *f = &x->e.files[i];
        uint8_t md[32];
        char hex[65];
        unsigned mdl = 0;
        EVP_Digest(f->data, f->len, md, &mdl, algo_sha256(), NULL);
        for (unsigned k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", md[k]);
        const staff_table_diff_t *d = &res->diff[f->table];
        json_object_set_new(o, import_table_name((import_table_t)f->table),
                            json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "file", f->name ? f->name : "", "bytes",
                                      (json_int_t)f->len, "sha256", hex, "added", (json_int_t)d->added, "changed",
                                      (json_int_t)d->changed, "removed", (json_int_t)d->removed, "unchanged",
                                      (json_int_t)d->unchanged));
    }
    return o;
}

/* The whole edit in txn: build, diff, check, (write + audit). Returns 0 to
 * commit, ABORT_EDIT (result says why), or an MDB error. */
static int edit_txn(edit_ctx_t *x, MDB_txn *txn, int write, char *err, size_t err_size)
{
    staff_result_t *res = x->res;
    /* a MAP_FULL retry starts again from a clean result */
    for (size_t i = 0; i < res->n_errors; i++)
        free(res->errors[i]);
    free(res->errors);
    memset(res, 0, sizeof(*res));
    import_job_t *job = x->upload;
    json_t *before = NULL, *after = NULL;
    char action[32] = "upload", target[96] = "tables", summary[256] = "";
    touched_t *tt = NULL;
    size_t ntt = 0;
    int rc = 0;
    if (x->e.kind != STAFF_EDIT_UPLOAD) {
        rc = build(x, txn, &job, &before, &after, action, target, summary, &tt, &ntt);
        if (rc) {
            if (rc == STAFF_REJECTED || rc == STAFF_NOT_FOUND) {
                res->rc = rc;
                rc = ABORT_EDIT;
            } else if (rc != MDB_MAP_FULL) {
                snprintf(err, err_size, "reading the store: %s", mdb_strerror(rc));
            }
            goto out;
        }
    }
    import_diff_t d[IMPORT_N_TABLES];
    rc = import_job_diff(job, txn, d);
    if (rc) {
        if (rc != MDB_MAP_FULL)
            snprintf(err, err_size, "comparing tables: %s", mdb_strerror(rc));
        goto out;
    }
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        res->diff[i].added = d[i].added;
        res->diff[i].changed = d[i].changed;
        res->diff[i].removed = d[i].removed;
        res->diff[i].unchanged = d[i].unchanged;
        res->diff[i].given = d[i].given;
    }
    if (ntt) {
        rc = count_properties(x->st, txn, tt, ntt, &res->properties);
        if (rc) {
            if (rc != MDB_MAP_FULL)
                snprintf(err, err_size, "counting properties: %s", mdb_strerror(rc));
            goto out;
        }
    }
    rc = import_job_run(job, txn, write, err, err_size);
    take_errors(res, job, x->e.kind == STAFF_EDIT_UPLOAD);
    if (rc == IMPORT_REJECTED) {
        res->rc = STAFF_REJECTED;
        snprintf(res->message, sizeof(res->message), "%zu problem%s found; nothing was changed",
                 res->n_errors_total, res->n_errors_total == 1 ? "" : "s");
        rc = ABORT_EDIT;
        goto out;
    }
    if (rc)
        goto out;
    if (x->e.kind == STAFF_EDIT_UPLOAD) {
        after = upload_summary(x, res);
        size_t a = 0, c = 0, r = 0;
        for (int i = 0; i < IMPORT_N_TABLES; i++) {
            a += res->diff[i].added;
            c += res->diff[i].changed;
            r += res->diff[i].removed;
        }
        snprintf(summary, sizeof(summary), "uploaded %zu table%s: %zu rows added, %zu changed, %zu removed",
                 x->e.n_files, x->e.n_files == 1 ? "" : "s", a, c, r);
    }
    if (write) {
        rc = staff_audit_put(x->st, txn, x->actor, action, target, summary, before, after, &res->audit_id);
        if (rc == 0)
            rc = store_generation(x->st->store, txn, &res->generation);
        if (rc) {
            if (rc != MDB_MAP_FULL)
                snprintf(err, err_size, "writing the audit record: %s", mdb_strerror(rc));
            goto out;
        }
    }
    if (ntt && summary[0])
        snprintf(res->message, sizeof(res->message), "%s%s (%zu propert%s)", write ? "" : "preview: ", summary,
                 res->properties, res->properties == 1 ? "y" : "ies");
    else
        snprintf(res->message, sizeof(res->message), "%s%s", write ? "" : "preview: ", summary);
out:
    if (job != x->upload)
        import_job_free(job);
    json_decref(before);
    json_decref(after);
    free(tt);
    if (rc == 0)
        res->rc = 0;
    else if (rc != ABORT_EDIT)
        res->rc = STAFF_ERROR;
    return rc;
}

static int edit_write_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    return edit_txn(ud, txn, 1, err, err_size);
}

/* Checks before any txn; prepares the upload's parsed job. 0 or a STAFF_*
 * code with res->message set. */
static int prepare(edit_ctx_t *x)
{
    staff_result_t *res = x->res;
    if (!staff_role_allows(x->role, STAFF_ROLE_EDITOR)) {
        snprintf(res->message, sizeof(res->message), "only editors may change calendars");
        return res->rc = STAFF_FORBIDDEN;
    }
    if (x->e.kind == STAFF_EDIT_UPLOAD) {
        if (x->e.n_files == 0 || x->e.n_files > IMPORT_N_TABLES) {
            snprintf(res->message, sizeof(res->message), "choose one CSV file per table, at least one");
            return res->rc = STAFF_REJECTED;
        }
        int seen[IMPORT_N_TABLES] = {0};
        for (size_t i = 0; i < x->e.n_files; i++) {
            int t = x->e.files[i].table;
            if (t < 0 || t >= IMPORT_N_TABLES || seen[t]) {
                snprintf(res->message, sizeof(res->message), "each table at most once");
                return res->rc = STAFF_REJECTED;
            }
            seen[t] = 1;
        }
        x->upload = import_job_new(x->st->store, STAFF_MAX_ERRORS);
        for (size_t i = 0; i < x->e.n_files; i++) {
            const staff_upload_file_t *f = &x->e.files[i];
            import_job_add(x->upload, (import_table_t)f->table,
                           f->name && f->name[0] ? f->name : import_table_name((import_table_t)f->table), f->data,
                           f->len);
        }
    }
    return 0;
}

static edit_ctx_t *ctx_new(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e)
{
    edit_ctx_t *x = xcalloc(1, sizeof(*x));
    x->st = st;
    snprintf(x->actor, sizeof(x->actor), "%s", actor && actor->user ? actor->user : "");
    x->role = actor ? actor->role : STAFF_ROLE_NONE;
    x->e = *e;
    x->res = xcalloc(1, sizeof(*x->res));
    return x;
}

static void ctx_free(edit_ctx_t *x)
{
    if (x == NULL)
        return;
    import_job_free(x->upload);
    for (size_t i = 0; i < sizeof(x->own_strings) / sizeof(x->own_strings[0]); i++)
        free(x->own_strings[i]);
    free(x->own_dates);
    if (x->own_files) {
        for (size_t i = 0; i < x->e.n_files; i++) {
            free((void *)x->own_files[i].name);
            free((void *)x->own_files[i].data);
        }
        free(x->own_files);
    }
    staff_result_free(x->res);
    free(x);
}

int staff_edit_preview(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                       char *err, size_t err_size)
{
    edit_ctx_t *x = ctx_new(st, actor, e);
    int rc = prepare(x);
    if (rc == 0) {
        store_reader_t *r = store_reader_new(st->store);
        if (r == NULL)
            xalloc_die("store_reader_new", 0);
        MDB_txn *txn;
        if (store_reader_begin(r, &txn, err, err_size) == 0) {
            rc = edit_txn(x, txn, 0, err, err_size);
            store_reader_end(r);
            if (rc && rc != ABORT_EDIT)
                snprintf(x->res->message, sizeof(x->res->message), "the preview failed: %s", err);
        } else {
            x->res->rc = STAFF_ERROR;
        }
        store_reader_free(r);
    }
    *out = x->res;
    x->res = NULL;
    ctx_free(x);
    if ((*out)->rc == STAFF_ERROR && err[0] == '\0')
        snprintf(err, err_size, "%s", (*out)->message);
    return (*out)->rc;
}

int staff_edit_apply(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                     char *err, size_t err_size)
{
    edit_ctx_t *x = ctx_new(st, actor, e);
    err[0] = '\0';
    if (prepare(x) == 0) {
        int rc = store_write(st->store, edit_write_fn, x, err, err_size);
        if (rc && rc != ABORT_EDIT) {
            x->res->rc = STAFF_ERROR;
            snprintf(x->res->message, sizeof(x->res->message), "the change was not saved: %s", err);
        }
    }
    *out = x->res;
    x->res = NULL;
    ctx_free(x);
    return (*out)->rc;
}

/* ---- on the store writer ---- */

static int job_apply(MDB_txn *txn, void *arg, char *err, size_t err_size)
{
    return edit_txn(arg, txn, 1, err, err_size);
}

static void job_after(void *arg, int rc, const char *err)
{
    edit_ctx_t *x = arg;
    if (rc != 0 && rc != ABORT_EDIT && x->res->rc != STAFF_ERROR) {
        x->res->rc = STAFF_ERROR;
    }
    if (rc != 0 && rc != ABORT_EDIT)
        snprintf(x->res->message, sizeof(x->res->message), "the change was not saved: %s", err ? err : "");
    if (rc != 0) {
        x->res->audit_id = 0;
        x->res->generation = 0;
    }
}

static void job_done(void *ud, void *arg, int rc, const char *err)
{
    (void)rc;
    (void)err;
    edit_ctx_t *x = arg;
    staff_result_t *res = x->res;
    x->res = NULL;
    x->done(ud, res);
}

static void job_release(void *arg)
{
    ctx_free(arg);
}

static const writer_ops_t edit_ops = {job_apply, NULL, job_after, job_done, job_release};

static char *own(edit_ctx_t *x, int slot, const char *s)
{
    return s ? (x->own_strings[slot] = xstrdup(s)) : NULL;
}

int staff_edit_submit(staff_t *st, writer_port_t *port, const staff_actor_t *actor, const staff_edit_t *e,
                      staff_edit_done_fn done, void *ud, writer_job_t **job)
{
    if (st->writer == NULL) {
        char err[300];
        staff_result_t *res;
        staff_edit_apply(st, actor, e, &res, err, sizeof(err));
        done(ud, res);
        return 0;
    }
    edit_ctx_t *x = ctx_new(st, actor, e);
    x->done = done;
    x->ud = ud;
    x->e.round_id = own(x, 0, e->round_id);
    x->e.service_id = own(x, 1, e->service_id);
    x->e.reason = own(x, 2, e->reason);
    x->e.notice_id = own(x, 3, e->notice_id);
    x->e.scope = own(x, 4, e->scope);
    x->e.message = own(x, 5, e->message);
    if (e->n_dates) {
        x->own_dates = xmalloc(e->n_dates * sizeof(int));
        memcpy(x->own_dates, e->dates, e->n_dates * sizeof(int));
        x->e.dates = x->own_dates;
    }
    if (e->n_files) {
        x->own_files = xcalloc(e->n_files, sizeof(*x->own_files));
        for (size_t i = 0; i < e->n_files; i++) {
            x->own_files[i].table = e->files[i].table;
            x->own_files[i].name = e->files[i].name ? xstrdup(e->files[i].name) : NULL;
            uint8_t *d = xmalloc(e->files[i].len ? e->files[i].len : 1);
            if (e->files[i].len)
                memcpy(d, e->files[i].data, e->files[i].len);
            x->own_files[i].data = d;
            x->own_files[i].len = e->files[i].len;
        }
        x->e.files = x->own_files;
    }
    if (prepare(x) != 0) {
        /* refused before queueing: answer through done all the same, now */
        staff_result_t *res = x->res;
        x->res = NULL;
        ctx_free(x);
        done(ud, res);
        return 0;
    }
    return writer_submit(st->writer, &edit_ops, x, port, ud, job);
}
