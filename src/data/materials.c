/* materials.c - owns the materials table ("what goes in which bin?"): its
 * record layout, the field rules shared by the import and the staff
 * console's edits, and finding the material a resident named (materials.h).
 *
 * Lookups scan the table: a council lists a few hundred materials at most
 * (MATERIALS_MAX_ROWS bounds it), a question about one is rare next to
 * collection questions, and a scan keeps one place (this file) that knows
 * how names and synonyms compare - no second index to keep in step.
 */
#include "binday/data/materials.h"

#include <stdio.h>
#include <string.h>

#include "binday/util/utf8.h"

size_t materials_slug(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    int dash = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && o > 0 && o + 1 < cap && o < MATERIALS_MAX_ID)
                dst[o++] = '-';
            dash = 0;
            if (o + 1 < cap && o < MATERIALS_MAX_ID)
                dst[o++] = c;
        } else if (c == '\'') {
            /* "children's" and "childrens" are the same word */
        } else {
            dash = 1;
        }
    }
    while (o > 0 && dst[o - 1] == '-')
        o--;
    dst[o] = '\0';
    return o;
}

static int field_ok(rec_str_t s, size_t max, int multiline, const char *what, char *err, size_t err_size)
{
    if (s.p == NULL)
        return 0;
    if (s.n > max) {
        snprintf(err, err_size, "%s: longer than %zu bytes", what, max);
        return -1;
    }
    if (!utf8_valid((const uint8_t *)s.p, s.n)) {
        snprintf(err, err_size, "%s: not valid UTF-8", what);
        return -1;
    }
    for (uint32_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f) {
            snprintf(err, err_size, "%s: control character in value", what);
            return -1;
        }
    }
    return 0;
}

int materials_check(const material_t *m, char *err, size_t err_size)
{
    char slug[MATERIALS_MAX_ID + 1];
    if (m->name.p == NULL || m->name.n == 0) {
        snprintf(err, err_size, "material: required value is missing");
        return -1;
    }
    if (field_ok(m->name, MATERIALS_MAX_FIELD, 0, "material", err, err_size) ||
        field_ok(m->synonyms, MATERIALS_MAX_SYNONYMS, 0, "synonyms", err, err_size) ||
        field_ok(m->take_to, MATERIALS_MAX_FIELD, 0, "take_to", err, err_size) ||
        field_ok(m->note, MATERIALS_MAX_FIELD, 1, "note", err, err_size))
        return -1;
    if (materials_slug(slug, sizeof(slug), m->name.p, m->name.n) == 0) {
        snprintf(err, err_size, "material: needs at least one letter or digit");
        return -1;
    }
    if (m->service_id.p) {
        if (m->service_id.n == 0 || m->service_id.n > 64) {
            snprintf(err, err_size, "service_id: not a valid id");
            return -1;
        }
        for (uint32_t i = 0; i < m->service_id.n; i++) {
            char c = m->service_id.p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.')) {
                snprintf(err, err_size, "service_id: not a valid id (or \"%s\")", MATERIALS_NOT_COLLECTED);
                return -1;
            }
        }
    } else if (m->take_to.p == NULL || m->take_to.n == 0) {
        snprintf(err, err_size, "take_to: required when the material is %s (say where to take it)",
                 MATERIALS_NOT_COLLECTED);
        return -1;
    }
    /* every synonym must say something: ";;" or a lone symbol would be a
     * slot value Amazon refuses */
    if (m->synonyms.p) {
        const char *p = m->synonyms.p, *end = p + m->synonyms.n;
        while (p <= end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            if (materials_slug(slug, sizeof(slug), p, (size_t)(e - p)) == 0) {
                snprintf(err, err_size, "synonyms: empty synonym (separate them with ';')");
                return -1;
            }
            p = e + 1;
        }
    }
    return 0;
}

