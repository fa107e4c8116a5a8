/* lookup_table.c - owns the decoded copy of the small tables (services,
 * rounds, exceptions) that lookups share: building it from a snapshot,
 * finding values in it, and which table each thread may use.
 *
 * Sharing: `cur` is the newest table built in this process (one store at a
 * time; tests open several in turn), published under `lock`. Each thread
 * also holds a reference to the table it used last (`held`), so a lookup in
 * the same generation as the last one costs one read of the generation from
 * meta and two compares: no lock, no atomic, no shared cache line. A thread
 * takes `lock` only when its snapshot's generation differs from its held
 * table's; then it takes the published table if that is the snapshot's, or
 * builds and publishes one if the snapshot is newer (under the lock, so one
 * build per generation however many threads arrive at once), or uses none if
 * the snapshot is older (a read txn begun before an import committed: the
 * caller reads the map for that one lookup rather than swapping the shared
 * table back and forth). Reference counts change only under `lock`.
 *
 * Why the generation is enough: within one store every txn that changes the
 * small tables also bumps it (store.h), and it is read in the caller's own
 * txn; store_instance_id() tells stores apart (a closed store's address can
 * come back from malloc for the next one).
 */
#include "binday/data/lookup_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/log.h"
#include "binday/util/xalloc.h"

enum { K_SERVICE = 1, K_ROUND, K_EXCEPTIONS };

typedef struct entry {
    const char *key;
    uint32_t kl;
    uint8_t kind;
    uint8_t corrupt; /* the stored value did not decode: finders say MDB_CORRUPTED */
    union {
        cal_round_t round;
        rec_service_t service;
        struct {
            const cal_exception_t *x;
            size_t n;
        } exc;
    } u;
} entry_t;

struct lookup_table {
    uint64_t store_id, gen;
    unsigned refs; /* under `lock` */
    size_t bytes;
    entry_t *e;
    size_t n;
    uint32_t *slot; /* open addressing: index + 1 into e, 0 empty; at most half full */
    uint32_t mask;
    cal_exception_t *exc;
    char *str; /* every string of the table, each NUL-terminated */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t store_id, gen; /* store_id 0: nothing published yet */
    lookup_table_t *t;      /* NULL when that generation is over the bound */
} cur;
static unsigned long long builds; /* under `lock` */
static size_t max_bytes = LOOKUP_TABLE_MAX_BYTES; /* under `lock` (tests change it) */

static _Thread_local lookup_table_t *held;
static pthread_key_t held_key; /* its destructor drops a thread's reference */
static pthread_once_t held_once = PTHREAD_ONCE_INIT;

static void table_free(lookup_table_t *t)
{
    free(t->e);
    free(t->slot);
    free(t->exc);
    free(t->str);
    free(t);
}

static void unref_locked(lookup_table_t *t)
{
    if (t && --t->refs == 0)
        table_free(t);
}

static void held_release(void *p)
{
    pthread_mutex_lock(&lock);
    unref_locked(p);
    pthread_mutex_unlock(&lock);
    held = NULL;
}

static void held_key_make(void)
{
    if (pthread_key_create(&held_key, held_release) != 0)
        xalloc_die("lookup table thread key", sizeof(pthread_key_t));
}

