/* lookup.c - owns answering "which property, and which collections": address
 * matching against the store, the postcode-level fallback, the calendar for
 * a property's assignments, and service notices; plus the contract's JSON.
 *
 * Hot path for the skill: one get for the postcode's properties, one for the
 * chosen property's assignments (falling back to its parent's - communal
 * bins), a few for its rounds, exceptions and services, and a scan of the
 * (small) notices table. Nothing is allocated per lookup: results live in
 * the caller's lookup_result_t.
 *
 * The rounds, services and exceptions tables are small and read by every
 * lookup (~11 values a request; decoding them from the map was ~4% of a
 * request's CPU in perf), so they come decoded from lookup_table.c's copy of
 * the snapshot's import generation, shared by all threads.
 */
#include "binday/data/lookup.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/calendar.h"
#include "binday/data/lookup_table.h"
#include "binday/data/records.h"
#include "binday/util/date.h"

#define MAX_EXC LOOKUP_TABLE_MAX_EXC /* exceptions considered per round */
#define MAX_ASG 32  /* assignments considered per property */

static rec_str_t keep(lookup_result_t *res, const char *p, size_t n)
{
    rec_str_t s = {NULL, 0};
    if (p == NULL)
        return s;
    if (res->arena_used + n + 1 > LOOKUP_ARENA) {
        s.p = "";
        return s; /* bounded: over-long data is cut, never overflows */
    }
    char *d = res->arena + res->arena_used;
    memcpy(d, p, n);
    d[n] = '\0';
    res->arena_used += n + 1;
    s.p = d;
    s.n = (uint32_t)n;
    return s;
}

static void reset(lookup_result_t *res, int from, int days)
{
    res->match = AM_NONE;
    res->uprn = 0;
    res->address.p = NULL;
    res->address.n = 0;
    res->postcode[0] = '\0';
    res->from = from;
    res->days = days;
    res->n_candidates = res->n_collections = res->n_notices = 0;
    res->n_cands = 0;
    res->truncated = 0;
    res->next_from = 0;
    res->with_cancelled = 0;
    res->arena_used = 0;
}

/* lookup.h; lookup_result_t keeps its copy in the arena (format_address) */
size_t lookup_format_address(const rec_property_t *p, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t o = 0;
    /* appends sep (unless first) and s, cut to the buffer like snprintf did */
#define ADD(sep, s)                                                                            \
    do {                                                                                       \
        if ((s).p && (s).n) {                                                                  \
            const char *sep_ = o ? (sep) : "";                                                 \
            size_t ls_ = strlen(sep_), ln_ = strnlen((s).p, (s).n);                            \
            if (ls_ > cap - 1 - o)                                                     \
                ls_ = cap - 1 - o;                                                     \
            memcpy(out + o, sep_, ls_);                                                        \
            o += ls_;                                                                          \
            if (ln_ > cap - 1 - o)                                                     \
                ln_ = cap - 1 - o;                                                     \
            memcpy(out + o, (s).p, ln_);                                                       \
            o += ln_;                                                                          \
        }                                                                                      \
    } while (0)
    ADD(", ", p->saon);
    ADD(", ", p->paon);
    /* a numbered primary address reads "12 HIGH STREET", a named one
     * "ROSE COTTAGE, CHURCH LANE" */
    int numbered = p->paon.p && p->paon.n && p->paon.p[0] >= '0' && p->paon.p[0] <= '9';
    ADD(numbered ? " " : ", ", p->street);
    if (!(p->locality.p && p->town.p && p->locality.n == p->town.n &&
          memcmp(p->locality.p, p->town.p, p->town.n) == 0))
        ADD(", ", p->locality);
    ADD(", ", p->town);
    ADD(", ", p->postcode);
#undef ADD
    out[o] = '\0';
    return o;
}

static rec_str_t format_address(lookup_result_t *res, const rec_property_t *p)
{
    char buf[1024];
    size_t o = lookup_format_address(p, buf, sizeof(buf));
    return keep(res, buf, o);
}

