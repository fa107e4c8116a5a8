/* test_jsonmem.c - jansson's chunk allocator: blocks are aligned, distinct
 * and intact until freed; chunks go back when their last block is freed, on
 * whichever thread frees it; threads that end give theirs back; trees built
 * and freed through jansson with it installed; jsonmem_dumps; and no plain
 * json_dumps left in src/ (its result could not be passed to free()). */
#include <ftw.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/json/jsonload.h"
#include "binday/json/jsonmem.h"
#include "tap.h"

static unsigned rnd_state = 777;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xFFFFFF;
}

#define NB 4000

/* Blocks of every size class, filled with a pattern of their own, freed in
 * a shuffled order: each still holds its pattern when freed. */
static void test_blocks(void)
{
    static unsigned char *p[NB];
    static size_t sz[NB];
    size_t base = jsonmem_chunks_live();
    int aligned = 1, intact = 1, nonnull = 1;
    for (size_t i = 0; i < NB; i++) {
        sz[i] = i % 50 == 0 ? JSONMEM_SMALL_MAX + 1 + rnd() % 5000 : rnd() % (JSONMEM_SMALL_MAX + 1);
        p[i] = jsonmem_malloc(sz[i]);
        nonnull &= p[i] != NULL;
        if (!p[i])
            continue;
        aligned &= ((uintptr_t)p[i] % 16) == 0;
        memset(p[i], (int)(i & 0xff), sz[i]);
    }
    ok(nonnull, "every block allocated");
    ok(aligned, "every block 16-byte aligned");
    ok(jsonmem_chunks_live() > base, "small blocks came from chunks (%zu live, %zu before)",
       jsonmem_chunks_live(), base);
    for (size_t i = NB - 1; i > 0; i--) {
        size_t j = rnd() % (i + 1);
        unsigned char *t = p[i];
        p[i] = p[j];
        p[j] = t;
        size_t u = sz[i];
        sz[i] = sz[j];
        sz[j] = u;
    }
    /* the pattern byte was the block's original index: recompute it from the
     * first byte and check the whole block agrees */
    for (size_t i = 0; i < NB; i++) {
        for (size_t k = 1; k < sz[i]; k++)
            if (p[i][k] != p[i][0]) {
                intact = 0;
                break;
            }
        jsonmem_free(p[i]);
    }
    ok(intact, "no block overlapped another");
    /* what may stay: this thread's current chunk and its spare */
    ok(jsonmem_chunks_live() <= base + 2, "chunks went back once their blocks were freed (%zu live, %zu before)",
       jsonmem_chunks_live(), base);
    size_t before_null = jsonmem_chunks_live();
    jsonmem_free(NULL);
    ok(jsonmem_chunks_live() == before_null, "jsonmem_free(NULL) is a no-op (%zu chunks live, %zu before)",
       jsonmem_chunks_live(), before_null);
}

/* A chunk is not freed while one block in it lives: allocate two chunks'
 * worth, free all but one block of the first chunk, and that block is still
 * usable while the rest are recycled. */
static void test_survivor(void)
{
    size_t per = JSONMEM_CHUNK_BYTES / 64;
    unsigned char **v = calloc(per * 3, sizeof(*v));
    for (size_t i = 0; i < per * 3; i++)
        v[i] = jsonmem_malloc(40);
    memset(v[1], 0xab, 40);
    for (size_t i = 0; i < per * 3; i++)
        if (i != 1)
            jsonmem_free(v[i]);
    /* churn: new chunks come and go while v[1] keeps its own */
    for (int r = 0; r < 20; r++) {
        void *w[200];
        for (int i = 0; i < 200; i++)
            w[i] = jsonmem_malloc(300);
        for (int i = 0; i < 200; i++)
            jsonmem_free(w[i]);
    }
    int same = 1;
    for (int k = 0; k < 40; k++)
        same &= v[1][k] == 0xab;
    ok(same, "a surviving block keeps its bytes while its chunk's other blocks are gone");
    jsonmem_free(v[1]);
    free(v);
}

struct handoff {
    void *blocks[3000];
    size_t n;
};

static void *alloc_thread(void *arg)
{
    struct handoff *h = arg;
    for (h->n = 0; h->n < sizeof(h->blocks) / sizeof(h->blocks[0]); h->n++) {
        h->blocks[h->n] = jsonmem_malloc(24 + h->n % 200);
        memset(h->blocks[h->n], 0x5a, 24);
    }
    return NULL; /* the blocks outlive this thread */
}

static void *free_thread(void *arg)
{
    struct handoff *h = arg;
    for (size_t i = 0; i < h->n; i++)
        jsonmem_free(h->blocks[i]);
    return NULL;
}

/* Blocks made on one thread that then ends, freed on another that ends too:
 * every chunk goes back (the LeakSanitizer run checks the same). */
