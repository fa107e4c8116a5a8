/* view.c - owns what staff read (view.h): property search, one property's
 * calendar window with notices and feed links, and the lists behind the
 * edit forms. Everything is copied out of the read txn before it ends. */
#include "binday/staff/view.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/calendar.h"
#include "binday/data/holidays.h"
#include "binday/data/lookup.h"
#include "binday/data/postcode.h"
#include "binday/data/records.h"
#include "binday/feed/calfeed.h"
#include "binday/util/date.h"
#include "binday/util/xalloc.h"
#include "staff_internal.h"

#define QUERY_MAX 200

struct staff_view {
    staff_t *st;
    store_reader_t *r;
    lookup_result_t res; /* large: one per view */
};

staff_view_t *staff_view_new(staff_t *st)
{
    staff_view_t *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    v->st = st;
    v->r = store_reader_new(st->store);
    if (v->r == NULL) {
        free(v);
        return NULL;
    }
    return v;
}

void staff_view_free(staff_view_t *v)
{
    if (v == NULL)
        return;
    store_reader_free(v->r);
    free(v);
}

static void cpy(char *dst, size_t cap, rec_str_t s)
{
    size_t n = s.p ? s.n : 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* ---- search ---- */

typedef struct words {
    char w[12][32];
    size_t n;
} words_t;

static void split_words(const char *s, size_t n, words_t *w)
{
    w->n = 0;
    size_t i = 0;
    while (i < n && w->n < 12) {
        while (i < n && !isalnum((unsigned char)s[i]))
            i++;
        size_t j = 0;
        while (i < n && isalnum((unsigned char)s[i])) {
            if (j < sizeof(w->w[0]) - 1)
                w->w[w->n][j++] = (char)toupper((unsigned char)s[i]);
            i++;
        }
        if (j) {
            w->w[w->n][j] = '\0';
            w->n++;
        }
    }
}

/* Every word appears in the (upper-case) address as a whole word. */
static int words_match(const words_t *w, const char *addr)
{
    for (size_t i = 0; i < w->n; i++) {
        size_t l = strlen(w->w[i]);
        const char *p = addr;
        int found = 0;
        while (!found && (p = strstr(p, w->w[i])) != NULL) {
            int before = p == addr || !isalnum((unsigned char)p[-1]);
            int after = !isalnum((unsigned char)p[l]);
            found = before && after;
            p++;
        }
        if (!found)
            return 0;
    }
    return 1;
}

static void add_hit(staff_search_t *out, uint64_t uprn, const char *addr)
{
    for (size_t i = 0; i < out->n_hits; i++)
        if (out->hits[i].uprn == uprn)
            return; /* already listed (the matcher's pick comes first) */
    if (out->n_hits == STAFF_SEARCH_MAX) {
        out->truncated = 1;
        return;
    }
    out->hits[out->n_hits].uprn = uprn;
    snprintf(out->hits[out->n_hits].address, STAFF_ADDR_MAX, "%s", addr);
    out->n_hits++;
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* The properties of one postcode whose address has every word. */
static int search_postcode(staff_view_t *v, MDB_txn *txn, const char *pc, const words_t *w, staff_search_t *out)
{
    MDB_val k = {strlen(pc), (void *)pc}, val;
    int rc = mdb_get(txn, store_core_dbi(v->st->store, STORE_POSTCODES), &k, &val);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    rec_iter_t it;
    rec_property_t p;
    if (rec_list_open(&it, val.mv_data, val.mv_size) != 0)
        return MDB_CORRUPTED;
    char addr[STAFF_ADDR_MAX];
    while ((rc = rec_next_property(&it, &p)) == 1) {
        lookup_format_address(&p, addr, sizeof(addr));
        upper(addr);
        if (w == NULL || words_match(w, addr))
            add_hit(out, p.uprn, addr);
    }
    return rc < 0 ? MDB_CORRUPTED : 0;
}

/* No postcode: every property, by words (at most STAFF_SEARCH_MAX). */
static int search_scan(staff_view_t *v, MDB_txn *txn, const words_t *w, staff_search_t *out)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_ADDRESSES), &c);
    if (rc)
        return rc;
    MDB_val k, val;
    char addr[STAFF_ADDR_MAX];
    for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0 && !out->truncated;
         rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
        rec_property_t p;
        if (rec_decode_property(val.mv_data, val.mv_size, &p) != 0)
            continue;
        lookup_format_address(&p, addr, sizeof(addr));
        upper(addr);
        if (words_match(w, addr))
            add_hit(out, p.uprn, addr);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int staff_search(staff_view_t *v, const char *q, size_t q_len, staff_search_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    while (q_len && isspace((unsigned char)q[0])) {
        q++;
        q_len--;
    }
    while (q_len && isspace((unsigned char)q[q_len - 1]))
        q_len--;
    if (q_len == 0 || q_len > QUERY_MAX) {
        snprintf(err, err_size, "type a postcode, an address or a UPRN (up to %d characters)", QUERY_MAX);
        return STAFF_REJECTED;
    }
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    int rc = 0;
    size_t digits = 0;
    while (digits < q_len && q[digits] >= '0' && q[digits] <= '9')
        digits++;
    char pc[POSTCODE_MAX];
    words_t w;
    if (digits == q_len && q_len <= 12) {
        out->kind = STAFF_Q_UPRN;
        unsigned long long uprn = strtoull(q, NULL, 10);
        unsigned char key[8];
        store_uprn_key(uprn, key);
        MDB_val k = {8, key}, val;
        rc = mdb_get(txn, store_core_dbi(v->st->store, STORE_ADDRESSES), &k, &val);
        rec_property_t p;
        if (rc == 0 && rec_decode_property(val.mv_data, val.mv_size, &p) == 0) {
            char addr[STAFF_ADDR_MAX];
            lookup_format_address(&p, addr, sizeof(addr));
            add_hit(out, p.uprn, addr);
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    } else if (postcode_normalize((const uint8_t *)q, q_len, pc) > 0) {
        out->kind = STAFF_Q_POSTCODE;
        rc = search_postcode(v, txn, pc, NULL, out);
    } else {
        out->kind = STAFF_Q_ADDRESS;
        /* a postcode at the end ("12 High Street NR19 1AA") narrows the search */
        split_words(q, q_len, &w);
        int found = 0;
        for (size_t take = 2; take >= 1 && !found && w.n >= take; take--) {
            char cand[64];
            if (take == 2)
                snprintf(cand, sizeof(cand), "%s %s", w.w[w.n - 2], w.w[w.n - 1]);
            else
                snprintf(cand, sizeof(cand), "%s", w.w[w.n - 1]);
            if (postcode_normalize((const uint8_t *)cand, strlen(cand), pc) > 0) {
                found = 1;
                w.n -= take;
            }
        }
        size_t longest = 0;
        for (size_t i = 0; i < w.n; i++)
            longest = strlen(w.w[i]) > longest ? strlen(w.w[i]) : longest;
        if (found) {
            /* the skill's matcher first: its exact match or candidates head
             * the list, then every property of the postcode with the words */
            addrmatch_input_t in;
            memset(&in, 0, sizeof(in));
            char line[400];
            size_t o = 0;
            line[0] = '\0';
            for (size_t i = 0; i < w.n && o < sizeof(line) - 40; i++)
                o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", i ? " " : "", w.w[i]);
            in.line[0] = (const uint8_t *)line;
            in.line_len[0] = o;
            in.postcode = (const uint8_t *)pc;
            in.postcode_len = strlen(pc);
            char e2[200];
            if (o && lookup_address_txn(v->st->store, txn, &in, date_today_london(), 1, &v->res, e2, sizeof(e2)) == 0) {
                char addr[STAFF_ADDR_MAX];
                if (v->res.match == AM_EXACT && v->res.address.p) {
                    cpy(addr, sizeof(addr), v->res.address);
                    add_hit(out, v->res.uprn, addr);
                } else if (v->res.match == AM_AMBIGUOUS) {
                    for (size_t i = 0; i < v->res.n_candidates; i++) {
                        cpy(addr, sizeof(addr), v->res.candidates[i].address);
                        add_hit(out, v->res.candidates[i].uprn, addr);
                    }
                }
            }
            rc = search_postcode(v, txn, pc, &w, out);
        } else if (longest < 3) {
            store_reader_end(v->r);
            snprintf(err, err_size, "add a street name or the postcode");
            return STAFF_REJECTED;
        } else {
            rc = search_scan(v, txn, &w, out);
        }
    }
    store_reader_end(v->r);
    if (rc) {
        snprintf(err, err_size, "search: %s", mdb_strerror(rc));
        return STAFF_ERROR;
    }
    return 0;
}

/* ---- one property ---- */

int staff_property_get(staff_view_t *v, uint64_t uprn, int today, staff_property_t *out, char *err,
                       size_t err_size)
{
    memset(out, 0, offsetof(staff_property_t, collections));
    out->n_collections = out->n_notices = 0;
    out->truncated = 0;
    out->feed_path[0] = out->feed_url[0] = out->feed_webcal[0] = '\0';
    out->uprn = uprn;
    out->from = today - STAFF_VIEW_DAYS_BACK;
    out->to = today + STAFF_VIEW_DAYS_AHEAD;
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    lookup_result_t *res = &v->res;
    int rc = lookup_uprn_feed_txn(v->st->store, txn, uprn, out->from, out->to - out->from + 1, res, err, err_size);
    if (rc) {
        store_reader_end(v->r);
        return STAFF_ERROR;
    }
    if (res->match == AM_NONE) {
        store_reader_end(v->r);
        snprintf(err, err_size, "no property with UPRN %llu", (unsigned long long)uprn);
        return STAFF_NOT_FOUND;
    }
    cpy(out->address, sizeof(out->address), res->address);
    unsigned char key[8];
    store_uprn_key(uprn, key);
    MDB_val k = {8, key}, val;
    rec_property_t p;
    if (mdb_get(txn, store_core_dbi(v->st->store, STORE_ADDRESSES), &k, &val) == 0 &&
        rec_decode_property(val.mv_data, val.mv_size, &p) == 0)
        cpy(out->postcode, sizeof(out->postcode), p.postcode);
    for (size_t i = 0; i < res->n_collections && out->n_collections < STAFF_PROP_MAX_COLLECTIONS; i++) {
        const lookup_collection_t *c = &res->collections[i];
        staff_collection_t *o = &out->collections[out->n_collections++];
        o->date = c->date;
        o->original = c->original;
        o->cancelled = c->cancelled;
        o->moved = !c->cancelled && c->changed && c->original != c->date;
        o->added = !c->cancelled && c->changed && c->original == c->date;
        cpy(o->service_id, sizeof(o->service_id), c->service_id);
        cpy(o->service_name, sizeof(o->service_name), c->name);
        cpy(o->colour, sizeof(o->colour), c->colour);
        cpy(o->reason, sizeof(o->reason), c->reason);
    }
    out->truncated = res->truncated || res->n_collections > STAFF_PROP_MAX_COLLECTIONS;
    for (size_t i = 0; i < res->n_notices && out->n_notices < STAFF_PROP_MAX_NOTICES; i++) {
        const lookup_notice_t *n = &res->notices[i];
        staff_notice_t *o = &out->notices[out->n_notices++];
        cpy(o->notice_id, sizeof(o->notice_id), n->notice_id);
        cpy(o->message, sizeof(o->message), n->message);
        o->from = n->from;
        o->to = n->to;
        o->in_force = n->from <= today && today <= n->to;
        MDB_val nk = {n->notice_id.n, (void *)n->notice_id.p}, nv;
        rec_notice_t rn;
        o->scope[0] = '\0';
        if (mdb_get(txn, store_core_dbi(v->st->store, STORE_NOTICES), &nk, &nv) == 0 &&
            rec_decode_notice(nv.mv_data, nv.mv_size, &rn) == 0)
            cpy(o->scope, sizeof(o->scope), rn.scope);
    }
    store_reader_end(v->r);
    char token[CALFEED_TOKEN_LEN + 1];
    calfeed_token_make(&v->st->feed_key, uprn, token);
    snprintf(out->feed_path, sizeof(out->feed_path), "/calendar/%s.ics", token);
    calfeed_links_t links;
    if (v->st->public_url && calfeed_links(v->st->public_url, token, &links) == 0) {
        snprintf(out->feed_url, sizeof(out->feed_url), "%s", links.https);
        snprintf(out->feed_webcal, sizeof(out->feed_webcal), "%s", links.webcal);
    }
    return 0;
}

/* ---- lists ---- */

#define GROW(arr, n, cap)                                                                            \
    do {                                                                                             \
        if ((n) == (cap)) {                                                                          \
            (cap) = (cap) ? (cap) * 2 : 32;                                                          \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                         \
        }                                                                                            \
    } while (0)

static int list_end(staff_view_t *v, int rc, char *err, size_t err_size, const char *what)
{
    store_reader_end(v->r);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    snprintf(err, err_size, "%s: %s", what, mdb_strerror(rc));
    return STAFF_ERROR;
}

static int by_round_id(const void *a, const void *b)
{
    return strcmp(((const staff_round_info_t *)a)->round_id, ((const staff_round_info_t *)b)->round_id);
}

int staff_rounds_list(staff_view_t *v, staff_round_info_t **out, size_t *n, char *err, size_t err_size)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    staff_round_info_t *a = NULL;
    size_t na = 0, cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_ROUNDS), &c);
    MDB_val k, val;
    if (rc == 0) {
        for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
            rec_round_t r;
            if (rec_decode_round(val.mv_data, val.mv_size, &r) != 0)
                continue;
            GROW(a, na, cap);
            staff_round_info_t *x = &a[na++];
            memset(x, 0, sizeof(*x));
            rec_str_t id = {k.mv_data, (uint32_t)k.mv_size};
            cpy(x->round_id, sizeof(x->round_id), id);
            cpy(x->service_id, sizeof(x->service_id), r.service_id);
            x->weekday = r.weekday;
            x->interval_weeks = r.interval_weeks;
            MDB_val sk = {r.service_id.n, (void *)r.service_id.p}, sv;
            rec_service_t s;
            if (mdb_get(txn, store_core_dbi(v->st->store, STORE_SERVICES), &sk, &sv) == 0 &&
                rec_decode_service(sv.mv_data, sv.mv_size, &s) == 0)
                cpy(x->service_name, sizeof(x->service_name), s.name);
        }
        mdb_cursor_close(c);
    }
    if (rc == MDB_NOTFOUND && na) {
        /* properties per round (assigned now) */
        int today = date_today_london();
        qsort(a, na, sizeof(*a), by_round_id);
        rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_ASSIGNMENTS), &c);
        if (rc == 0) {
            for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0;
                 rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
                rec_iter_t it;
                rec_assignment_t as;
                if (rec_list_open(&it, val.mv_data, val.mv_size) != 0)
                    continue;
                while (rec_next_assignment(&it, &as) == 1) {
                    if (as.valid_from > today || as.valid_to < today || as.round_id.n > STAFF_ID_MAX)
                        continue;
                    staff_round_info_t key;
                    memset(&key, 0, sizeof(key));
                    cpy(key.round_id, sizeof(key.round_id), as.round_id);
                    staff_round_info_t *f = bsearch(&key, a, na, sizeof(*a), by_round_id);
                    if (f)
                        f->properties++;
                }
            }
            mdb_cursor_close(c);
        }
    }
    rc = list_end(v, rc, err, err_size, "rounds");
    if (rc)
        free(a);
    else {
        *out = a;
        *n = na;
    }
    return rc;
}