static int get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, MDB_val *v)
{
    MDB_val key = {kl, (void *)k};
    return mdb_get(txn, dbi, &key, v);
}

/* ---- the small tables ------------------------------------------------------------
 *
 * Rounds, services and exceptions come from the shared decoded table of this
 * snapshot's import generation (lookup_table.c). When there is none to use
 * (over its memory bound, a malformed generation, or this read txn began
 * before an import that other threads already see) they are read and decoded
 * from the map, valid for this lookup's txn only, as before the table existed. */
typedef struct small {
    store_t *s;
    MDB_txn *txn;
    const lookup_table_t *t; /* NULL: read the map */
} small_t;

static int small_round(const small_t *sm, rec_str_t id, cal_round_t *out)
{
    if (id.n == 0)
        return MDB_NOTFOUND;
    if (sm->t)
        return lookup_table_round(sm->t, id.p, id.n, out);
    MDB_val v;
    int rc = get(sm->txn, store_core_dbi(sm->s, STORE_ROUNDS), id.p, id.n, &v);
    if (rc)
        return rc;
    rec_round_t rr;
    if (rec_decode_round(v.mv_data, v.mv_size, &rr))
        return MDB_CORRUPTED;
    cal_round_t cr = {rr.weekday, rr.interval_weeks, rr.anchor, rr.valid_from, rr.valid_to};
    *out = cr;
    return 0;
}

static int small_service(const small_t *sm, rec_str_t id, rec_service_t *out)
{
    if (id.n == 0)
        return MDB_NOTFOUND;
    if (sm->t)
        return lookup_table_service(sm->t, id.p, id.n, out);
    MDB_val v;
    int rc = get(sm->txn, store_core_dbi(sm->s, STORE_SERVICES), id.p, id.n, &v);
    if (rc)
        return rc;
    return rec_decode_service(v.mv_data, v.mv_size, out) ? MDB_CORRUPTED : 0;
}

/* A round's (or "*"'s) exceptions: none when it has none. From the map they
 * are decoded into scratch (MAX_EXC entries). */
