/* test_metrics.c - the metrics registry: the text exposition format (HELP
 * and TYPE lines, labels, cumulative histogram buckets in seconds, escaping),
 * shards summed across threads with no count lost, out-of-range label
 * indexes clamped to the last value, gauges, collectors run before a render. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/metrics.h"
#include "tap.h"

static const char *const colours[] = {"green", "black", "other"};
static const char *const codes[] = {"2xx", "5xx"};
METRICS_DEFINE(t_count, METRICS_COUNTER, "t_things_total", "Things, by colour and code\\with \"quotes\"\nand a line",
               "colour", colours, 3, "code", codes, 2, NULL, 0)
static const uint64_t bounds[] = {1000, 2500, 1000000};
METRICS_DEFINE(t_hist, METRICS_HISTOGRAM, "t_wait_seconds", "Waits", "colour", colours, 3, NULL, NULL, 1, bounds, 3)
METRICS_DEFINE(t_gauge, METRICS_GAUGE, "t_depth", "Depth", NULL, NULL, 1, NULL, NULL, 1, NULL, 0)

#define THREADS 6
#define PER_THREAD 100000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_inc(&t_count, 0, 1);
        metrics_observe(&t_hist, 1, 0, 2000);
    }
    return NULL;
}

static int collected;
static void collect(void *ud)
{
    collected++;
    metrics_set(&t_gauge, 0, 0, *(int64_t *)ud);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

int main(void)
{
    /* counts from many threads: every increment lands, whatever the shard */
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ok(metrics_value(&t_count, 0, 1) == (uint64_t)THREADS * PER_THREAD, "%d threads x %d increments all counted",
       THREADS, PER_THREAD);
    ok(metrics_value(&t_hist, 1, 0) == (uint64_t)THREADS * PER_THREAD, "histogram count from every thread");

    metrics_add(&t_count, 2, 0, 5);
    metrics_add(&t_count, 99, 0, 2); /* out of range: the last value ("other") */
    ok(metrics_value(&t_count, 2, 0) == 7, "an out-of-range label index counts under the last value");
    metrics_observe(&t_hist, 0, 0, 500);
    metrics_observe(&t_hist, 0, 0, 1000);    /* on a bound: that bucket (le) */
    metrics_observe(&t_hist, 0, 0, 2000000); /* over every bound: +Inf only */

    int64_t depth = -3;
    ok(metrics_add_collector(collect, &depth) == 0, "a collector is added");
    strbuf_t b;
    strbuf_init(&b, 1 << 20);
    metrics_render(&b);
    const char *s = b.p ? b.p : "";
    ok(!b.failed && collected == 1, "render runs the collector once");
    ok(has_line(s, "# HELP t_things_total Things, by colour and code\\\\with \"quotes\"\\nand a line"),
       "HELP escapes backslash and newline");
    ok(has_line(s, "# TYPE t_things_total counter"), "TYPE counter");
    ok(has_line(s, "t_things_total{colour=\"green\",code=\"5xx\"} 600000"), "counter with two labels");
    ok(has_line(s, "t_things_total{colour=\"other\",code=\"2xx\"} 7"), "clamped counts rendered");
    ok(has_line(s, "t_things_total{colour=\"black\",code=\"2xx\"} 0"), "zero series rendered");
    ok(has_line(s, "# TYPE t_wait_seconds histogram"), "TYPE histogram");
    ok(has_line(s, "t_wait_seconds_bucket{colour=\"green\",le=\"0.001\"} 2") &&
           has_line(s, "t_wait_seconds_bucket{colour=\"green\",le=\"0.0025\"} 2") &&
           has_line(s, "t_wait_seconds_bucket{colour=\"green\",le=\"1\"} 2") &&
           has_line(s, "t_wait_seconds_bucket{colour=\"green\",le=\"+Inf\"} 3"),
       "buckets are cumulative, bounds in seconds, a value on a bound counts in it");
    ok(has_line(s, "t_wait_seconds_sum{colour=\"green\"} 2.0015") && has_line(s, "t_wait_seconds_count{colour=\"green\"} 3"),
       "sum in seconds, count");
    ok(has_line(s, "t_wait_seconds_bucket{colour=\"black\",le=\"0.0025\"} 600000") &&
           has_line(s, "t_wait_seconds_sum{colour=\"black\"} 1200"),
       "threaded observations in their bucket and sum");
    ok(has_line(s, "# TYPE t_depth gauge") && has_line(s, "t_depth -3"), "gauge without labels, negative value");
    /* families come sorted by name, whatever the registration order */
    const char *a = strstr(s, "# HELP t_depth"), *w = strstr(s, "# HELP t_things_total"),
               *z = strstr(s, "# HELP t_wait_seconds");
    ok(a && w && z && a < w && w < z, "families sorted by name");
    strbuf_free(&b);

    metrics_remove_collector(collect, &depth);
    strbuf_init(&b, 1 << 20);
    metrics_render(&b);
    ok(collected == 1, "a removed collector does not run");
    strbuf_free(&b);

    strbuf_init(&b, 64);
    metrics_render(&b);
    ok(b.failed == STRBUF_CAP, "a render past the buffer's cap is reported, not cut silently");
    strbuf_free(&b);
    return done_testing();
}