int staff_services_list(staff_view_t *v, staff_service_info_t **out, size_t *n, char *err, size_t err_size)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    staff_service_info_t *a = NULL;
    size_t na = 0, cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_SERVICES), &c);
    if (rc == 0) {
        MDB_val k, val;
        for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
            rec_service_t s;
            if (rec_decode_service(val.mv_data, val.mv_size, &s) != 0)
                continue;
            GROW(a, na, cap);
            staff_service_info_t *x = &a[na++];
            rec_str_t id = {k.mv_data, (uint32_t)k.mv_size};
            cpy(x->service_id, sizeof(x->service_id), id);
            cpy(x->name, sizeof(x->name), s.name);
            cpy(x->colour, sizeof(x->colour), s.colour);
        }
        mdb_cursor_close(c);
    }
    rc = list_end(v, rc, err, err_size, "services");
    if (rc)
        free(a);
    else {
        *out = a;
        *n = na;
    }
    return rc;
}

static int exc_date(const staff_exception_info_t *x)
{
    return x->action == CAL_ADDED ? x->new_date : x->original;
}

static int by_exc_date(const void *a, const void *b)
{
    const staff_exception_info_t *x = a, *y = b;
    int dx = exc_date(x), dy = exc_date(y);
    if (dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x->round_id, y->round_id);
}