static int small_exceptions(const small_t *sm, const char *id, size_t n, cal_exception_t *scratch,
                            const cal_exception_t **out, size_t *n_out)
{
    *out = scratch;
    *n_out = 0;
    int rc = MDB_NOTFOUND;
    if (n && sm->t) {
        rc = lookup_table_exceptions(sm->t, id, n, out, n_out);
    } else if (n) {
        MDB_val v;
        rc = get(sm->txn, store_core_dbi(sm->s, STORE_EXCEPTIONS), id, n, &v);
        if (rc == 0) {
            rec_iter_t it;
            rec_exception_t e;
            if (rec_list_open(&it, v.mv_data, v.mv_size))
                return MDB_CORRUPTED;
            int r2 = 1;
            while (*n_out < MAX_EXC && (r2 = rec_next_exception(&it, &e)) == 1) {
                cal_exception_t *x = &scratch[(*n_out)++];
                x->action = e.action;
                x->original = e.original;
                x->new_date = e.new_date;
                x->reason = e.reason.p;
                x->reason_len = e.reason.n;
            }
            rc = r2 < 0 ? MDB_CORRUPTED : 0;
        }
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int get_property(store_t *s, MDB_txn *txn, uint64_t uprn, rec_property_t *p)
{
    unsigned char key[8];
    store_uprn_key(uprn, key);
    MDB_val v;
    int rc = get(txn, store_core_dbi(s, STORE_ADDRESSES), key, 8, &v);
    if (rc)
        return rc;
    return rec_decode_property(v.mv_data, v.mv_size, p) ? MDB_CORRUPTED : 0;
}

/* The assignment list that applies to a property: its own, else (communal
 * bins) its parent's. rc MDB_NOTFOUND when neither has any. */
static int effective_assignments(store_t *s, MDB_txn *txn, uint64_t uprn, uint64_t parent,
                                 MDB_val *v)
{
    unsigned char key[8];
    store_uprn_key(uprn, key);
    MDB_dbi d = store_core_dbi(s, STORE_ASSIGNMENTS);
    int rc = get(txn, d, key, 8, v);
    if (rc == MDB_NOTFOUND && parent) {
        store_uprn_key(parent, key);
        rc = get(txn, d, key, 8, v);
    }
    return rc;
}

static int cmp_str(rec_str_t a, rec_str_t b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.n < b.n ? -1 : a.n > b.n);
}

/* (date, service_id) order */
static int coll_before(int d1, rec_str_t s1, int d2, rec_str_t s2)
{
    return d1 < d2 || (d1 == d2 && cmp_str(s1, s2) < 0);
}

/* A slot for a new collection on (date, sid) when the list may be full: a
 * free one, or the latest entry's if the new one is earlier (that entry is
 * dropped). NULL when the new one is the later. *cut becomes the earliest
 * day that lost a collection. The list then holds the earliest
 * LOOKUP_MAX_COLLECTIONS whatever the order assignments are read in. */
static lookup_collection_t *coll_slot(lookup_result_t *res, int date, rec_str_t sid, int *cut)
{
    if (res->n_collections < LOOKUP_MAX_COLLECTIONS)
        return &res->collections[res->n_collections++];
    size_t last = 0;
    for (size_t i = 1; i < res->n_collections; i++)
        if (coll_before(res->collections[last].date, res->collections[last].service_id,
                        res->collections[i].date, res->collections[i].service_id))
            last = i;
    lookup_collection_t *l = &res->collections[last];
    if (coll_before(date, sid, l->date, l->service_id)) {
        if (l->date < *cut)
            *cut = l->date;
        return l;
    }
    if (date < *cut)
        *cut = date;
    return NULL;
}

static void sort_collections(lookup_result_t *res)
{
    lookup_collection_t *c = res->collections;
    for (size_t i = 1; i < res->n_collections; i++) {
        lookup_collection_t t = c[i];
        size_t j = i;
        while (j > 0 && (c[j - 1].date > t.date ||
                         (c[j - 1].date == t.date && cmp_str(c[j - 1].service_id, t.service_id) > 0))) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = t;
    }
}

typedef struct asg_view {
    rec_assignment_t a[MAX_ASG];
    size_t n;
} asg_view_t;

/* Collections of one property's assignments in the window, and the notices
 * that concern it. */
static int collections_for(store_t *s, MDB_txn *txn, const MDB_val *asg, const char *postcode,
                           lookup_result_t *res)
{
    int from = res->from, to = res->from + res->days - 1;
    asg_view_t av;
    av.n = 0;
    if (asg) {
        rec_iter_t it;
        if (rec_list_open(&it, asg->mv_data, asg->mv_size))
            return MDB_CORRUPTED;
        int r2;
        while (av.n < MAX_ASG && (r2 = rec_next_assignment(&it, &av.a[av.n])) == 1)
            av.n++;
    }
    static __thread cal_exception_t own_buf[MAX_EXC], star_buf[MAX_EXC];
    static __thread cal_occurrence_t occ[LOOKUP_MAX_COLLECTIONS];
    small_t sm = {s, txn, NULL};
    int sm_ready = 0;
    const cal_exception_t *star = NULL, *own;
    size_t n_star = 0;
    int star_loaded = 0;
    int cut = INT_MAX; /* earliest day that lost a collection to the bound */
    for (size_t i = 0; i < av.n; i++) {
        const rec_assignment_t *a = &av.a[i];
        if (a->valid_to < from || a->valid_from > to)
            continue;
        int rc;
        if (!sm_ready) { /* only lookups with collections to list need it */
            rc = lookup_table_get(s, txn, &sm.t);
            if (rc)
                return rc;
            sm_ready = 1;
        }
        cal_round_t cr;
        rc = small_round(&sm, a->round_id, &cr);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc)
            return rc;
        rec_service_t sv;
        rc = small_service(&sm, a->service_id, &sv);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc)
            return rc;
        if (!star_loaded) {
            rc = small_exceptions(&sm, "*", 1, star_buf, &star, &n_star);
            if (rc)
                return rc;
            star_loaded = 1;
        }
        size_t n_own;
        rc = small_exceptions(&sm, a->round_id.p, a->round_id.n, own_buf, &own, &n_own);
        if (rc)
            return rc;
        size_t n = cal_occurrences_ex(&cr, own, n_own, star, n_star, from, to, a->valid_from,
                                      a->valid_to, res->with_cancelled, occ, LOOKUP_MAX_COLLECTIONS);
        if (n == 0)
            continue;
        if (n == LOOKUP_MAX_COLLECTIONS && occ[n - 1].date + 1 < cut)
            cut = occ[n - 1].date + 1; /* this round may go on past its bound */
        rec_str_t sid = keep(res, a->service_id.p, a->service_id.n);
        rec_str_t name = keep(res, sv.name.p, sv.name.n);
        rec_str_t colour = keep(res, sv.colour.p, sv.colour.n);
        rec_str_t spoken = keep(res, sv.spoken_name.p, sv.spoken_name.n);
        rec_str_t descr = keep(res, sv.description.p, sv.description.n);
        rec_str_t link = keep(res, sv.link_url.p, sv.link_url.n);
        for (size_t k = 0; k < n; k++) {
            lookup_collection_t *c = coll_slot(res, occ[k].date, sid, &cut);
            if (c == NULL)
                continue;
            c->date = occ[k].date;
            c->original = occ[k].original;
            c->changed = occ[k].changed;
            c->service_id = sid;
            c->name = name;
            c->colour = colour;
            c->spoken_name = spoken;
            c->subscription = sv.subscription;
            c->reason = keep(res, occ[k].reason, occ[k].reason_len);
            c->cancelled = occ[k].cancelled;
            c->description = descr;
            c->link_url = link;
        }
    }
    sort_collections(res);
    if (cut != INT_MAX) {
        /* complete up to the day before cut: drop what is left of that day
         * and later, so that asking again from next_from repeats nothing
         * and misses nothing */
        while (res->n_collections > 0 && res->collections[res->n_collections - 1].date >= cut)
            res->n_collections--;
        res->truncated = 1;
        res->next_from = cut;
    }

    /* notices: scope and date range */
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store_core_dbi(s, STORE_NOTICES), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && res->n_notices < LOOKUP_MAX_NOTICES;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rec_notice_t nt;
        if (rec_decode_notice(v.mv_data, v.mv_size, &nt) || nt.scope.p == NULL)
            continue;
        if (nt.to < from || nt.from > to)
            continue;
        const char *sc = nt.scope.p;
        size_t sl = nt.scope.n;
        int hit = 0;
        if (sl == 3 && memcmp(sc, "all", 3) == 0) {
            hit = 1;
        } else if (sl > 8 && memcmp(sc, "service:", 8) == 0) {
            for (size_t i = 0; i < av.n && !hit; i++)
                hit = av.a[i].valid_to >= from && av.a[i].valid_from <= to &&
                      av.a[i].service_id.n == sl - 8 &&
                      memcmp(av.a[i].service_id.p, sc + 8, sl - 8) == 0;
        } else if (sl > 6 && memcmp(sc, "round:", 6) == 0) {
            for (size_t i = 0; i < av.n && !hit; i++)
                hit = av.a[i].valid_to >= from && av.a[i].valid_from <= to &&
                      av.a[i].round_id.n == sl - 6 &&
                      memcmp(av.a[i].round_id.p, sc + 6, sl - 6) == 0;
        } else if (sl > 9 && memcmp(sc, "postcode:", 9) == 0 && postcode && postcode[0]) {
            hit = postcode_in_prefix(postcode, sc + 9, sl - 9);
        }
        if (!hit)
            continue;
        lookup_notice_t *n = &res->notices[res->n_notices++];
        n->notice_id = keep(res, k.mv_data, k.mv_size);
        n->message = keep(res, nt.message.p, nt.message.n);
        n->from = nt.from;
        n->to = nt.to;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static int clamp_days(int days)
{
    return days < 1 ? 1 : days > LOOKUP_MAX_DAYS ? LOOKUP_MAX_DAYS : days;
}

