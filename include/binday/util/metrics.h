/* metrics.h - the process's metrics registry: counters, gauges and
 * histograms with small fixed label sets, rendered in the Prometheus text
 * exposition format (version 0.0.4) by metrics_render.
 *
 * Each module declares its families with METRICS_DEFINE (static storage;
 * the family registers itself before main runs), and counts with
 * metrics_inc / metrics_add / metrics_observe / metrics_set. Those are
 * safe from any thread, take no lock and allocate nothing: every cell is a
 * relaxed atomic, and each thread writes its own shard (of METRICS_SHARDS,
 * padded to cache lines), summed only when rendered. Label values are
 * indexes into the family's fixed value list, so no personal data can reach
 * a label and every label set is bounded. An index out of range is counted
 * in the last value (declare "other" last where that can happen).
 *
 * Histogram observations are in microseconds and bucket bounds too; they
 * render in seconds (base unit). Gauges hold a signed 64-bit value each
 * (shard 0 only); collectors (metrics_add_collector) set the ones that are
 * measured when scraped (queue depths, map use).
 */
#ifndef BINDAY_METRICS_H
#define BINDAY_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/util/strbuf.h"

#define METRICS_SHARDS 8
#define METRICS_CELLS_PER_LINE 8 /* 64-byte cache line / 8-byte cells */

typedef enum { METRICS_COUNTER = 0, METRICS_GAUGE = 1, METRICS_HISTOGRAM = 2 } metrics_kind_t;

typedef struct metrics_family {
    const char *name; /* e.g. "binday_http_requests_total" */
    const char *help;
    metrics_kind_t kind;
    const char *label[2];               /* label names; NULL when unused */
    const char *const *values[2];       /* each label's values */
    unsigned n[2];                      /* how many values (1 when the label is unused) */
    const uint64_t *bounds_us;          /* histogram bucket upper bounds (us), ascending */
    unsigned n_bounds;
    unsigned cells_per_series;          /* 1, or n_bounds + 2 (buckets, +Inf, sum) */
    size_t stride;                      /* cells per shard (padded to a cache line) */
    _Atomic uint64_t *cells;            /* METRICS_SHARDS * stride */
    struct metrics_family *next;        /* the registry's list */
} metrics_family_t;

/* Add a family to the registry (METRICS_DEFINE does it before main). */
void metrics_register(metrics_family_t *f);

/* ---- declaring families ----
 * METRICS_DEFINE(var, kind, name, help, label0, values0, label1, values1,
 *                bounds_us, n_bounds)
 * values0/values1 are static arrays of strings (or NULL with a NULL label);
 * bounds_us a static array of uint64_t (NULL and 0 unless a histogram). */
#define METRICS_ROUND_LINE(n) ((((n) + METRICS_CELLS_PER_LINE - 1) / METRICS_CELLS_PER_LINE) * METRICS_CELLS_PER_LINE)
#define METRICS_DEFINE(var, kind_, name_, help_, l0, v0, n0, l1, v1, n1, bounds_, nb_)                           \
    static _Atomic uint64_t var##_cells[METRICS_SHARDS * METRICS_ROUND_LINE((n0) * (n1) * ((nb_) ? (nb_) + 2 : 1))] \
        __attribute__((aligned(64)));                                                                              \
    static metrics_family_t var = {.name = (name_),                                                                \
                                   .help = (help_),                                                                \
                                   .kind = (kind_),                                                                \
                                   .label = {(l0), (l1)},                                                          \
                                   .values = {(v0), (v1)},                                                         \
                                   .n = {(n0), (n1)},                                                              \
                                   .bounds_us = (bounds_),                                                         \
                                   .n_bounds = (nb_),                                                              \
                                   .cells_per_series = (nb_) ? (nb_) + 2 : 1,                                      \
                                   .stride = METRICS_ROUND_LINE((n0) * (n1) * ((nb_) ? (nb_) + 2 : 1)),           \
                                   .cells = var##_cells};                                                          \
    __attribute__((constructor)) static void var##_register(void)                                                  \
    {                                                                                                              \
        metrics_register(&var);                                                                                    \
    }

/* Latency buckets shared by the request and API histograms: 1 ms .. 10 s. */
#define METRICS_LATENCY_BUCKETS 12
extern const uint64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS];

/* ---- counting (any thread; lock-free, allocation-free) ---- */

/* This thread's shard (assigned on first use). */
unsigned metrics_shard(void);

static inline size_t metrics_series_(const metrics_family_t *f, unsigned a, unsigned b)
{
    if (a >= f->n[0])
        a = f->n[0] - 1;
    if (b >= f->n[1])
        b = f->n[1] - 1;
    return ((size_t)a * f->n[1] + b) * f->cells_per_series;
}

static inline void metrics_add(metrics_family_t *f, unsigned a, unsigned b, uint64_t v)
{
    atomic_fetch_add_explicit(&f->cells[metrics_shard() * f->stride + metrics_series_(f, a, b)], v,
                              memory_order_relaxed);
}

static inline void metrics_inc(metrics_family_t *f, unsigned a, unsigned b)
{
    metrics_add(f, a, b, 1);
}

/* One observation of `us` microseconds into a histogram. */
static inline void metrics_observe(metrics_family_t *f, unsigned a, unsigned b, uint64_t us)
{
    unsigned k = 0;
    while (k < f->n_bounds && us > f->bounds_us[k])
        k++;
    _Atomic uint64_t *s = &f->cells[metrics_shard() * f->stride + metrics_series_(f, a, b)];
    atomic_fetch_add_explicit(&s[k], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s[f->n_bounds + 1], us, memory_order_relaxed);
}

/* A gauge's value (last write wins). */
static inline void metrics_set(metrics_family_t *f, unsigned a, unsigned b, int64_t v)
{
    atomic_store_explicit(&f->cells[metrics_series_(f, a, b)], (uint64_t)v, memory_order_relaxed);
}

/* ---- scraping ---- */

/* A function run (under the registry's lock, on the scraping thread) before
 * each render, to set gauges measured on demand. At most 16; returns 0, or
 * -1 when full. metrics_remove_collector takes it out again (same fn, ud). */
int metrics_add_collector(void (*fn)(void *ud), void *ud);
void metrics_remove_collector(void (*fn)(void *ud), void *ud);

/* Run the collectors, then append every registered family to `out` in the
 * text exposition format 0.0.4 (families sorted by name). */
void metrics_render(strbuf_t *out);

/* Sum of a counter's (or a histogram's count) shards, for tests. */
uint64_t metrics_value(const metrics_family_t *f, unsigned a, unsigned b);

#endif