int staff_exceptions_list(staff_view_t *v, int from, int to, staff_exception_info_t **out, size_t *n,
                          char *err, size_t err_size)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    staff_exception_info_t *a = NULL;
    size_t na = 0, cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_EXCEPTIONS), &c);
    if (rc == 0) {
        MDB_val k, val;
        for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
            rec_iter_t it;
            rec_exception_t e;
            if (rec_list_open(&it, val.mv_data, val.mv_size) != 0)
                continue;
            while (rec_next_exception(&it, &e) == 1) {
                int in = (e.action != CAL_ADDED && e.original >= from && e.original <= to) ||
                         (e.action != CAL_CANCELLED && e.new_date >= from && e.new_date <= to);
                if (!in)
                    continue;
                GROW(a, na, cap);
                staff_exception_info_t *x = &a[na++];
                rec_str_t id = {k.mv_data, (uint32_t)k.mv_size};
                cpy(x->round_id, sizeof(x->round_id), id);
                x->action = e.action;
                x->original = e.original;
                x->new_date = e.new_date;
                cpy(x->reason, sizeof(x->reason), e.reason);
            }
        }
        mdb_cursor_close(c);
    }
    rc = list_end(v, rc, err, err_size, "exceptions");
    if (rc) {
        free(a);
        return rc;
    }
    if (na)
        qsort(a, na, sizeof(*a), by_exc_date);
    *out = a;
    *n = na;
    return 0;
}