static int uprn_answer(store_t *s, MDB_txn *txn, uint64_t uprn, lookup_result_t *res)
{
    rec_property_t p;
    int rc = get_property(s, txn, uprn, &p);
    if (rc == MDB_NOTFOUND) {
        res->match = AM_NONE;
        return 0;
    }
    if (rc)
        return rc;
    res->uprn = uprn;
    res->address = format_address(res, &p);
    if (p.postcode.p && p.postcode.n < POSTCODE_MAX) {
        memcpy(res->postcode, p.postcode.p, p.postcode.n);
        res->postcode[p.postcode.n] = '\0';
    }
    MDB_val v;
    rc = effective_assignments(s, txn, uprn, p.parent_uprn, &v);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return collections_for(s, txn, rc ? NULL : &v, res->postcode, res);
}

int lookup_uprn_feed_txn(store_t *s, MDB_txn *txn, uint64_t uprn, int from_day, int days,
                         lookup_result_t *res, char *err, size_t err_size)
{
    reset(res, from_day, clamp_days(days));
    res->with_cancelled = 1;
    res->match = AM_EXACT;
    int rc = uprn_answer(s, txn, uprn, res);
    if (rc)
        snprintf(err, err_size, "lookup: %s", mdb_strerror(rc));
    return rc;
}

