/* test_materials.c - the materials table's data layer (materials.h) on a real
 * store: slugs, the field rules, import of the fixture's materials.csv, find
 * by id, by name, by synonym and by a plural's singular, and the staff
 * console's upsert/list/delete (references to services, phrases that would
 * name two materials refused); and the PNG writer the icons use (png.h):
 * a well-formed file whose bytes do not change between runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "binday/data/import.h"
#include "binday/data/materials.h"
#include "binday/data/store.h"
#include "binday/util/png.h"
#include "fixture_data.h"
#include "tap.h"

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    printf("# import: %s\n", msg);
}

static rec_str_t S(const char *s)
{
    rec_str_t r = {s, s ? (uint32_t)strlen(s) : 0};
    return r;
}

static int count_one(const material_t *m, void *ud)
{
    (void)m;
    (*(int *)ud)++;
    return 0;
}

typedef struct wtx {
    store_t *s;
    material_t *m;
    const char *del; /* delete this id instead of upserting m */
    int rc;
    char err[200];
} wtx_t;

/* One edit in its own write txn, committed only when it succeeded. */
static int write_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    wtx_t *w = ud;
    (void)err;
    (void)err_size;
    w->rc = w->del ? materials_delete(w->s, txn, w->del) : materials_upsert(w->s, txn, w->m, w->err, sizeof(w->err));
    return w->rc == 0 ? 0 : -1000; /* any other value: abort, nothing written */
}

static int edit(store_t *s, material_t *m, const char *del, char *why, size_t n)
{
    wtx_t w;
    memset(&w, 0, sizeof(w));
    w.s = s;
    w.m = m;
    w.del = del;
    char err[200];
    store_write(s, write_fn, &w, err, sizeof(err));
    snprintf(why, n, "%s", w.err);
    return w.rc;
}

static int find(store_t *s, const char *text, material_t *out)
{
    store_reader_t *r = store_reader_new(s);
    MDB_txn *txn;
    char err[200];
    int rc = store_reader_begin(r, &txn, err, sizeof(err));
    if (rc == 0) {
        rc = materials_find(s, txn, text, strlen(text), out);
        if (rc == 0) { /* keep what the test looks at past the txn */
            static char name[200], svc[80];
            snprintf(name, sizeof(name), "%.*s", (int)out->name.n, out->name.p);
            snprintf(svc, sizeof(svc), "%.*s", (int)out->service_id.n, out->service_id.p ? out->service_id.p : "");
            out->name = S(name);
            out->service_id = out->service_id.p ? S(svc) : S(NULL);
        }
        store_reader_end(r);
    }
    store_reader_free(r);
    return rc;
}

static int count(store_t *s)
{
    store_reader_t *r = store_reader_new(s);
    MDB_txn *txn;
    char err[200];
    int n = 0;
    if (store_reader_begin(r, &txn, err, sizeof(err)) == 0) {
        materials_list(s, txn, count_one, &n);
        store_reader_end(r);
    }
    store_reader_free(r);
    return n;
}