static void test_threads(void)
{
    size_t base = jsonmem_chunks_live();
    struct handoff *h = calloc(1, sizeof(*h));
    pthread_t a, b;
    pthread_create(&a, NULL, alloc_thread, h);
    pthread_join(a, NULL);
    ok(jsonmem_chunks_live() > base, "the ended thread's blocks still hold their chunks");
    pthread_create(&b, NULL, free_thread, h);
    pthread_join(b, NULL);
    ok(jsonmem_chunks_live() == base, "freed on another thread that ended: all chunks back (%zu live, %zu before)",
       jsonmem_chunks_live(), base);
    free(h);
}

/* Two threads allocating and freeing each other's blocks at once. */
struct pingpong {
    void *mine[2000], *theirs_done;
    struct pingpong *other;
    pthread_barrier_t *bar;
};

static void *pp_thread(void *arg)
{
    struct pingpong *p = arg;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 2000; i++)
            p->mine[i] = jsonmem_malloc((size_t)(16 + (i * 7) % 300));
        pthread_barrier_wait(p->bar);
        for (int i = 0; i < 2000; i++)
            jsonmem_free(p->other->mine[i]);
        pthread_barrier_wait(p->bar);
    }
    return NULL;
}

static void test_cross_free(void)
{
    size_t base = jsonmem_chunks_live();
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct pingpong *x = calloc(2, sizeof(*x));
    x[0].other = &x[1];
    x[1].other = &x[0];
    x[0].bar = x[1].bar = &bar;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, pp_thread, &x[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ok(jsonmem_chunks_live() == base, "two threads freeing each other's blocks: all chunks back (%zu, %zu before)",
       jsonmem_chunks_live(), base);
    pthread_barrier_destroy(&bar);
    free(x);
}

/* With jsonmem installed, jansson trees (small and large strings, nested
 * containers) load, dump and free as before. */
static void test_jansson(void)
{
    jsonmem_install();
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    ok(m == jsonmem_malloc && f == jsonmem_free, "jansson allocates through jsonmem");
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    json_t *o = json_pack("{s:s, s:[i, i, {s:s}], s:s}", "a", "short", "list", 1, 2, "k", "v", "big", big);
    ok(o != NULL, "tree built");
    char *s = jsonmem_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    ok(s != NULL && strncmp(s, "{\"a\":\"short\",\"big\":\"xxx", 23) == 0 && strlen(s) == strlen(big) + 45,
       "jsonmem_dumps writes the tree");
    json_error_t err;
    json_t *back = s ? json_loads(s, 0, &err) : NULL;
    ok(back && json_equal(back, o), "jansson reads back the same tree");
    const char *env = "{\"version\":\"1.0\",\"request\":{\"type\":\"IntentRequest\",\"intent\":{\"name\":\"X\"}}}";
    json_t *j = jsonload((const uint8_t *)env, strlen(env), 0, &err);
    ok(j && strcmp(json_string_value(json_object_get(json_object_get(j, "request"), "type")), "IntentRequest") == 0,
       "jsonload builds its tree through jsonmem");
    json_decref(j);
    json_decref(back);
    json_decref(o);
    free(s); /* plain free: jsonmem_dumps copied it out; LeakSanitizer checks the frees */
}

/* Every json_dumps result in src/ would be freed with free(), which is wrong
 * once jsonmem is installed: only jsonmem.c may call it. src/ has one folder
 * per subsystem, so the walk goes down the tree. */
static int dumps_files, dumps_bad;
static int scan_source(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    size_t n = strlen(path);
    const char *base = path + ftw->base;
    if (type != FTW_F || n < 3 || strcmp(path + n - 2, ".c") || strcmp(base, "jsonmem.c") == 0)
        return 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    dumps_files++;
    char line[4096];
    int ln = 0;
    while (fgets(line, sizeof(line), fp)) {
        ln++;
        if (strstr(line, "json_dumps(")) {
            dumps_bad++;
            printf("# %s:%d calls json_dumps (use jsonmem_dumps)\n", path, ln);
        }
    }
    fclose(fp);
    return 0;
}

static void test_no_json_dumps(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *cut = strstr(dir, "tests/unit/");
    if (cut)
        strcpy(cut, "src");
    else
        strcpy(dir, "src");
    ok(nftw(dir, scan_source, 16, FTW_PHYS) == 0, "source tree %s walked", dir);
    ok(dumps_files > 20 && dumps_bad == 0, "no json_dumps outside jsonmem.c (%d files read, %d calls)", dumps_files,
       dumps_bad);
}

int main(void)
{
    test_blocks();
    test_survivor();
    test_threads();
    test_cross_free();
    test_jansson();
    test_no_json_dumps();
    return done_testing();
}