int lookup_uprn_txn(store_t *s, MDB_txn *txn, uint64_t uprn, int from_day, int days,
                    lookup_result_t *res, char *err, size_t err_size)
{
    reset(res, from_day, clamp_days(days));
    res->match = AM_EXACT;
    int rc = uprn_answer(s, txn, uprn, res);
    if (rc)
        snprintf(err, err_size, "lookup: %s", mdb_strerror(rc));
    return rc;
}

/* Compare the raw assignment values of the properties; *first gets the
 * first one's (the shared schedule when uniform). */
static int uniform_assignments(store_t *s, MDB_txn *txn, const addrmatch_cand_t *c, size_t n,
                               int *uniform, MDB_val *first)
{
    *uniform = n > 0;
    for (size_t i = 0; i < n && *uniform; i++) {
        MDB_val a;
        int rc = effective_assignments(s, txn, c[i].uprn, c[i].parent_uprn, &a);
        if (rc == MDB_NOTFOUND) {
            *uniform = 0;
            break;
        }
        if (rc)
            return rc;
        if (i == 0)
            *first = a;
        else if (a.mv_size != first->mv_size || memcmp(a.mv_data, first->mv_data, a.mv_size))
            *uniform = 0;
    }
    return 0;
}

int lookup_uniform_txn(store_t *s, MDB_txn *txn, const addrmatch_cand_t *c, size_t n, int *uniform)
{
    MDB_val first = {0, NULL};
    return uniform_assignments(s, txn, c, n, uniform, &first);
}

/* Is some postcode of the district in this outward code? */
static int outward_known(store_t *s, MDB_txn *txn, const char *pc)
{
    size_t ol = postcode_outward_len(pc);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, store_core_dbi(s, STORE_POSTCODES), &cur))
        return 0;
    MDB_val k = {ol + 1, (void *)pc}, v; /* "NR19 " */
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    int known = rc == 0 && k.mv_size > ol && memcmp(k.mv_data, pc, ol + 1) == 0;
    mdb_cursor_close(cur);
    return known;
}

