/* jsonmem.c - owns the chunks jansson's small blocks are cut from.
 *
 * Every block starts with a 16-byte header: the chunk it came from (NULL for
 * a block from malloc) and its size. A chunk's count starts at a large bias
 * while it is some thread's current chunk, and every free takes one off;
 * when the thread moves on it takes off the bias less the blocks it handed
 * out, so the count reads "blocks not yet freed" from then on. Whoever drops
 * it to zero frees the chunk, or keeps it as that thread's one spare. So an
 * allocation costs no atomic operation, and neither does a free into the
 * thread's own current chunk (counted in freed_here, settled when the thread
 * moves on); other frees take one off atomically, because a tree built on a
 * loop thread may be freed on another (the transcript writer's records). Under AddressSanitizer freed blocks are
 * poisoned, so a use after free inside a chunk is still reported.
 */
#include "binday/json/jsonmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define JM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JM_ASAN 1
#endif
#endif
#ifdef JM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct chunk {
    atomic_size_t live; /* BIAS - frees while current; blocks not yet freed after */
    size_t used;        /* bytes of data handed out; only the owning thread moves it */
    size_t handed;      /* blocks handed out; only the owning thread counts */
    size_t freed_here;  /* blocks the owning thread freed while the chunk was current */
    _Alignas(16) unsigned char data[];
};

struct hdr {
    struct chunk *c; /* NULL: the block came from malloc */
    size_t size;     /* bytes asked for (for poisoning) */
};

#define CAP (JSONMEM_CHUNK_BYTES - sizeof(struct chunk))
#define BIAS ((size_t)1 << 40) /* more blocks than a chunk can hold */

static _Thread_local struct chunk *cur;   /* this thread allocates from it */
static _Thread_local struct chunk *spare; /* an empty chunk kept for the next one */
static atomic_size_t chunks_live;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void);

static void chunk_free(struct chunk *c)
{
    atomic_fetch_sub_explicit(&chunks_live, 1, memory_order_relaxed);
    UNPOISON(c->data, CAP);
    free(c);
}

static void set_exit_hook(void)
{
    pthread_once(&key_once, make_key);
    pthread_setspecific(exit_key, (void *)1); /* so on_thread_exit runs */
}

/* Takes `by` off c's count; the one who reaches zero disposes of c. */
static void release(struct chunk *c, size_t by)
{
    if (atomic_fetch_sub_explicit(&c->live, by, memory_order_acq_rel) != by)
        return;
    if (!spare) {
        set_exit_hook();
        spare = c;
        POISON(c->data, CAP);
    } else {
        chunk_free(c);
    }
}

/* A thread that ends gives back its current chunk and its spare. */
static void on_thread_exit(void *unused)
{
    (void)unused;
    struct chunk *c = cur;
    cur = NULL;
    if (c)
        release(c, BIAS - c->handed + c->freed_here); /* may make it the spare */
    if (spare) {
        chunk_free(spare);
        spare = NULL;
    }
}

static void make_key(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0)
        abort();
}

/* The thread's next current chunk, or NULL when memory ran out. */
static struct chunk *next_chunk(void)
{
    struct chunk *c = spare;
    if (c) {
        spare = NULL;
    } else {
        c = malloc(JSONMEM_CHUNK_BYTES);
        if (!c)
            return NULL;
        atomic_fetch_add_explicit(&chunks_live, 1, memory_order_relaxed);
        POISON(c->data, CAP);
        set_exit_hook();
    }
    atomic_init(&c->live, BIAS);
    c->used = 0;
    c->handed = 0;
    c->freed_here = 0;
    struct chunk *old = cur;
    cur = c;
    if (old)
        release(old, BIAS - old->handed + old->freed_here);
    return c;
}

void *jsonmem_malloc(size_t n)
{
    if (n <= JSONMEM_SMALL_MAX) {
        size_t need = sizeof(struct hdr) + ((n + 15) & ~(size_t)15);
        struct chunk *c = cur;
        if (!c || CAP - c->used < need)
            c = next_chunk();
        if (c) {
            struct hdr *h = (struct hdr *)(c->data + c->used);
            c->used += need;
            c->handed++;
            UNPOISON(h, sizeof(*h) + n);
            h->c = c;
            h->size = n;
            return h + 1;
        }
    }
    if (n > SIZE_MAX - sizeof(struct hdr))
        return NULL;
    struct hdr *h = malloc(sizeof(*h) + n);
    if (!h)
        return NULL;
    h->c = NULL;
    h->size = n;
    return h + 1;
}

void jsonmem_free(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)p - 1;
    struct chunk *c = h->c;
    if (!c) {
        free(h);
        return;
    }
    POISON(h, sizeof(*h) + h->size);
    if (c == cur) /* only this thread allocates from it, and nobody can free it yet (the bias) */
        c->freed_here++;
    else
        release(c, 1);
}

size_t jsonmem_chunks_live(void)
{
    return atomic_load_explicit(&chunks_live, memory_order_relaxed);
}

void jsonmem_install(void)
{
    json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
}

char *jsonmem_dumps(const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags);
    if (!s)
        return NULL;
    char *out = strdup(s);
    json_free_t f = free;
    json_get_alloc_funcs(NULL, &f);
    f(s);
    return out;
}