static int by_notice(const void *a, const void *b)
{
    const staff_notice_t *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return strcmp(x->notice_id, y->notice_id);
}

int staff_notices_list(staff_view_t *v, int today, staff_notice_t **out, size_t *n, char *err, size_t err_size)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size))
        return STAFF_ERROR;
    staff_notice_t *a = NULL;
    size_t na = 0, cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, store_core_dbi(v->st->store, STORE_NOTICES), &c);
    if (rc == 0) {
        MDB_val k, val;
        for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
            rec_notice_t nt;
            if (rec_decode_notice(val.mv_data, val.mv_size, &nt) != 0)
                continue;
            GROW(a, na, cap);
            staff_notice_t *x = &a[na++];
            rec_str_t id = {k.mv_data, (uint32_t)k.mv_size};
            cpy(x->notice_id, sizeof(x->notice_id), id);
            cpy(x->scope, sizeof(x->scope), nt.scope);
            cpy(x->message, sizeof(x->message), nt.message);
            x->from = nt.from;
            x->to = nt.to;
            x->in_force = nt.from <= today && today <= nt.to;
        }
        mdb_cursor_close(c);
    }
    rc = list_end(v, rc, err, err_size, "notices");
    if (rc) {
        free(a);
        return rc;
    }
    if (na)
        qsort(a, na, sizeof(*a), by_notice);
    *out = a;
    *n = na;
    return 0;
}