int lookup_address_txn(store_t *s, MDB_txn *txn, const addrmatch_input_t *in, int from_day,
                       int days, lookup_result_t *res, char *err, size_t err_size)
{
    reset(res, from_day, clamp_days(days));
    static __thread addrmatch_query_t q;
    int pre = addrmatch_prepare(in, &q);
    memcpy(res->postcode, q.postcode, sizeof(res->postcode));
    if (pre >= 0) {
        res->match = (am_kind_t)pre;
        return 0;
    }
    MDB_val v;
    int rc = get(txn, store_core_dbi(s, STORE_POSTCODES), q.postcode, strlen(q.postcode), &v);
    if (rc == MDB_NOTFOUND) {
        res->match = outward_known(s, txn, q.postcode) ? AM_NONE : AM_OUTSIDE;
        return 0;
    }
    if (rc)
        goto fail;
    rec_iter_t it;
    if (rec_list_open(&it, v.mv_data, v.mv_size)) {
        rc = MDB_CORRUPTED;
        goto fail;
    }
    size_t n = 0;
    rec_property_t p;
    int r2;
    while (n < LOOKUP_MAX_POSTCODE && (r2 = rec_next_property(&it, &p)) == 1) {
        addrmatch_cand_t *c = &res->cands[n++];
        c->uprn = p.uprn;
        c->parent_uprn = p.parent_uprn;
        c->saon = p.saon;
        c->paon = p.paon;
        c->street = p.street;
        c->locality = p.locality;
        c->town = p.town;
    }
    res->n_cands = n;
    addrmatch_result_t m;
    addrmatch_match(&q, res->cands, n, &m);
    if (m.kind == AM_EXACT) {
        res->match = AM_EXACT;
        rc = uprn_answer(s, txn, res->cands[m.best].uprn, res);
    } else if (m.kind == AM_BUILDING) {
        res->match = AM_BUILDING;
        rc = uprn_answer(s, txn, m.building_uprn, res);
    } else {
        /* Same rounds for every property of the postcode? Then the answer does
         * not depend on which one it is. */
        int uniform;
        MDB_val first = {0, NULL};
        rc = uniform_assignments(s, txn, res->cands, n, &uniform, &first);
        if (rc)
            goto fail;
        if (uniform) {
            res->match = AM_POSTCODE;
            rc = collections_for(s, txn, &first, res->postcode, res);
        } else if (m.kind == AM_AMBIGUOUS) {
            res->match = AM_AMBIGUOUS;
            for (size_t i = 0; i < m.n_idx; i++) {
                /* re-read: cands point into the map, still valid in this txn */
                const addrmatch_cand_t *c = &res->cands[m.idx[i]];
                rec_property_t cp;
                if (get_property(s, txn, c->uprn, &cp) != 0)
                    continue;
                lookup_candidate_t *lc = &res->candidates[res->n_candidates++];
                lc->uprn = c->uprn;
                lc->address = format_address(res, &cp);
            }
            rc = 0;
        } else {
            res->match = AM_NONE;
            rc = 0;
        }
    }
    if (rc)
        goto fail;
    return 0;
fail:
    snprintf(err, err_size, "lookup: %s", mdb_strerror(rc));
    return rc;
}

int lookup_address(store_reader_t *r, const addrmatch_input_t *in, int from_day, int days,
                   lookup_result_t *res, char *err, size_t err_size)
{
    MDB_txn *txn;
    int rc = store_reader_begin(r, &txn, err, err_size);
    if (rc)
        return rc;
    rc = lookup_address_txn(store_reader_store(r), txn, in, from_day, days, res, err, err_size);
    store_reader_end(r);
    return rc;
}

