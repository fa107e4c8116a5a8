/* metrics.c - owns the metrics registry (the list of families declared with
 * METRICS_DEFINE), the scrape-time collectors and the Prometheus text
 * rendering. Counting itself is inline in metrics.h: lock-free per-thread
 * shards; this file only reads them, under a lock that the request path
 * never takes. */
#include "binday/util/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const uint64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static metrics_family_t *families; /* sorted by name */

struct collector {
    void (*fn)(void *ud);
    void *ud;
};
#define MAX_COLLECTORS 16
static struct collector collectors[MAX_COLLECTORS];

static atomic_uint next_shard;
static _Thread_local unsigned my_shard_plus1; /* 0: not assigned yet */

unsigned metrics_shard(void)
{
    if (my_shard_plus1 == 0)
        my_shard_plus1 = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % METRICS_SHARDS + 1;
    return my_shard_plus1 - 1;
}

void metrics_register(metrics_family_t *f)
{
    pthread_mutex_lock(&mu);
    metrics_family_t **p = &families;
    while (*p != NULL && strcmp((*p)->name, f->name) < 0)
        p = &(*p)->next;
    f->next = *p;
    *p = f;
    pthread_mutex_unlock(&mu);
}

int metrics_add_collector(void (*fn)(void *ud), void *ud)
{
    int rc = -1;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn == NULL) {
            collectors[i] = (struct collector){fn, ud};
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&mu);
    return rc;
}

void metrics_remove_collector(void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn == fn && collectors[i].ud == ud)
            collectors[i] = (struct collector){NULL, NULL};
    pthread_mutex_unlock(&mu);
}

static uint64_t cell_sum(const metrics_family_t *f, size_t idx)
{
    uint64_t v = 0;
    for (unsigned s = 0; s < METRICS_SHARDS; s++)
        v += atomic_load_explicit(&f->cells[s * f->stride + idx], memory_order_relaxed);
    return v;
}

uint64_t metrics_value(const metrics_family_t *f, unsigned a, unsigned b)
{
    size_t base = metrics_series_(f, a, b);
    if (f->kind == METRICS_GAUGE)
        return atomic_load_explicit(&f->cells[base], memory_order_relaxed);
    if (f->kind == METRICS_COUNTER)
        return cell_sum(f, base);
    uint64_t n = 0;
    for (unsigned k = 0; k <= f->n_bounds; k++)
        n += cell_sum(f, base + k);
    return n;
}

/* HELP text escapes backslash and newline; label values also the double quote
 * (they are our own constants, but the format must hold whatever they are). */
static void put_escaped(strbuf_t *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_put(out, "\\\\", 2);
        else if (*s == '\n')
            strbuf_put(out, "\\n", 2);
        else if (quote && *s == '"')
            strbuf_put(out, "\\\"", 2);
        else
            strbuf_put(out, s, 1);
    }
}

/* {l0="v0",l1="v1"[,le="x"]} or nothing */
static void put_labels(strbuf_t *out, const metrics_family_t *f, unsigned a, unsigned b, const char *le)
{
    int any = 0;
    unsigned idx[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (f->label[k] == NULL)
            continue;
        strbuf_puts(out, any ? "," : "{");
        strbuf_puts(out, f->label[k]);
        strbuf_puts(out, "=\"");
        put_escaped(out, f->values[k][idx[k]], 1);
        strbuf_puts(out, "\"");
        any = 1;
    }
    if (le) {
        strbuf_puts(out, any ? ",le=\"" : "{le=\"");
        strbuf_puts(out, le);
        strbuf_puts(out, "\"");
        any = 1;
    }
    if (any)
        strbuf_puts(out, "}");
}

/* microseconds as seconds, exactly ("0.0025", "10") */
static void seconds_text(uint64_t us, char *buf, size_t n)
{
    if (us % 1000000 == 0) {
        snprintf(buf, n, "%llu", (unsigned long long)(us / 1000000));
        return;
    }
    int len = snprintf(buf, n, "%llu.%06llu", (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
    while (len > 0 && buf[len - 1] == '0')
        buf[--len] = '\0';
}

static void render_family(strbuf_t *out, const metrics_family_t *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    strbuf_printf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, 0);
    strbuf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->kind]);
    char num[48];
    for (unsigned a = 0; a < f->n[0]; a++)
        for (unsigned b = 0; b < f->n[1]; b++) {
            size_t base = metrics_series_(f, a, b);
            if (f->kind != METRICS_HISTOGRAM) {
                strbuf_puts(out, f->name);
                put_labels(out, f, a, b, NULL);
                if (f->kind == METRICS_GAUGE)
                    strbuf_printf(out, " %lld\n",
                                  (long long)(int64_t)atomic_load_explicit(&f->cells[base], memory_order_relaxed));
                else
                    strbuf_printf(out, " %llu\n", (unsigned long long)cell_sum(f, base));
                continue;
            }
            uint64_t cum = 0;
            for (unsigned k = 0; k <= f->n_bounds; k++) {
                cum += cell_sum(f, base + k);
                if (k < f->n_bounds)
                    seconds_text(f->bounds_us[k], num, sizeof(num));
                strbuf_printf(out, "%s_bucket", f->name);
                put_labels(out, f, a, b, k < f->n_bounds ? num : "+Inf");
                strbuf_printf(out, " %llu\n", (unsigned long long)cum);
            }
            seconds_text(cell_sum(f, base + f->n_bounds + 1), num, sizeof(num));
            strbuf_printf(out, "%s_sum", f->name);
            put_labels(out, f, a, b, NULL);
            strbuf_printf(out, " %s\n%s_count", num, f->name);
            put_labels(out, f, a, b, NULL);
            strbuf_printf(out, " %llu\n", (unsigned long long)cum);
        }
}

void metrics_render(strbuf_t *out)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn)
            collectors[i].fn(collectors[i].ud);
    for (const metrics_family_t *f = families; f != NULL; f = f->next)
        render_family(out, f);
    pthread_mutex_unlock(&mu);
}