static uint32_t hash(int kind, const char *k, size_t n)
{
    uint32_t h = (2166136261u ^ (uint32_t)kind) * 16777619u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

static const entry_t *find(const lookup_table_t *t, int kind, const char *k, size_t n)
{
    if (n == 0)
        return NULL; /* LMDB has no empty keys */
    for (uint32_t i = hash(kind, k, n) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slot[i];
        if (s == 0)
            return NULL;
        const entry_t *e = &t->e[s - 1];
        if (e->kind == kind && e->kl == n && memcmp(e->key, k, n) == 0)
            return e;
    }
}

/* ---- building -------------------------------------------------------------------- */

static const struct {
    store_table_t dbi;
    int kind;
} small[3] = {{STORE_SERVICES, K_SERVICE}, {STORE_ROUNDS, K_ROUND}, {STORE_EXCEPTIONS, K_EXCEPTIONS}};

/* What a build needs, counted by a first pass over the same snapshot (so the
 * second pass finds exactly as much). */
typedef struct sizes {
    size_t entries, exc, str;
} sizes_t;

static size_t slots_for(size_t n)
{
    size_t s = 16;
    while (s < 2 * n)
        s *= 2;
    return s;
}

static size_t total_bytes(const sizes_t *z)
{
    return sizeof(lookup_table_t) + z->entries * sizeof(entry_t) +
           slots_for(z->entries) * sizeof(uint32_t) + z->exc * sizeof(cal_exception_t) + z->str;
}

/* One walk over the three tables: counting what a table needs (t NULL), or
 * filling t. Filling checks every write against what counting found, though
 * the same snapshot cannot differ: `broken` then fails the build. */
typedef struct builder {
    sizes_t z;        /* counting: running totals; filling: the capacities */
    lookup_table_t *t;
    char *w, *w_end;  /* next free byte of t->str */
    size_t xi;        /* next free t->exc */
    int broken;
} builder_t;

/* Copies s into the table's strings (NULL stays NULL: absent). */
static rec_str_t copy_str(builder_t *b, rec_str_t s)
{
    rec_str_t o = {NULL, 0};
    if (s.p == NULL)
        return o;
    if ((size_t)(b->w_end - b->w) < (size_t)s.n + 1) {
        b->broken = 1;
        return o;
    }
    memcpy(b->w, s.p, s.n);
    b->w[s.n] = '\0';
    o.p = b->w;
    o.n = s.n;
    b->w += (size_t)s.n + 1;
    return o;
}

static void fill_service(builder_t *b, entry_t *e, const rec_service_t *s)
{
    e->u.service.name = copy_str(b, s->name);
    e->u.service.colour = copy_str(b, s->colour);
    e->u.service.spoken_name = copy_str(b, s->spoken_name);
    e->u.service.description = copy_str(b, s->description);
    e->u.service.link_url = copy_str(b, s->link_url);
    e->u.service.subscription = s->subscription;
}

/* A list of exceptions: counted, or decoded into e. Corrupt when it stops
 * decoding before its end or LOOKUP_TABLE_MAX_EXC (as the lookup did). */
static void one_exceptions(builder_t *b, entry_t *e, const MDB_val *v)
{
    rec_iter_t it;
    rec_exception_t x;
    int r2 = rec_list_open(&it, v->mv_data, v->mv_size) ? -1 : 1;
    size_t n = 0;
    if (e)
        e->u.exc.x = b->t->exc + b->xi;
    while (r2 == 1 && n < LOOKUP_TABLE_MAX_EXC && (r2 = rec_next_exception(&it, &x)) == 1) {
        n++;
        if (e == NULL) {
            b->z.exc++;
            b->z.str += (size_t)x.reason.n + 1;
        } else if (b->xi == b->z.exc) {
            b->broken = 1;
        } else {
            cal_exception_t *c = &b->t->exc[b->xi++];
            rec_str_t reason = copy_str(b, x.reason);
            c->action = x.action;
            c->original = x.original;
            c->new_date = x.new_date;
            c->reason = reason.p;
            c->reason_len = reason.n;
        }
    }
    if (e) {
        e->u.exc.n = n;
        e->corrupt = r2 < 0;
    }
}

/* One stored value (key k, value v of a table of that kind). */
static void one_value(builder_t *b, int kind, const MDB_val *k, const MDB_val *v)
{
    entry_t *e = NULL;
    if (b->t == NULL) {
        b->z.entries++;
        b->z.str += k->mv_size + 1;
    } else if (b->t->n == b->z.entries) {
        b->broken = 1;
        return;
    } else {
        e = &b->t->e[b->t->n++];
        e->kind = (uint8_t)kind;
        e->kl = (uint32_t)k->mv_size;
        rec_str_t key = {k->mv_data, (uint32_t)k->mv_size};
        e->key = copy_str(b, key).p;
    }
    if (kind == K_ROUND) {
        rec_round_t r;
        int bad = rec_decode_round(v->mv_data, v->mv_size, &r) != 0;
        if (e && bad) {
            e->corrupt = 1;
        } else if (e) {
            cal_round_t c = {r.weekday, r.interval_weeks, r.anchor, r.valid_from, r.valid_to};
            e->u.round = c;
        }
    } else if (kind == K_SERVICE) {
        rec_service_t s;
        int bad = rec_decode_service(v->mv_data, v->mv_size, &s) != 0;
        if (e && bad)
            e->corrupt = 1;
        else if (e)
            fill_service(b, e, &s);
        else if (!bad)
            b->z.str += (size_t)s.name.n + s.colour.n + s.spoken_name.n + s.description.n +
                        s.link_url.n + 5;
    } else {
        one_exceptions(b, e, v);
    }
}

/* Walks the three tables of txn into b (counting stops early once over the
 * bound). 0 or an MDB error. */
static int walk(store_t *s, MDB_txn *txn, builder_t *b)
{
    for (int d = 0; d < 3; d++) {
        MDB_cursor *c;
        int rc = mdb_cursor_open(txn, store_core_dbi(s, small[d].dbi), &c);
        if (rc)
            return rc;
        MDB_val k, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            one_value(b, small[d].kind, &k, &v);
            if (b->t == NULL && total_bytes(&b->z) > max_bytes)
                break;
        }
        mdb_cursor_close(c);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        if (b->broken)
            return MDB_CORRUPTED;
        if (b->t == NULL && total_bytes(&b->z) > max_bytes)
            return 0; /* the caller sees it is over */
    }
    return 0;
}