/* Same layout rules as records.c: u16 length + bytes, 0xFFFF = absent. */
static void put_str(rec_buf_t *b, rec_str_t s)
{
    uint32_t n = s.p ? (s.n > 65534 ? 65534 : s.n) : 0xFFFF;
    uint8_t h[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    rec_buf_append(b, h, 2);
    if (s.p)
        rec_buf_append(b, s.p, n);
}

static int get_str(const uint8_t **p, const uint8_t *end, rec_str_t *s)
{
    if (end - *p < 2)
        return -1;
    uint32_t n = ((uint32_t)(*p)[0] << 8) | (*p)[1];
    *p += 2;
    s->p = NULL;
    s->n = 0;
    if (n == 0xFFFF)
        return 0;
    if ((size_t)(end - *p) < n)
        return -1;
    s->p = (const char *)*p;
    s->n = n;
    *p += n;
    return 0;
}

void materials_encode(rec_buf_t *b, const material_t *m)
{
    put_str(b, m->name);
    put_str(b, m->synonyms);
    put_str(b, m->service_id);
    put_str(b, m->take_to);
    put_str(b, m->note);
}

int materials_decode(const void *v, size_t len, material_t *m)
{
    const uint8_t *p = v, *end = p + len;
    if (get_str(&p, end, &m->name) || get_str(&p, end, &m->synonyms) || get_str(&p, end, &m->service_id) ||
        get_str(&p, end, &m->take_to) || get_str(&p, end, &m->note) || m->name.p == NULL)
        return -1;
    return 0;
}

static MDB_dbi dbi(store_t *s)
{
    return store_core_dbi(s, STORE_MATERIALS);
}

static int get_by_id(store_t *s, MDB_txn *txn, const char *id, material_t *out)
{
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = mdb_get(txn, dbi(s), &k, &v);
    if (rc)
        return rc;
    if (materials_decode(v.mv_data, v.mv_size, out) != 0)
        return MDB_CORRUPTED;
    snprintf(out->id, sizeof(out->id), "%s", id);
    return 0;
}

/* "boxes" -> "box", "bottles" -> "bottle": one plural, so "glass jar" finds
 * "glass jars". Only the last word; only when something is left. */
static void singular(char *slug)
{
    size_t n = strlen(slug);
    if (n > 4 && !strcmp(slug + n - 3, "xes"))
        slug[n - 2] = '\0';
    else if (n > 3 && slug[n - 1] == 's' && slug[n - 2] != 's')
        slug[n - 1] = '\0';
}

/* Does the slug of phrase equal want (compared also in the singular)? */
static int phrase_is(const char *p, size_t n, const char *want, const char *want1)
{
    char slug[MATERIALS_MAX_ID + 1];
    if (materials_slug(slug, sizeof(slug), p, n) == 0)
        return 0;
    if (!strcmp(slug, want))
        return 1;
    singular(slug);
    return !strcmp(slug, want1);
}

static int names_it(const material_t *m, const char *want, const char *want1)
{
    if (phrase_is(m->name.p, m->name.n, want, want1))
        return 1;
    if (m->synonyms.p) {
        const char *p = m->synonyms.p, *end = p + m->synonyms.n;
        while (p <= end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            if (phrase_is(p, (size_t)(e - p), want, want1))
                return 1;
            p = e + 1;
        }
    }
    return 0;
}

int materials_list(store_t *s, MDB_txn *txn, materials_each_fn fn, void *ud)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi(s), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        material_t m;
        if (k.mv_size == 0 || k.mv_size > MATERIALS_MAX_ID || materials_decode(v.mv_data, v.mv_size, &m) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(m.id, k.mv_data, k.mv_size);
        m.id[k.mv_size] = '\0';
        int stop = fn(&m, ud);
        if (stop) {
            rc = stop;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct find_ctx {
    const char *want, *want1;
    material_t *out;
} find_ctx_t;

#define FOUND 1

static int find_one(const material_t *m, void *ud)
{
    find_ctx_t *f = ud;
    if (!names_it(m, f->want, f->want1))
        return 0;
    *f->out = *m;
    return FOUND;
}

int materials_find(store_t *s, MDB_txn *txn, const char *text, size_t n, material_t *out)
{
    char want[MATERIALS_MAX_ID + 1], want1[MATERIALS_MAX_ID + 1];
    if (materials_slug(want, sizeof(want), text, n) == 0)
        return MDB_NOTFOUND;
    int rc = get_by_id(s, txn, want, out);
    if (rc != MDB_NOTFOUND)
        return rc;
    memcpy(want1, want, sizeof(want));
    singular(want1);
    find_ctx_t f = {want, want1, out};
    rc = materials_list(s, txn, find_one, &f);
    if (rc == FOUND)
        return 0;
    return rc ? rc : MDB_NOTFOUND;
}

typedef struct clash_ctx {
    const material_t *m;
    char *err;
    size_t err_size;
} clash_ctx_t;

/* Is the phrase p[0..n) (when it says something) a name or synonym of other? */
static int clashes(const material_t *other, const char *p, size_t n, clash_ctx_t *c)
{
    char slug[MATERIALS_MAX_ID + 1];
    if (materials_slug(slug, sizeof(slug), p, n) == 0 || !names_it(other, slug, slug))
        return 0;
    snprintf(c->err, c->err_size, "\"%.*s\" already names material %s", (int)n, p, other->id);
    return MATERIALS_REJECTED;
}

/* Does another material already answer to one of m's phrases? */
static int clash_one(const material_t *other, void *ud)
{
    clash_ctx_t *c = ud;
    const material_t *m = c->m;
    if (!strcmp(other->id, m->id))
        return 0;
    int rc = clashes(other, m->name.p, m->name.n, c);
    if (rc || m->synonyms.p == NULL)
        return rc;
    const char *p = m->synonyms.p, *end = p + m->synonyms.n;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        if ((rc = clashes(other, p, (size_t)(e - p), c)) != 0)
            return rc;
        p = e + 1;
    }
    return 0;
}

int materials_upsert(store_t *s, MDB_txn *txn, material_t *m, char *err, size_t err_size)
{
    if (materials_check(m, err, err_size) != 0)
        return MATERIALS_REJECTED;
    materials_slug(m->id, sizeof(m->id), m->name.p, m->name.n);
    if (m->service_id.p) {
        MDB_val k = {m->service_id.n, (void *)m->service_id.p}, v;
        int rc = mdb_get(txn, store_core_dbi(s, STORE_SERVICES), &k, &v);
        if (rc == MDB_NOTFOUND) {
            snprintf(err, err_size, "service_id: unknown service %.*s", (int)m->service_id.n, m->service_id.p);
            return MATERIALS_REJECTED;
        }
        if (rc)
            return rc;
    }
    clash_ctx_t c = {m, err, err_size};
    int rc = materials_list(s, txn, clash_one, &c);
    if (rc)
        return rc;
    rec_buf_t b = {0};
    materials_encode(&b, m);
    MDB_val k = {strlen(m->id), m->id}, v = {b.len, b.buf};
    rc = mdb_put(txn, dbi(s), &k, &v, 0);
    rec_buf_free(&b);
    return rc;
}

int materials_delete(store_t *s, MDB_txn *txn, const char *id)
{
    MDB_val k = {strlen(id), (void *)id};
    return mdb_del(txn, dbi(s), &k, NULL);
}
