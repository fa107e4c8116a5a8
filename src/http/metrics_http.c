/* metrics_http.c - owns GET /metrics: the h2o handler that renders the
 * metrics registry, and the process_* metrics (CPU, memory, descriptors,
 * start time) read from getrusage, getrlimit and /proc at scrape time, under
 * the names the Prometheus client libraries use. */
#include "binday/http/metrics_http.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "binday/util/metrics.h"

/* a scrape is ~30 KB; far more would be a bug, not a reason to grow */
#define METRICS_MAX_BYTES ((size_t)1 << 20)

static long long read_btime(void)
{
    FILE *f = fopen("/proc/stat", "re");
    char line[256];
    long long bt = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = atoll(line + 6);
            break;
        }
    if (f)
        fclose(f);
    return bt;
}

/* the process's start, from /proc/self/stat field 22 (clock ticks after boot) */
static double start_time_seconds(void)
{
    FILE *f = fopen("/proc/self/stat", "re");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL)
        return 0;
    p++;
    /* after ')' field 3 (state) starts: starttime is the 20th field from there */
    unsigned long long ticks = 0;
    for (int field = 3; field <= 22 && p; field++) {
        while (*p == ' ')
            p++;
        if (field == 22)
            ticks = strtoull(p, NULL, 10);
        p = strchr(p, ' ');
    }
    long hz = sysconf(_SC_CLK_TCK);
    long long bt = read_btime();
    if (bt < 0 || hz <= 0)
        return 0;
    return (double)bt + (double)ticks / (double)hz;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own */
}

static void process_metrics(strbuf_t *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        strbuf_printf(out,
                      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n",
                      (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                          ru.ru_stime.tv_usec / 1e6);
    unsigned long long vsz = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%llu %llu", &vsz, &rss) == 2) {
            long page = sysconf(_SC_PAGESIZE);
            strbuf_printf(out,
                          "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                          "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
                          "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                          "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
                          vsz * (unsigned long long)page, rss * (unsigned long long)page);
        }
        fclose(f);
    }
    long fds = open_fds();
    if (fds >= 0)
        strbuf_printf(out,
                      "# HELP process_open_fds Number of open file descriptors.\n"
                      "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                      fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        strbuf_printf(out,
                      "# HELP process_max_fds Maximum number of open file descriptors.\n"
                      "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                      (unsigned long long)rl.rlim_cur);
    double st = start_time_seconds();
    if (st > 0)
        strbuf_printf(out,
                      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                      st);
}

void metrics_http_render(strbuf_t *out)
{
    strbuf_printf(out,
                  "# HELP binday_build_info The running binday's version (always 1).\n"
                  "# TYPE binday_build_info gauge\nbinday_build_info{version=\"%s\"} 1\n",
                  BINDAY_VERSION);
    metrics_render(out);
    process_metrics(out);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (!head && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        static const char body[] = "{\"error\":\"method not allowed\"}";
        req->res.status = 405;
        req->res.reason = "Method Not Allowed";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET,HEAD"));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
        h2o_send_inline(req, body, sizeof(body) - 1);
        return 0;
    }
    strbuf_t b;
    strbuf_init(&b, METRICS_MAX_BYTES);
    metrics_http_render(&b);
    req->res.status = b.failed ? 500 : 200;
    req->res.reason = b.failed ? "Internal Server Error" : "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT(METRICS_CONTENT_TYPE));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    if (b.failed)
        h2o_send_inline(req, H2O_STRLIT("# metrics too large\n"));
    else
        h2o_send_inline(req, b.p ? b.p : "", b.len);
    strbuf_free(&b);
    return 0;
}

void metrics_mount(h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/metrics", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
    h->on_req = on_req;
}