/* The table of txn's snapshot, or *out NULL when over the bound. */
static int build(store_t *s, MDB_txn *txn, uint64_t gen, lookup_table_t **out)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *out = NULL;
    builder_t b;
    memset(&b, 0, sizeof(b));
    int rc = walk(s, txn, &b);
    if (rc)
        return rc;
    sizes_t z = b.z;
    size_t bytes = total_bytes(&z);
    if (bytes > max_bytes) {
        log_warn("lookup_table.too_large", "generation=%llu bytes=%zu max=%zu",
                 (unsigned long long)gen, bytes, max_bytes);
        return 0;
    }
    lookup_table_t *t = xcalloc(1, sizeof(*t));
    t->store_id = store_instance_id(s);
    t->gen = gen;
    t->refs = 1;
    t->bytes = bytes;
    t->e = xcalloc(z.entries ? z.entries : 1, sizeof(entry_t));
    size_t ns = slots_for(z.entries);
    t->slot = xcalloc(ns, sizeof(uint32_t));
    t->mask = (uint32_t)(ns - 1);
    t->exc = xcalloc(z.exc ? z.exc : 1, sizeof(cal_exception_t));
    t->str = xmalloc(z.str ? z.str : 1);
    b.t = t;
    b.w = t->str;
    b.w_end = t->str + z.str;
    rc = walk(s, txn, &b);
    if (rc) {
        table_free(t);
        return rc;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint32_t j = hash(t->e[i].kind, t->e[i].key, t->e[i].kl) & t->mask;
        while (t->slot[j])
            j = (j + 1) & t->mask;
        t->slot[j] = (uint32_t)i + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    builds++;
    log_info("lookup_table.built", "generation=%llu entries=%zu exceptions=%zu bytes=%zu us=%lld",
             (unsigned long long)gen, t->n, z.exc, bytes,
             (long long)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000));
    *out = t;
    return 0;
}

/* ---- sharing --------------------------------------------------------------------- */

int lookup_table_get(store_t *s, MDB_txn *txn, const lookup_table_t **out)
{
    *out = NULL;
    uint64_t gen;
    int rc = store_generation(s, txn, &gen);
    if (rc == MDB_CORRUPTED) {
        /* not a value import wrote: no table can be known to match this
         * snapshot, so the lookup reads the map (right, only slower) */
        static atomic_int warned;
        if (atomic_exchange(&warned, 1) == 0)
            log_warn("lookup_table.bad_generation", "reason=\"meta generation is malformed\"");
        return 0;
    }
    if (rc)
        return rc;
    uint64_t sid = store_instance_id(s);
    lookup_table_t *h = held;
    if (h && h->store_id == sid && h->gen == gen) {
        *out = h;
        return 0;
    }
    pthread_once(&held_once, held_key_make);
    pthread_mutex_lock(&lock);
    lookup_table_t *t = NULL;
    if (cur.store_id == sid && cur.gen == gen) {
        t = cur.t; /* NULL when over the bound */
    } else if (cur.store_id != sid || gen > cur.gen) {
        rc = build(s, txn, gen, &t);
        if (rc == 0) {
            unref_locked(cur.t);
            cur.store_id = sid;
            cur.gen = gen;
            cur.t = t;
        }
    } /* else: a snapshot older than the published table; none */
    if (t) {
        t->refs++;
        unref_locked(h);
        held = t;
        pthread_setspecific(held_key, t);
    }
    pthread_mutex_unlock(&lock);
    *out = t;
    return rc;
}

/* ---- finding --------------------------------------------------------------------- */

int lookup_table_round(const lookup_table_t *t, const char *id, size_t n, cal_round_t *out)
{
    const entry_t *e = find(t, K_ROUND, id, n);
    if (e == NULL)
        return MDB_NOTFOUND;
    if (e->corrupt)
        return MDB_CORRUPTED;
    *out = e->u.round;
    return 0;
}

int lookup_table_service(const lookup_table_t *t, const char *id, size_t n, rec_service_t *out)
{
    const entry_t *e = find(t, K_SERVICE, id, n);
    if (e == NULL)
        return MDB_NOTFOUND;
    if (e->corrupt)
        return MDB_CORRUPTED;
    *out = e->u.service;
    return 0;
}

int lookup_table_exceptions(const lookup_table_t *t, const char *id, size_t n,
                            const cal_exception_t **out, size_t *n_out)
{
    const entry_t *e = find(t, K_EXCEPTIONS, id, n);
    *out = NULL;
    *n_out = 0;
    if (e == NULL)
        return MDB_NOTFOUND;
    if (e->corrupt)
        return MDB_CORRUPTED;
    *out = e->u.exc.x;
    *n_out = e->u.exc.n;
    return 0;
}

uint64_t lookup_table_generation(const lookup_table_t *t)
{
    return t->gen;
}

size_t lookup_table_bytes(const lookup_table_t *t)
{
    return t->bytes;
}

unsigned long long lookup_table_builds(void)
{
    pthread_mutex_lock(&lock);
    unsigned long long n = builds;
    pthread_mutex_unlock(&lock);
    return n;
}

void lookup_table_set_max_bytes(size_t bytes)
{
    pthread_mutex_lock(&lock);
    max_bytes = bytes ? bytes : LOOKUP_TABLE_MAX_BYTES;
    pthread_mutex_unlock(&lock);
}