int main(void)
{
    char slug[MATERIALS_MAX_ID + 1];
    materials_slug(slug, sizeof(slug), "Pizza boxes", 11);
    is_str(slug, "pizza-boxes", "slug: lower case, runs of other bytes one dash");
    materials_slug(slug, sizeof(slug), "  Children's  toys!! ", 21);
    is_str(slug, "childrens-toys", "slug: apostrophes dropped, no dash at the ends");
    is_int((int)materials_slug(slug, sizeof(slug), "?!", 2), 0, "slug of symbols only is empty");

    char err[300];
    material_t m;
    memset(&m, 0, sizeof(m));
    m.name = S("Glass");
    is_int(materials_check(&m, err, sizeof(err)), -1, "not collected needs take_to");
    ok(strstr(err, "take_to") != NULL, "... and says so: %s", err);
    m.take_to = S("a bottle bank");
    is_int(materials_check(&m, err, sizeof(err)), 0, "not collected with take_to is fine");
    m.synonyms = S("jars;;bottles");
    is_int(materials_check(&m, err, sizeof(err)), -1, "an empty synonym is refused");
    m.synonyms = S("jars;bottles");
    m.note = S("bad\x01note");
    is_int(materials_check(&m, err, sizeof(err)), -1, "control character refused");
    m.note = S(NULL);
    m.service_id = S("no spaces allowed");
    is_int(materials_check(&m, err, sizeof(err)), -1, "service_id must be an id");

    char dir[] = "/tmp/binday-test-materials-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    store_t *s;
    if (store_open(dir, NULL, 0, &s, err, sizeof(err)) != 0) {
        printf("# %s\n", err);
        return 1;
    }
    is_int(fixture_data_import(s, on_err, err, sizeof(err)), 0, "fixture (with materials.csv) imports");
    is_int(count(s), 3, "three materials stored");

    material_t f;
    is_int(find(s, "pizza-boxes", &f), 0, "found by id");
    is_str(f.name.p, "Pizza boxes", "... the name as written");
    is_str(f.service_id.p, "recycling", "... and its service");
    is_int(find(s, "Takeaway Boxes", &f), 0, "found by a synonym, any case");
    is_int(find(s, "pizza box", &f), 0, "found by a synonym");
    is_int(find(s, "tea bag", &f), 0, "found by the singular of a name");
    is_int(find(s, "GLASS", &f), 0, "not-collected material found");
    ok(f.service_id.p == NULL, "... with no service");
    is_int(find(s, "unicorns", &f), MDB_NOTFOUND, "unknown: MDB_NOTFOUND");
    is_int(find(s, "", &f), MDB_NOTFOUND, "nothing: MDB_NOTFOUND");

    /* the staff console's edits */
    char why[200];
    material_t n;
    memset(&n, 0, sizeof(n));
    n.name = S("Yoghurt pots");
    n.synonyms = S("yogurt pots");
    n.service_id = S("recycling");
    is_int(edit(s, &n, NULL, why, sizeof(why)), 0, "upsert a new material");
    is_str(n.id, "yoghurt-pots", "its id is the slug of the name");
    is_int(count(s), 4, "four materials");
    is_int(find(s, "yogurt pot", &f), 0, "the new one is found by its synonym's singular");
    n.service_id = S("nosuch");
    is_int(edit(s, &n, NULL, why, sizeof(why)), MATERIALS_REJECTED, "unknown service refused");
    ok(strstr(why, "unknown service") != NULL, "... and says so: %s", why);
    memset(&n, 0, sizeof(n));
    n.name = S("Jars");
    n.synonyms = S("jam jars");
    n.service_id = S("recycling");
    is_int(edit(s, &n, NULL, why, sizeof(why)), MATERIALS_REJECTED, "a synonym of another material refused");
    ok(strstr(why, "glass-bottles-and-jars") != NULL, "... naming the other: %s", why);
    memset(&n, 0, sizeof(n));
    n.name = S("Pizza boxes");
    n.service_id = S("refuse");
    is_int(edit(s, &n, NULL, why, sizeof(why)), 0, "upsert replaces a material of the same name");
    is_int(find(s, "pizza boxes", &f), 0, "replaced material found");
    is_str(f.service_id.p, "refuse", "... with its new service");
    is_int(find(s, "takeaway boxes", &f), MDB_NOTFOUND, "its old synonyms are gone with the old row");
    is_int(edit(s, NULL, "yoghurt-pots", why, sizeof(why)), 0, "delete");
    is_int(edit(s, NULL, "yoghurt-pots", why, sizeof(why)), MDB_NOTFOUND, "delete again: not found");
    is_int(count(s), 3, "three materials again");
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);

    /* png.h */
    uint8_t px[4 * 3 * 3];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (uint8_t)(i * 7);
    size_t l1, l2;
    uint8_t *a = png_encode_rgb(px, 4, 3, &l1), *b = png_encode_rgb(px, 4, 3, &l2);
    ok(l1 == l2 && memcmp(a, b, l1) == 0, "png: same pixels, same bytes");
    ok(l1 > 8 && memcmp(a, "\x89PNG\r\n\x1a\n", 8) == 0, "png: signature");
    ok(memcmp(a + 12, "IHDR", 4) == 0 && a[19] == 4 && a[23] == 3 && a[24] == 8 && a[25] == 2,
       "png: IHDR 4x3, 8-bit RGB");
    uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), a + 12, 17);
    ok(((uint32_t)a[29] << 24 | (uint32_t)a[30] << 16 | (uint32_t)a[31] << 8 | a[32]) == crc, "png: IHDR CRC");
    ok(memcmp(a + l1 - 8, "IEND", 4) == 0, "png: ends with IEND");
    /* the IDAT inflates to the rows, each behind filter byte 0 */
    uint32_t zl = (uint32_t)a[33] << 24 | (uint32_t)a[34] << 16 | (uint32_t)a[35] << 8 | a[36];
    uint8_t raw[3 * 13];
    uLongf rl = sizeof(raw);
    ok(memcmp(a + 37, "IDAT", 4) == 0 && uncompress(raw, &rl, a + 41, zl) == Z_OK && rl == sizeof(raw) &&
           raw[0] == 0 && memcmp(raw + 1, px, 12) == 0 && raw[13] == 0 && memcmp(raw + 27, px + 24, 12) == 0,
       "png: IDAT holds the rows");
    free(a);
    free(b);
    return done_testing();
}