int lookup_uprn(store_reader_t *r, uint64_t uprn, int from_day, int days, lookup_result_t *res,
                char *err, size_t err_size)
{
    MDB_txn *txn;
    int rc = store_reader_begin(r, &txn, err, err_size);
    if (rc)
        return rc;
    rc = lookup_uprn_txn(store_reader_store(r), txn, uprn, from_day, days, res, err, err_size);
    store_reader_end(r);
    return rc;
}

static long long meta_num(store_t *s, MDB_txn *txn, const char *key)
{
    MDB_val v;
    char buf[32];
    if (get(txn, store_core_dbi(s, STORE_META), key, strlen(key), &v) != 0 ||
        v.mv_size >= sizeof(buf))
        return 0;
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = '\0';
    return strtoll(buf, NULL, 10);
}

int lookup_dataset_info(store_reader_t *r, lookup_dataset_info_t *info, char *err,
                        size_t err_size)
{
    MDB_txn *txn;
    memset(info, 0, sizeof(*info));
    int rc = store_reader_begin(r, &txn, err, err_size);
    if (rc)
        return rc;
    store_t *s = store_reader_store(r);
    info->generation = (unsigned long long)meta_num(s, txn, "generation");
    info->imported_at = meta_num(s, txn, "imported_at");
    static const store_table_t t[5] = {STORE_ADDRESSES, STORE_POSTCODES, STORE_ROUNDS,
                                       STORE_SERVICES, STORE_NOTICES};
    size_t *out[5] = {&info->addresses, &info->postcodes, &info->rounds, &info->services,
                      &info->notices};
    for (int i = 0; i < 5; i++) {
        MDB_stat st;
        if (mdb_stat(txn, store_core_dbi(s, t[i]), &st) == 0)
            *out[i] = st.ms_entries;
    }
    store_reader_end(r);
    return 0;
}

static json_t *jstr(rec_str_t s)
{
    return s.p ? json_stringn(s.p, s.n) : json_null();
}

json_t *lookup_result_json(const lookup_result_t *res)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    char buf[32];
    json_object_set_new(o, "match", json_string(addrmatch_kind_name(res->match)));
    if (res->uprn) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)res->uprn);
        json_object_set_new(o, "uprn", json_string(buf));
    }
    if (res->address.p)
        json_object_set_new(o, "address", jstr(res->address));
    if (res->postcode[0])
        json_object_set_new(o, "postcode", json_string(res->postcode));
    if (res->match == AM_AMBIGUOUS) {
        json_t *a = json_array();
        for (size_t i = 0; i < res->n_candidates; i++) {
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)res->candidates[i].uprn);
            json_array_append_new(a, json_pack("{s:s, s:o}", "uprn", buf, "address",
                                               jstr(res->candidates[i].address)));
        }
        json_object_set_new(o, "candidates", a);
    }
    json_t *cs = json_array();
    for (size_t i = 0; i < res->n_collections; i++) {
        const lookup_collection_t *c = &res->collections[i];
        char d[11], od[11];
        json_array_append_new(
            cs, json_pack("{s:s, s:o, s:o, s:o, s:s, s:b, s:o}", "date", date_format(c->date, d),
                          "service_id", jstr(c->service_id), "name", jstr(c->name), "colour",
                          jstr(c->colour), "original_date", date_format(c->original, od),
                          "changed", c->changed, "reason", jstr(c->reason)));
    }
    json_object_set_new(o, "collections", cs);
    /* a list cut at LOOKUP_MAX_COLLECTIONS says so, and where to go on */
    json_object_set_new(o, "truncated", json_boolean(res->truncated));
    if (res->truncated) {
        char nf[11];
        json_object_set_new(o, "next_from", json_string(date_format(res->next_from, nf)));
    }
    json_t *ns = json_array();
    for (size_t i = 0; i < res->n_notices; i++)
        json_array_append_new(ns, json_pack("{s:o, s:o}", "notice_id",
                                            jstr(res->notices[i].notice_id), "message",
                                            jstr(res->notices[i].message)));
    json_object_set_new(o, "notices", ns);
    return o;
}