int staff_holidays_list(staff_view_t *v, int year, staff_holiday_info_t **out, size_t *n, char *err,
                        size_t err_size)
{
    *out = NULL;
    *n = 0;
    size_t nh;
    const holiday_t *h = holidays_builtin(&nh);
    holiday_slip_t slips[128];
    size_t ns = holidays_propose(h, nh, year, slips, 128);
    if (ns == 0)
        return 0;
    staff_holiday_info_t *a = xcalloc(ns, sizeof(*a));
    MDB_txn *txn;
    if (store_reader_begin(v->r, &txn, err, err_size)) {
        free(a);
        return STAFF_ERROR;
    }
    /* the stored `*` exceptions, to mark proposals already accepted */
    MDB_val k = {1, (void *)"*"}, val;
    int rc = mdb_get(txn, store_core_dbi(v->st->store, STORE_EXCEPTIONS), &k, &val);
    for (size_t i = 0; i < ns; i++) {
        a[i].original = slips[i].original;
        a[i].new_date = slips[i].new_date;
        snprintf(a[i].holiday, sizeof(a[i].holiday), "%s", slips[i].holiday ? slips[i].holiday : "");
        rec_iter_t it;
        rec_exception_t e;
        if (rc == 0 && rec_list_open(&it, val.mv_data, val.mv_size) == 0)
            while (rec_next_exception(&it, &e) == 1)
                if (e.action == CAL_MOVED && e.original == slips[i].original && e.new_date == slips[i].new_date)
                    a[i].accepted = 1;
    }
    rc = list_end(v, rc, err, err_size, "holidays");
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    *n = ns;
    return 0;
}
