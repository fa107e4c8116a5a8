/* server.c - owns the HTTPS endpoint: TLS setup, h2o configuration, the
 * per-thread event loops, accepting and counting connections, routing, JSON
 * error bodies, the access log, handler timeouts, lingering close after an
 * error answer, GET /healthz and GET /readyz, and graceful shutdown.
 *
 * Threads: the main thread only watches signals and coordinates shutdown; N
 * worker threads each run a libuv loop with its own h2o context and outbound
 * client, all accepting on dup()s of one listening socket. Nothing is shared
 * between workers except the read-only h2o global config and SSL_CTX.
 */
#include "binday/http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "binday/http/metrics_http.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/util/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define BINDAY_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BINDAY_LSAN 1
#endif
#endif
#ifdef BINDAY_LSAN
#include <sanitizer/lsan_interface.h>
/* h2o keeps per-thread free lists of socket buffers (h2o_mem_alloc_recycle) in
 * thread-local storage; they become unreachable when a worker thread exits and
 * are not leaks of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\n";
}
#endif

/* Headers larger than this (all names and values together) get 431. h2o itself
 * caps a request head at about 400 KB; Alexa's are under 4 KB. */
#define SERVER_MAX_HEADER_BYTES (16 * 1024)

/* Lingering close (see "lingering close" below): after an error answer that
 * closes the connection, read and discard at most this much of what the
 * client still sends, for at most request_timeout_ms, before closing. */
#define SERVER_LINGER_MAX_BYTES ((size_t)4 << 20)

/* GET /readyz: a certificate expiring within this many days is a warning */
#define SERVER_CERT_WARN_DAYS 14

enum { STATE_RUNNING = 0, STATE_DRAINING = 1, STATE_STOPPING = 2 };

struct server {
    const config_t *conf;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hostconf;
    /* The SSL_CTX new handshakes use. SIGHUP builds a new one and swaps it in
     * here under ssl_mu; each loop thread then takes a reference from its own
     * thread (on_wake) into its accept_ctx, which only that thread reads.
     * Connections hold their own reference (SSL_new), so a replaced context
     * lives until its last connection closes. */
    SSL_CTX *ssl_ctx;
    pthread_mutex_t ssl_mu;
    unsigned ssl_gen;
    h2o_globalconf_t admin_globalconf; /* the admin listener's own hosts: /metrics */
    int admin_fd;
    const server_route_t *routes;
    size_t n_routes;
    /* the staff console's listener (server_staff_t), when hooks.staff is set:
     * its own h2o configuration, so its limits (upload sizes) are not the
     * Alexa listener's */
    h2o_globalconf_t staff_globalconf;
    int staff_on;
    h2o_hostconf_t *staff_hostconf;
    SSL_CTX *staff_ssl_ctx; /* NULL: it shares ssl_ctx (and its reloads) */
    int *staff_fds;
    server_hooks_t hooks;
    int *listen_fds; /* one listening socket per thread (SO_REUSEPORT) */
    server_thread_t *threads;
    int nthreads;
    /* STATE_*: written by the main thread (signal, drain timer), read by every
     * loop thread; release/acquire so a loop that sees DRAINING or STOPPING also
     * sees what the main thread wrote before (the drain deadline, closed handles) */
    atomic_int state;
    uint32_t boot_nonce;
    uint64_t started_at_ms;
    uv_loop_t main_loop;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t drain_timer;
    uint64_t drain_deadline_ms;
    pthread_barrier_t ready;
    volatile int init_failed;
};

static server_t g_server; /* one server per process; static so leak checks see it */
static long g_inflight;
static long g_connections;

/* ---- metrics (docs/metrics.md) ----------------------------------------------------
 * Requests by endpoint (the route's path; its values are filled in from the
 * routes before the threads start) and status class, counted in log_access,
 * which h2o runs once for every request, routed or answered by h2o itself. */
#define METRIC_MAX_ENDPOINTS 16
static const char *endpoint_labels[METRIC_MAX_ENDPOINTS + 1];
static const char *const code_labels[] = {"2xx", "3xx", "4xx", "5xx", "other"};
METRICS_DEFINE(m_requests, METRICS_HISTOGRAM, "binday_http_request_duration_seconds",
               "Requests on the public listener by endpoint and status class: time from the request's start to the "
               "end of the answer",
               "endpoint", endpoint_labels, METRIC_MAX_ENDPOINTS + 1, "code", code_labels, 5, metrics_latency_bounds_us,
               METRICS_LATENCY_BUCKETS)
METRICS_DEFINE(m_connections, METRICS_GAUGE, "binday_http_connections",
               "Open connections on the public listener (counted against max_connections)", NULL, NULL, 1, NULL, NULL,
               1, NULL, 0)
METRICS_DEFINE(m_refused, METRICS_COUNTER, "binday_http_connections_refused_total",
               "Connections closed at once because max_connections were open", NULL, NULL, 1, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_cert_expiry, METRICS_GAUGE, "binday_tls_certificate_expiry_timestamp_seconds",
               "When the certificate new handshakes get expires (notAfter, Unix time)", NULL, NULL, 1, NULL, NULL, 1,
               NULL, 0)
static const char *const reload_results[] = {"ok", "error"};
METRICS_DEFINE(m_reloads, METRICS_COUNTER, "binday_reloads_total",
               "SIGHUP reloads: ok (certificate and reloadable keys applied) or error (all kept as they were)",
               "result", reload_results, 2, NULL, NULL, 1, NULL, 0)

static void collect_server(void *ud)
{
    (void)ud;
    metrics_set(&m_connections, 0, 0, __atomic_load_n(&g_connections, __ATOMIC_RELAXED));
}

static long server_inflight(void)
{
    return __atomic_load_n(&g_inflight, __ATOMIC_SEQ_CST);
}

/* ---- responses ------------------------------------------------------------------ */

server_thread_t *server_thread_of(h2o_req_t *req)
{
    h2o_context_t *c = req->conn->ctx;
    if (g_server.staff_on && c->globalconf == &g_server.staff_globalconf)
        return (server_thread_t *)((char *)c - offsetof(server_thread_t, staff_ctx));
    return (server_thread_t *)c;
}

const char *server_request_id(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    if (i != -1)
        return req->res.headers.entries[i].value.base;
    server_thread_t *t = server_thread_of(req);
    char *id = h2o_mem_alloc_pool(&req->pool, 17);
    /* "%08x%02x%06x" of boot nonce, thread and sequence, by hand (a request's
     * snprintf calls were ~2% of its instructions) */
    uint64_t v = (uint64_t)(uint32_t)t->srv->boot_nonce << 32 | ((uint64_t)t->index & 0xff) << 24 |
                 (++t->req_seq & 0xffffff);
    for (int k = 15; k >= 0; k--, v >>= 4)
        id[k] = "0123456789abcdef"[v & 15];
    id[16] = '\0';
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id, 16);
    return id;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Status";
}

void server_send(h2o_req_t *req, int status, const char *content_type, const void *body, size_t len)
{
    server_request_id(req);
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    if (h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL, -1) == -1)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL, H2O_STRLIT("nosniff"));
    /* h2o_send_inline copies the body into the request pool */
    h2o_send_inline(req, body, len);
}

/* The body when a JSON value cannot be written (NULL, or a string jansson
 * refuses): what the client gets must not depend on an abort. */
static const char internal_error_body[] = "{\"error\":\"internal error\"}";

void server_send_json(h2o_req_t *req, int status, const json_t *value)
{
    char *s = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
    if (s == NULL) {
        log_error("http.json_unwritable", "status=%d rid=%s", status, server_request_id(req));
        server_send(req, 500, "application/json", internal_error_body, sizeof(internal_error_body) - 1);
        return;
    }
    server_send(req, status, "application/json", s, strlen(s));
    free(s);
}

void server_send_error(h2o_req_t *req, int status, const char *message)
{
    json_t *o = json_pack("{s:s}", "error", message);
    server_send_json(req, status, o);
    json_decref(o);
}

/* ---- lingering close ------------------------------------------------------------
 * h2o 2.2.5 answers some errors itself before reading the request body (413
 * from the Content-Length, 400 for broken chunked framing), stops reading, and
 * closes the socket once the answer is written. Closing a TCP socket whose
 * receive queue still holds unread bytes makes the kernel send a reset, and a
 * client that is still sending its body then gets a send error (or the reset
 * wipes the answer from its receive queue) and never reads the 413.
 *
 * So, for such an answer on HTTP/1.x, we dup() the socket's descriptor before
 * h2o closes it. h2o's close then drops only its descriptor (libuv removes it
 * from epoll first); the connection stays open through ours. Once h2o's
 * handle is closed we shut down our side for writing (a FIN after the answer),
 * then read and discard what the client sends until it closes, or
 * SERVER_LINGER_MAX_BYTES, or request_timeout_ms, whichever comes first. The
 * connection keeps its max_connections slot until then. Only h2o's public API
 * is used: get_socket on the connection, h2o_socket_get_fd, and the socket's
 * on_close.data (unused by h2o for accepted sockets) to find our record. */

#define SERVER_CONN_MAGIC 0x62646363u

/* One accepted connection: the libuv handle h2o's socket runs on. Freed in
 * the handle's close callback (on_tcp_closed). */
typedef struct server_conn {
    uv_tcp_t tcp; /* first member: libuv's close callback gets its address */
    uint32_t magic;
    server_thread_t *t;
    int linger_fd; /* our dup of the descriptor once an error answer closes the connection; else -1 */
} server_conn_t;

typedef struct server_linger {
    uv_tcp_t tcp;
    uv_timer_t timer;
    server_thread_t *t;
    h2o_linklist_t link; /* in t->lingering while draining */
    size_t drained;
    int handles; /* open libuv handles; freed when 0 */
} server_linger_t;

static void connection_closed(void)
{
    long n = __atomic_sub_fetch(&g_connections, 1, __ATOMIC_SEQ_CST);
    log_debug("http.close", "connections=%ld", n);
}

/* h2o is about to answer req with an error and close: keep the connection. */
static void linger_arm(h2o_req_t *req)
{
    if (req->version >= 0x200 || req->http1_is_persistent || req->conn->callbacks->get_socket == NULL)
        return;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL)
        return;
    server_conn_t *sc = sock->on_close.data;
    if (sc == NULL || sc->magic != SERVER_CONN_MAGIC || sc->linger_fd >= 0)
        return;
    int fd = h2o_socket_get_fd(sock);
    if (fd >= 0)
        sc->linger_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* -1 (EMFILE): plain close */
}

static void linger_handle_closed(uv_handle_t *h)
{
    server_linger_t *l = h->data;
    if (--l->handles > 0)
        return;
    free(l);
    connection_closed();
}

static void linger_end(server_linger_t *l)
{
    if (!h2o_linklist_is_linked(&l->link))
        return; /* already closing */
    h2o_linklist_unlink(&l->link);
    log_debug("http.linger_end", "drained=%zu", l->drained);
    uv_close((uv_handle_t *)&l->tcp, linger_handle_closed);
    uv_close((uv_handle_t *)&l->timer, linger_handle_closed);
}

static void linger_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* what is read is thrown away: one scratch buffer per thread will do */
    static _Thread_local char scratch[16384];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void linger_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    server_linger_t *l = stream->data;
    (void)buf;
    if (nread < 0) { /* the client closed (UV_EOF) or reset: done */
        linger_end(l);
        return;
    }
    l->drained += (size_t)nread;
    if (l->drained >= SERVER_LINGER_MAX_BYTES)
        linger_end(l);
}

static void linger_timeout(uv_timer_t *timer)
{
    linger_end(timer->data);
}

/* Drain the connection on fd (ours) on t's loop. 0: it holds its connection
 * slot until its handles close; -1: it never started (fd closed, slot to
 * release now). Either way fd is no longer the caller's. */
static int linger_start(server_thread_t *t, int fd)
{
    server_linger_t *l = xcalloc(1, sizeof(*l));
    l->t = t;
    if (uv_tcp_init(&t->loop, &l->tcp) != 0) {
        free(l);
        close(fd);
        return -1;
    }
    l->tcp.data = l;
    l->handles = 1;
    uv_timer_init(&t->loop, &l->timer);
    l->timer.data = l;
    l->handles = 2;
    h2o_linklist_insert(&t->lingering, &l->link);
    if (uv_tcp_open(&l->tcp, fd) != 0) {
        close(fd);
        linger_end(l);
        return 0;
    }
    /* our FIN goes after the answer already queued; then only read */
    if (shutdown(fd, SHUT_WR) != 0 ||
        uv_read_start((uv_stream_t *)&l->tcp, linger_alloc, linger_read) != 0) {
        linger_end(l);
        return 0;
    }
    uv_timer_start(&l->timer, linger_timeout, t->srv->conf->request_timeout_ms, 0);
    return 0;
}

static void linger_close_all(server_thread_t *t)
{
    while (!h2o_linklist_is_empty(&t->lingering))
        linger_end(H2O_STRUCT_FROM_MEMBER(server_linger_t, link, t->lingering.next));
}

/* ---- JSON bodies for errors h2o answers itself (400 parse errors, 413) ---------- */

struct json_error_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
};

static void json_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state)
{
    struct json_error_ostream *o = (void *)self;
    (void)bufs;
    (void)n;
    if (h2o_send_state_is_in_progress(state) || o->sent) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    o->sent = 1;
    h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (req->res.status >= 400 && ct != -1 &&
        h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                  H2O_STRLIT("text/plain; charset=utf-8"))) {
        char msg[128];
        const char *reason = req->res.reason ? req->res.reason : "error";
        size_t i;
        for (i = 0; i < sizeof(msg) - 1 && reason[i]; i++)
            msg[i] = (char)((reason[i] >= 'A' && reason[i] <= 'Z') ? reason[i] + 32 : reason[i]);
        msg[i] = 0;
        json_t *o = json_pack("{s:s}", "error", msg);
        char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        /* a reason jansson refuses (not UTF-8) gets the fixed body */
        h2o_iovec_t body = h2o_strdup(&req->pool, s != NULL ? s : internal_error_body, SIZE_MAX);
        free(s);
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json"), 1);
        server_request_id(req);
        if (req->res.content_length != SIZE_MAX)
            req->res.content_length = body.len;
        /* h2o closes after these without reading the rest of the request */
        linger_arm(req);
        struct json_error_ostream *o2 = (void *)h2o_add_ostream(req, sizeof(*o2), slot);
        o2->super.do_send = json_error_send;
        o2->body = body;
        o2->sent = 0;
        slot = &o2->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- access log ---------------------------------------------------------------- */

/* The route a path goes to (its index in srv->routes), or n_routes for none:
 * the endpoint label of the request metrics. */
static unsigned route_index(const server_t *srv, const char *path, size_t len)
{
    for (size_t i = 0; i < srv->n_routes && i < METRIC_MAX_ENDPOINTS; i++) {
        const server_route_t *r = &srv->routes[i];
        size_t rl = strlen(r->path);
        if (r->prefix ? (len > rl && memcmp(path, r->path, rl) == 0) : (len == rl && memcmp(path, r->path, rl) == 0))
            return (unsigned)i;
    }
    return srv->n_routes < METRIC_MAX_ENDPOINTS ? (unsigned)srv->n_routes : METRIC_MAX_ENDPOINTS;
}

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    (void)self;
    char method[24], path[160];
    h2o_iovec_t p = req->input.path;
    /* never log query strings; calendar tokens are capabilities: redact them */
    size_t plen = p.len;
    for (size_t i = 0; i < p.len; i++)
        if (p.base[i] == '?') {
            plen = i;
            break;
        }
    if (plen > 10 && memcmp(p.base, "/calendar/", 10) == 0)
        snprintf(path, sizeof(path), "\"/calendar/{token}\"");
    else
        log_quote(path, sizeof(path), p.base, plen > 100 ? 100 : plen);
    log_quote(method, sizeof(method), req->input.method.base, req->input.method.len > 16 ? 16 : req->input.method.len);
    struct timeval end;
    gettimeofday(&end, NULL);
    int64_t us = (int64_t)(end.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000000 +
                 (end.tv_usec - req->timestamps.request_begin_at.tv_usec);
    if (req->timestamps.request_begin_at.tv_sec == 0)
        us = 0;
    int st = req->res.status;
    metrics_observe(&m_requests, route_index(server_thread_of(req)->srv, p.base, plen),
                    st >= 200 && st < 600 ? (unsigned)(st / 100 - 2) : 4, us > 0 ? (uint64_t)us : 0);
    ssize_t rid = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    log_info("http.request", "method=%s path=%s status=%d us=%lld bytes=%zu rid=%.*s thread=%d", method, path,
             req->res.status, (long long)us, req->bytes_sent, rid == -1 ? 1 : (int)req->res.headers.entries[rid].value.len,
             rid == -1 ? "-" : req->res.headers.entries[rid].value.base, server_thread_of(req)->index);
}

/* ---- routing ------------------------------------------------------------------- */

static void inflight_dispose(void *p)
{
    (void)p;
    __atomic_sub_fetch(&g_inflight, 1, __ATOMIC_SEQ_CST);
}

static int method_allowed(const char *methods, h2o_iovec_t m)
{
    const char *s = methods;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == m.len && memcmp(s, m.base, n) == 0)
            return 1;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

/* One per hostconf: the Alexa listener's and the staff console's routes are
 * separate tables, so neither listener can reach the other's handlers. */
typedef struct route_handler {
    h2o_handler_t super;
    const server_route_t *routes;
    size_t n_routes;
} route_handler_t;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    const route_handler_t *rh = (const route_handler_t *)self;
    server_thread_t *t = server_thread_of(req);
    server_t *srv = t->srv;
    __atomic_add_fetch(&g_inflight, 1, __ATOMIC_SEQ_CST);
    h2o_mem_alloc_shared(&req->pool, 1, inflight_dispose);
    server_request_id(req);

    size_t hbytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        hbytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (hbytes > SERVER_MAX_HEADER_BYTES) {
        req->http1_is_persistent = 0;
        server_send_error(req, 431, "request headers too large");
        return 0;
    }

    h2o_iovec_t path = req->path_normalized;
    /* a path may have one route per method (GET and POST /sign-in): 405 only
     * when no route of the path allows the method */
    const server_route_t *path_match = NULL;
    for (size_t i = 0; i < rh->n_routes; i++) {
        const server_route_t *r = &rh->routes[i];
        size_t rl = strlen(r->path);
        int match = r->prefix ? (path.len > rl && memcmp(path.base, r->path, rl) == 0)
                              : (path.len == rl && memcmp(path.base, r->path, rl) == 0);
        if (!match)
            continue;
        if (!method_allowed(r->methods, req->method)) {
            if (path_match == NULL)
                path_match = r;
            continue;
        }
        if (atomic_load_explicit(&srv->state, memory_order_acquire) != STATE_RUNNING)
            req->http1_is_persistent = 0;
        return r->fn(t, req);
    }
    if (path_match != NULL) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, path_match->methods,
                       strlen(path_match->methods));
        server_send_error(req, 405, "method not allowed");
        return 0;
    }
    server_send_error(req, 404, "not found");
    return 0;
}

/* ---- pending (asynchronous) requests -------------------------------------------- */

enum { PENDING_WAITING, PENDING_ENDED, PENDING_GONE };

struct server_pending {
    h2o_req_t *req;
    void (*on_gone)(void *ud);
    void *ud;
    int state;
    uv_timer_t *timer;
};

static void timer_free(uv_handle_t *h)
{
    free(h);
}

static void pending_dispose(void *arg)
{
    server_pending_t *p = arg;
    if (p->state == PENDING_WAITING) {
        p->state = PENDING_GONE;
        p->on_gone(p->ud);
    }
    uv_timer_stop(p->timer);
    uv_close((uv_handle_t *)p->timer, timer_free);
}

static void pending_timeout(uv_timer_t *timer)
{
    server_pending_t *p = timer->data;
    if (p->state != PENDING_WAITING)
        return;
    p->state = PENDING_GONE;
    p->on_gone(p->ud);
    log_warn("http.handler_timeout", "rid=%s", server_request_id(p->req));
    p->req->http1_is_persistent = 0;
    server_send_error(p->req, 503, "service busy, try again");
}

server_pending_t *server_pending_begin(h2o_req_t *req, void (*on_gone)(void *ud), void *ud)
{
    server_thread_t *t = server_thread_of(req);
    server_pending_t *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), pending_dispose);
    p->req = req;
    p->on_gone = on_gone;
    p->ud = ud;
    p->state = PENDING_WAITING;
    p->timer = xmalloc(sizeof(*p->timer));
    uv_timer_init(&t->loop, p->timer);
    p->timer->data = p;
    uv_timer_start(p->timer, pending_timeout, t->srv->conf->handler_timeout_ms, 0);
    return p;
}

void server_pending_end(server_pending_t *p)
{
    p->state = PENDING_ENDED;
    uv_timer_stop(p->timer);
}

/* ---- healthz ------------------------------------------------------------------- */

/* ---- readyz -------------------------------------------------------------------- */

static const char *const ready_level_names[] = {"ok", "warning", "error"};

void server_ready_check(json_t *checks, const char *name, server_ready_level_t level, json_t *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(ready_level_names[level]));
    if (detail != NULL) {
        json_object_update(o, detail);
        json_decref(detail);
    }
    json_object_set_new(checks, name, o);
}

/* The certificate this thread's handshakes present: how long it has left.
 * Expired (or not yet valid) is an error: clients refuse it. */
static void ready_tls(server_thread_t *t, json_t *checks)
{
    X509 *cert = SSL_CTX_get0_certificate(t->accept_ctx.ssl_ctx);
    const ASN1_TIME *na = cert ? X509_get0_notAfter(cert) : NULL;
    const ASN1_TIME *nb = cert ? X509_get0_notBefore(cert) : NULL;
    int days = 0, secs = 0, bdays = 0, bsecs = 0;
    struct tm tm;
    char when[32];
    if (na == NULL || nb == NULL || ASN1_TIME_diff(&days, &secs, NULL, na) != 1 ||
        ASN1_TIME_diff(&bdays, &bsecs, NULL, nb) != 1 || ASN1_TIME_to_tm(na, &tm) != 1) {
        server_ready_check(checks, "tls_certificate", SERVER_READY_ERROR, json_pack("{s:s}", "reason", "unreadable"));
        return;
    }
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    long long left = (long long)days * 86400 + secs;
    long long started = -((long long)bdays * 86400 + bsecs); /* > 0: notBefore is past */
    server_ready_level_t level = SERVER_READY_OK;
    if (left <= 0 || started < 0)
        level = SERVER_READY_ERROR;
    else if (left < (long long)SERVER_CERT_WARN_DAYS * 86400)
        level = SERVER_READY_WARNING;
    server_ready_check(checks, "tls_certificate", level,
                       json_pack("{s:s,s:I,s:b}", "not_after", when, "expires_in_days",
                                 (json_int_t)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400)), "valid_now",
                                 left > 0 && started >= 0));
}

static int on_readyz(server_thread_t *t, h2o_req_t *req)
{
    server_t *srv = t->srv;
    int running = atomic_load_explicit(&srv->state, memory_order_acquire) == STATE_RUNNING;
    json_t *checks = json_object();
    server_ready_check(checks, "server", running ? SERVER_READY_OK : SERVER_READY_ERROR,
                       json_pack("{s:s}", "state", running ? "running" : "draining"));
    ready_tls(t, checks);
    if (srv->hooks.ready)
        srv->hooks.ready(t, checks, srv->hooks.ud);
    json_t *errors = json_array(), *warnings = json_array();
    const char *name;
    json_t *c;
    json_object_foreach(checks, name, c) {
        const char *st = json_string_value(json_object_get(c, "status"));
        if (st && strcmp(st, "error") == 0)
            json_array_append_new(errors, json_string(name));
        else if (st && strcmp(st, "warning") == 0)
            json_array_append_new(warnings, json_string(name));
    }
    int ready = json_array_size(errors) == 0;
    json_t *o = json_pack("{s:s,s:o,s:o,s:o}", "status", ready ? "ready" : "not_ready", "errors", errors, "warnings",
                          warnings, "checks", checks);
    server_send_json(req, ready ? 200 : 503, o);
    json_decref(o);
    return 0;
}

static int on_healthz(server_thread_t *t, h2o_req_t *req)
{
    server_t *srv = t->srv;
    int running = atomic_load_explicit(&srv->state, memory_order_acquire) == STATE_RUNNING;
    json_t *o = json_pack("{s:s,s:s,s:I,s:i}", "status", running ? "ok" : "draining", "version",
                          BINDAY_VERSION, "uptime_s", (json_int_t)((uv_now(&t->loop) - srv->started_at_ms) / 1000),
                          "threads", srv->nthreads);
    if (srv->hooks.health)
        srv->hooks.health(t, o, srv->hooks.ud);
    server_send_json(req, running ? 200 : 503, o);
    json_decref(o);
    return 0;
}

/* ---- accepting ----------------------------------------------------------------- */

/* Connections are counted down when libuv closes the TCP handle, not through
 * h2o_socket_t's on_close: in h2o 2.2.5 some TLS 1.3 connections reset by the
 * peer close their handle without running on_close, which would leak slots. */
static void on_tcp_closed(uv_handle_t *h)
{
    server_conn_t *sc = (server_conn_t *)h;
    server_thread_t *t = sc->t;
    int fd = sc->linger_fd;
    free(sc);
    if (fd >= 0) {
        /* the slot stays taken while the connection drains */
        if (atomic_load_explicit(&t->srv->state, memory_order_acquire) != STATE_STOPPING) {
            if (linger_start(t, fd) == 0)
                return;
        } else {
            close(fd); /* the loops are stopping: nothing would drain it */
        }
    }
    connection_closed();
}

static void on_accept(uv_stream_t *listener, int status)
{
    server_thread_t *t = listener->data;
    if (status != 0)
        return;
    server_conn_t *sc = xmalloc(sizeof(*sc));
    sc->magic = SERVER_CONN_MAGIC;
    sc->t = t;
    sc->linger_fd = -1;
    uv_tcp_t *conn = &sc->tcp;
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    long n = __atomic_add_fetch(&g_connections, 1, __ATOMIC_SEQ_CST);
    if (n > t->srv->conf->max_connections) {
        /* over the limit: close at once rather than let the backlog grow unseen */
        __atomic_sub_fetch(&g_connections, 1, __ATOMIC_SEQ_CST);
        metrics_inc(&m_refused, 0, 0);
        static time_t last;
        time_t now = time(NULL);
        if (now != last) {
            last = now;
            log_warn("http.max_connections", "limit=%d", t->srv->conf->max_connections);
        }
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, on_tcp_closed);
    sock->on_close.data = sc; /* a back pointer only (linger_arm); on_close.cb stays NULL */
    /* the listener decides the hostconf (and so the routes) and the certificate */
    h2o_accept(listener == (uv_stream_t *)&t->staff_listener ? &t->staff_accept_ctx : &t->accept_ctx, sock);
}

static void on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

static void adopt_ssl_ctx(server_thread_t *t);
static void on_admin_accept(uv_stream_t *listener, int status);

static void on_wake(uv_async_t *a)
{
    server_thread_t *t = a->data;
    int state = atomic_load_explicit(&t->srv->state, memory_order_acquire);
    if (state == STATE_RUNNING)
        adopt_ssl_ctx(t); /* a SIGHUP may have replaced the certificate */
    if (state >= STATE_DRAINING && t->admin_open) {
        t->admin_open = 0;
        uv_close((uv_handle_t *)&t->admin_listener, on_listener_closed);
    }
    if (state >= STATE_DRAINING && t->listener_open) {
        t->listener_open = 0;
        uv_close((uv_handle_t *)&t->listener, on_listener_closed);
        if (t->staff_listener_open) {
            t->staff_listener_open = 0;
            uv_close((uv_handle_t *)&t->staff_listener, on_listener_closed);
        }
        h2o_context_request_shutdown(&t->ctx);
        if (t->srv->staff_on)
            h2o_context_request_shutdown(&t->staff_ctx);
    }
    if (state == STATE_STOPPING) {
        linger_close_all(t); /* their close callbacks run in server_run's last loop runs */
        uv_stop(&t->loop);
    }
}

static void *thread_main(void *arg)
{
    server_thread_t *t = arg;
    server_t *srv = t->srv;
    int ok = 1;

    if (t->ob == NULL) {
        log_error("server.start", "thread=%d reason=\"outbound client\"", t->index);
        ok = 0;
    }
    if (ok && srv->hooks.thread_init && srv->hooks.thread_init(t, srv->hooks.ud) != 0)
        ok = 0;
    if (ok) {
        int fd = srv->listen_fds[t->index];
        int r;
        if (fd < 0 || (r = uv_tcp_open(&t->listener, fd)) != 0 ||
            (r = uv_listen((uv_stream_t *)&t->listener, 1024, on_accept)) != 0) {
            log_error("server.start", "thread=%d reason=listen", t->index);
            ok = 0;
        } else {
            t->listener_open = 1;
        }
    }
    if (ok && srv->staff_fds != NULL) {
        int fd = srv->staff_fds[t->index];
        if (fd < 0 || uv_tcp_open(&t->staff_listener, fd) != 0 ||
            uv_listen((uv_stream_t *)&t->staff_listener, 1024, on_accept) != 0) {
            log_error("server.start", "thread=%d reason=\"staff listen\"", t->index);
            ok = 0;
        } else {
            t->staff_listener_open = 1;
        }
    }
    if (ok && t->index == 0 && srv->admin_fd >= 0) {
        if (uv_tcp_open(&t->admin_listener, srv->admin_fd) != 0 ||
            uv_listen((uv_stream_t *)&t->admin_listener, 64, on_admin_accept) != 0) {
            log_error("server.start", "thread=%d reason=\"admin listen\"", t->index);
            ok = 0;
        } else {
            t->admin_open = 1;
        }
    }
    if (!ok)
        __atomic_store_n(&srv->init_failed, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&srv->ready);
    if (!srv->init_failed)
        uv_run(&t->loop, UV_RUN_DEFAULT);
    if (srv->hooks.thread_fini && ok)
        srv->hooks.thread_fini(t, srv->hooks.ud);
    return NULL;
}

/* ---- signals and draining ------------------------------------------------------ */

static void wake_all(server_t *srv)
{
    for (int i = 0; i < srv->nthreads; i++)
        uv_async_send(&srv->threads[i].wake);
}

static void on_drain_tick(uv_timer_t *timer)
{
    server_t *srv = timer->data;
    long inflight = server_inflight();
    if (inflight > 0 && uv_now(&srv->main_loop) < srv->drain_deadline_ms)
        return;
    if (inflight > 0)
        log_warn("server.drain_timeout", "unfinished=%ld", inflight);
    atomic_store_explicit(&srv->state, STATE_STOPPING, memory_order_release);
    wake_all(srv);
    uv_timer_stop(timer);
    uv_close((uv_handle_t *)&srv->drain_timer, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->sighup, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    server_t *srv = s->data;
    if (atomic_load_explicit(&srv->state, memory_order_acquire) != STATE_RUNNING)
        return;
    log_info("server.shutdown", "signal=%s inflight=%ld", signum == SIGTERM ? "TERM" : "INT", server_inflight());
    atomic_store_explicit(&srv->state, STATE_DRAINING, memory_order_release);
    wake_all(srv);
    srv->drain_deadline_ms = uv_now(&srv->main_loop) + srv->conf->shutdown_grace_ms;
    uv_timer_init(&srv->main_loop, &srv->drain_timer);
    srv->drain_timer.data = srv;
    uv_timer_start(&srv->drain_timer, on_drain_tick, 0, 20);
}

/* ---- set-up -------------------------------------------------------------------- */

static const h2o_iovec_t http1_only_alpn[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

/* The OpenSSL error queue's first entry as text (and the queue emptied). */
static void ssl_error_text(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, n);
    ERR_clear_error();
}

/* notAfter of the context's certificate as Unix time; 0 if unreadable */
static int64_t cert_not_after(SSL_CTX *ctx)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    const ASN1_TIME *na = cert ? X509_get0_notAfter(cert) : NULL;
    struct tm tm;
    if (na == NULL || ASN1_TIME_to_tm(na, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

/* A server SSL_CTX with our settings and the certificate chain and key from
 * these files. NULL with the reason in err (what failed, the file, OpenSSL's
 * text) when a file cannot be read, the key does not match, or (with
 * refuse_expired, on reload) the certificate has expired: a reload must not
 * swap a working certificate for one clients refuse. At start-up an expired
 * one is served, and /readyz reports it as an error. */
static SSL_CTX *build_ssl_ctx(int http2, const char *cert_file, const char *key_file, int refuse_expired, char *err,
                              size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        xalloc_die("SSL_CTX_new", 0); /* OpenSSL fails it only without memory */
    char ossl[256];
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* No session resumption, on either version (docs/server.md, "TLS").
     * TLS 1.3 tickets: h2o 2.2.5 loses track of a connection whose peer resets
     * it while the post-handshake tickets are being written (the socket is
     * never closed, not even by the handshake timeout). TLS 1.2 tickets: they
     * carry the session's master secret sealed with a key that would live as
     * long as the process, so whoever obtains that key can read every
     * recorded session that was given a ticket; rotating keys is machinery for
     * little gain, as Alexa keeps its connections alive. The session-ID cache
     * goes too: it would keep master secrets in memory for two hours. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* free OpenSSL's per-connection read/write buffers while a connection is
     * idle: tens of KB per keep-alive connection (as nginx does) */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* No close_notify when we close: h2o 2.2.5 writes it with uv_write and
     * ignores uv_write's result; after a read error (a client that reset the
     * connection) libuv refuses the write at once (UV_EPIPE), no callback
     * ever runs, and the socket, its TLS state and buffers were never freed
     * (make bench S3: ~250 connections leaked per 1,000-connection run).
     * HTTP/1.1 frames every response, so no truncation can pass unnoticed. */
    SSL_CTX_set_quiet_shutdown(ctx, 1);
    const char *what = NULL, *file = "-";
    /* TLS 1.2: forward-secret AEAD suites only; ECDHE-RSA-AES-GCM is what Alexa's Java client uses */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1)
        what = "cipher list";
    else if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
        what = "cannot load certificate", file = cert_file;
    else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
        what = "cannot load private key", file = key_file;
    else if (SSL_CTX_check_private_key(ctx) != 1)
        what = "private key does not match certificate", file = key_file;
    if (what != NULL) {
        ssl_error_text(ossl, sizeof(ossl));
        snprintf(err, err_size, "%s %s: %s", what, file, ossl);
        SSL_CTX_free(ctx);
        return NULL;
    }
    int64_t na = cert_not_after(ctx);
    if (refuse_expired && na <= (int64_t)time(NULL)) {
        snprintf(err, err_size, "certificate %s: expired (or notAfter unreadable)", cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    h2o_ssl_register_alpn_protocols(ctx, http2 ? h2o_http2_alpn_protocols : http1_only_alpn);
    return ctx;
}

static int setup_tls(server_t *srv)
{
    const config_t *c = srv->conf;
    char err[600];
    srv->ssl_ctx = build_ssl_ctx(c->http2, c->tls_cert, c->tls_key, 0, err, sizeof(err));
    if (srv->ssl_ctx == NULL) {
        log_error("server.tls", "error=\"%s\"", err);
        fprintf(stderr, "binday serve: %s\n", err);
        return -1;
    }
    metrics_set(&m_cert_expiry, 0, 0, cert_not_after(srv->ssl_ctx));
    return 0;
}

/* ---- SIGHUP: reload --------------------------------------------------------------
 * On the main loop. The new SSL_CTX is built and checked completely before
 * it is published; each loop swaps it into its own accept_ctx when woken
 * (on_wake), so no thread reads a pointer another thread writes. */
static void on_sighup(uv_signal_t *sig, int signum)
{
    (void)signum;
    server_t *srv = sig->data;
    if (atomic_load_explicit(&srv->state, memory_order_acquire) != STATE_RUNNING)
        return;
    char err[600];
    config_t fresh;
    int have_fresh = 0;
    if (srv->hooks.reload_config) {
        if (srv->hooks.reload_config(&fresh, err, sizeof(err), srv->hooks.ud) != 0) {
            log_error("server.reload", "result=error what=config error=\"%s\" note=\"nothing changed\"", err);
            metrics_inc(&m_reloads, 1, 0);
            return;
        }
        have_fresh = 1;
    }
    const config_t *c = have_fresh ? &fresh : srv->conf;
    SSL_CTX *ctx = build_ssl_ctx(srv->conf->http2, c->tls_cert, c->tls_key, 1, err, sizeof(err));
    if (ctx == NULL) {
        log_error("server.reload", "result=error what=tls error=\"%s\" note=\"the old certificate stays\"", err);
        metrics_inc(&m_reloads, 1, 0);
        if (have_fresh)
            config_free(&fresh);
        return;
    }
    pthread_mutex_lock(&srv->ssl_mu);
    SSL_CTX *old = srv->ssl_ctx;
    srv->ssl_ctx = ctx;
    srv->ssl_gen++;
    pthread_mutex_unlock(&srv->ssl_mu);
    SSL_CTX_free(old); /* the loops and the connections hold their own references */
    int64_t na = cert_not_after(ctx);
    metrics_set(&m_cert_expiry, 0, 0, na);
    metrics_inc(&m_reloads, 0, 0);
    wake_all(srv);
    /* logged at the old level, so raising it to warn still shows this reload */
    log_info("server.reload", "result=ok cert_not_after=%lld", (long long)na);
    if (have_fresh) {
        char keys[400];
        if (config_restart_keys(srv->conf, &fresh, keys, sizeof(keys)) > 0)
            log_warn("server.reload_needs_restart", "keys=\"%s\" note=\"changed, but applied only at a restart\"",
                     keys);
        log_set_level(fresh.log_level);
        config_free(&fresh);
    }
}

/* On loop thread t: adopt the current SSL_CTX if a reload replaced it. */
static void adopt_ssl_ctx(server_thread_t *t)
{
    server_t *srv = t->srv;
    pthread_mutex_lock(&srv->ssl_mu);
    SSL_CTX *old = NULL;
    SSL_CTX *old_staff = NULL;
    if (t->ssl_gen != srv->ssl_gen) {
        old = t->accept_ctx.ssl_ctx;
        SSL_CTX_up_ref(srv->ssl_ctx);
        t->accept_ctx.ssl_ctx = srv->ssl_ctx;
        t->ssl_gen = srv->ssl_gen;
    }
    /* the staff listener follows when it shares the server's certificate */
    if (srv->staff_on && srv->staff_ssl_ctx == NULL && t->staff_ssl_gen != srv->ssl_gen) {
        old_staff = t->staff_accept_ctx.ssl_ctx;
        SSL_CTX_up_ref(srv->ssl_ctx);
        t->staff_accept_ctx.ssl_ctx = srv->ssl_ctx;
        t->staff_ssl_gen = srv->ssl_gen;
    }
    pthread_mutex_unlock(&srv->ssl_mu);
    if (old)
        SSL_CTX_free(old);
    if (old_staff)
        SSL_CTX_free(old_staff);
}

/* ---- the admin listener: GET /metrics on plain HTTP (thread 0) -------------------- */

static int admin_not_found(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    server_send_error(req, 404, "not found");
    return 0;
}

/* A scraper needs one connection; a few more allow a second scraper and a
 * person with curl. Beyond this they are closed at once (thread 0 only, so
 * a plain counter). */
#define SERVER_ADMIN_MAX_CONNECTIONS 16

static int admin_connections;

static void on_admin_closed(uv_handle_t *h)
{
    admin_connections--;
    free(h);
}

static void on_admin_accept(uv_stream_t *listener, int status)
{
    server_thread_t *t = listener->data;
    if (status != 0)
        return;
    uv_tcp_t *conn = xmalloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0 || admin_connections >= SERVER_ADMIN_MAX_CONNECTIONS) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    admin_connections++;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, on_admin_closed);
    h2o_accept(&t->admin_accept_ctx, sock);
}

static int open_admin_listener(server_t *srv)
{
    const config_t *c = srv->conf;
    srv->admin_fd = -1;
    if (!c->admin)
        return 0;
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(port, sizeof(port), "%u", c->admin_port);
    int r = getaddrinfo(c->admin_host, port, &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "binday serve: --admin-listen %s:%u: %s (use a numeric address)\n", c->admin_host,
                c->admin_port, gai_strerror(r));
        return -1;
    }
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        fprintf(stderr, "binday serve: cannot listen on --admin-listen %s:%u: %s\n", c->admin_host, c->admin_port,
                strerror(e));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    int loopback = (ai->ai_family == AF_INET &&
                    (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
                   (ai->ai_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    unsigned bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    if (c->admin_port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", c->admin_port_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%u\n", bound) < 0 || fclose(f) != 0 || rename(tmp, c->admin_port_file) != 0) {
            fprintf(stderr, "binday serve: cannot write --admin-port-file %s: %s\n", c->admin_port_file,
                    strerror(errno));
            close(fd);
            return -1;
        }
    }
    if (!loopback)
        log_warn("server.admin_listen", "addr=%s note=\"plain HTTP off loopback: firewall it to the scraper\"",
                 c->admin_host);
    log_info("server.admin_listen", "addr=%s port=%u serves=/metrics", c->admin_host, bound);
    srv->admin_fd = fd;
    /* its own global config: the public listener's hosts never see /metrics,
     * whatever Host header a client sends */
    h2o_config_init(&srv->admin_globalconf);
    srv->admin_globalconf.server_name = h2o_iovec_init(H2O_STRLIT("binday"));
    srv->admin_globalconf.http1.req_timeout = c->request_timeout_ms;
    h2o_hostconf_t *hc =
        h2o_config_register_host(&srv->admin_globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    metrics_mount(hc);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = admin_not_found;
    return 0;
}

/* systemd socket activation, the protocol of sd_listen_fds(3) done by hand
 * (two variables; libsystemd is not otherwise needed): when LISTEN_PID is this
 * process and LISTEN_FDS is 1, descriptor 3 is a socket already listening
 * (deploy/binday.socket). Every thread accepts on a dup() of it. The socket,
 * and the connections queued in its backlog, belong to systemd (or to whoever
 * passed it) and outlive this process: a restart or an upgrade closes only
 * our dup()s, and the next process accepts what queued meanwhile, so no
 * connection is refused (docs/operations.md, "Upgrading"). The threads share
 * one accept queue here, not a SO_REUSEPORT group: a group would need sockets
 * bound by this process, which would die with it.
 * Returns 1 with srv->listen_fds set, 0 when nothing was passed, -1 on a bad
 * hand-over (reason printed). */
#define SERVER_LISTEN_FDS_START 3

static int announce_listener(server_t *srv, const char *what, int fd, const char *port_file, int inherited);

static int inherited_listener(server_t *srv)
{
    const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
    if (pid == NULL || nfds == NULL)
        return 0;
    char *end;
    errno = 0;
    long long p = strtoll(pid, &end, 10);
    int ours = errno == 0 && *end == 0 && end != pid && p == (long long)getpid();
    long long n = strtoll(nfds, &end, 10);
    int n_ok = errno == 0 && *end == 0 && end != nfds;
    /* as sd_listen_fds(unset_environment=1): nothing we start inherits them */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (!ours)
        return 0;
    if (!n_ok || n != 1) {
        fprintf(stderr, "binday serve: LISTEN_FDS=%s: want exactly one inherited listening socket\n", nfds);
        return -1;
    }
    int fd = SERVER_LISTEN_FDS_START, acc = 0, type = 0;
    socklen_t al = sizeof(acc), tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) != 0 || !acc ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
        fprintf(stderr, "binday serve: inherited descriptor %d is not a listening stream socket\n", fd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    srv->listen_fds = xmalloc((size_t)srv->nthreads * sizeof(int));
    srv->listen_fds[0] = fd;
    for (int i = 1; i < srv->nthreads; i++)
        if ((srv->listen_fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
            fprintf(stderr, "binday serve: dup of the inherited socket: %s\n", strerror(errno));
            while (--i >= 0)
                close(srv->listen_fds[i]);
            free(srv->listen_fds);
            srv->listen_fds = NULL;
            return -1;
        }
    return 1;
}

/* One listening socket per thread on host:port into *fds_out; the bound port
 * goes to port_file when given. `what` names the option in messages. */
static int open_listener(server_t *srv, const char *what, const char *host, unsigned listen_port,
                         const char *port_file, int **fds_out)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(port, sizeof(port), "%u", listen_port);
    int r = getaddrinfo(host, port, &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "binday serve: --%s %s:%u: %s (use a numeric address)\n", what, host, listen_port,
                gai_strerror(r));
        return -1;
    }
    /* One listening socket per thread in one SO_REUSEPORT group: the kernel
     * spreads new connections over the threads. With one socket shared by
     * every loop, the first loop to wake accepted the whole backlog (libuv
     * accepts until EAGAIN), so a burst of connections landed on one thread
     * while the others idled (make bench S3: 1.05 of 2 cores busy at a
     * 335 ms p50). The first socket binds (port 0 picks the port), the others
     * bind to the address it got. */
    int *fds = xmalloc((size_t)srv->nthreads * sizeof(int));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int one = 1, opened = 0, err = 0;
    for (; opened < srv->nthreads; opened++) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const struct sockaddr *at = opened == 0 ? ai->ai_addr : (const struct sockaddr *)&ss;
        socklen_t atl = opened == 0 ? ai->ai_addrlen : sl;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            (srv->nthreads > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
            bind(fd, at, atl) != 0 || listen(fd, 1024) != 0) {
            err = errno;
            if (fd >= 0)
                close(fd);
            break;
        }
        fds[opened] = fd;
        if (opened == 0) {
            sl = sizeof(ss);
            getsockname(fd, (struct sockaddr *)&ss, &sl);
        }
    }
    freeaddrinfo(ai);
    if (opened < srv->nthreads) {
        fprintf(stderr, "binday serve: cannot listen on %s:%u: %s\n", host, listen_port, strerror(err));
        while (opened > 0)
            close(fds[--opened]);
        free(fds);
        return -1;
    }
    *fds_out = fds;
    return announce_listener(srv, what, fds[0], port_file, 0);
}

/* The public listener: systemd's socket when one was passed, else our own. */
static int open_public_listener(server_t *srv)
{
    const config_t *c = srv->conf;
    int inherited = inherited_listener(srv);
    if (inherited < 0)
        return -1;
    if (inherited)
        return announce_listener(srv, "listen", srv->listen_fds[0], c->port_file, 1);
    return open_listener(srv, "listen", c->listen_host, c->listen_port, c->port_file, &srv->listen_fds);
}

/* The port file and the log line, for a socket of ours or an inherited one. */
static int announce_listener(server_t *srv, const char *what, int fd, const char *port_file, int inherited)
{
    const config_t *c = srv->conf;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char host[INET6_ADDRSTRLEN] = "?";
    const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                             : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family == AF_INET6 ? AF_INET6 : AF_INET, a, host, sizeof(host));
    unsigned bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    if (port_file) {
        /* write then rename, so a reader never sees a half-written port */
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%u\n", bound) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            fprintf(stderr, "binday serve: cannot write the port file %s: %s\n", port_file, strerror(errno));
            return -1;
        }
    }
    log_info("server.listen", "listener=%s addr=%s port=%u threads=%d http2=%s inherited=%s", what, host, bound,
             c->threads, c->http2 ? "on" : "off", inherited ? "yes" : "no");
    return 0;
}

int server_run(const config_t *conf, const server_route_t *routes, size_t n_routes, const server_hooks_t *hooks)
{
    server_t *srv = &g_server;
    memset(srv, 0, sizeof(*srv));
    srv->conf = conf;
    srv->routes = routes;
    srv->n_routes = n_routes;
    if (hooks)
        srv->hooks = *hooks;
    srv->nthreads = conf->threads;
    if (getrandom(&srv->boot_nonce, sizeof(srv->boot_nonce), 0) != sizeof(srv->boot_nonce))
        srv->boot_nonce = (uint32_t)getpid() ^ (uint32_t)time(NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&srv->ssl_mu, NULL);
    if (setup_tls(srv) != 0)
        return 1;
    const server_staff_t *staff = srv->hooks.staff;
    if (staff != NULL && staff->tls_cert != NULL) {
        char err[600];
        srv->staff_ssl_ctx = build_ssl_ctx(conf->http2, staff->tls_cert, staff->tls_key ? staff->tls_key : staff->tls_cert,
                                           0, err, sizeof(err));
        if (srv->staff_ssl_ctx == NULL) {
            log_error("server.tls", "listener=staff error=\"%s\"", err);
            fprintf(stderr, "binday serve: --staff-tls-cert: %s\n", err);
            return 1;
        }
    }

    h2o_config_init(&srv->globalconf);
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("binday"));
    srv->globalconf.max_request_entity_size = conf->max_body_bytes;
    srv->globalconf.handshake_timeout = conf->handshake_timeout_ms;
    srv->globalconf.http1.req_timeout = conf->request_timeout_ms;
    srv->globalconf.http2.idle_timeout = conf->request_timeout_ms;
    srv->globalconf.http2.graceful_shutdown_timeout = conf->shutdown_grace_ms;
    srv->globalconf.http1.upgrade_to_http2 = 0;
    srv->hostconf = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);

    /* our routes, plus /healthz and /readyz */
    static server_route_t all[64];
    if (n_routes + 2 > sizeof(all) / sizeof(all[0]))
        abort();
    all[0] = (server_route_t){"/healthz", 0, "GET,HEAD", on_healthz};
    all[1] = (server_route_t){"/readyz", 0, "GET,HEAD", on_readyz};
    if (n_routes)
        memcpy(all + 2, routes, n_routes * sizeof(*routes));
    srv->routes = all;
    srv->n_routes = n_routes + 2;
    /* the request metrics' endpoint label: each route's path, then "other" */
    size_t ne = srv->n_routes < METRIC_MAX_ENDPOINTS ? srv->n_routes : METRIC_MAX_ENDPOINTS;
    for (size_t i = 0; i < ne; i++)
        endpoint_labels[i] = srv->routes[i].path;
    endpoint_labels[ne] = "other";
    m_requests.n[0] = (unsigned)ne + 1;
    metrics_add_collector(collect_server, NULL);

    h2o_pathconf_t *pc = h2o_config_register_path(srv->hostconf, "/", 0);
    route_handler_t *h = (route_handler_t *)h2o_create_handler(pc, sizeof(*h));
    h->super.on_req = on_req;
    h->routes = srv->routes;
    h->n_routes = srv->n_routes;
    h2o_filter_t *f = h2o_create_filter(pc, sizeof(*f));
    f->on_setup_ostream = json_error_setup;
    h2o_create_logger(pc, sizeof(h2o_logger_t))->log_access = log_access;
    /* errors h2o answers before routing (malformed request, 413) use the fallback path */
    f = h2o_create_filter(&srv->hostconf->fallback_path, sizeof(*f));
    f->on_setup_ostream = json_error_setup;
    h2o_create_logger(&srv->hostconf->fallback_path, sizeof(h2o_logger_t))->log_access = log_access;

    if (staff != NULL) {
        /* The staff console: an h2o configuration of its own (its limits are
         * not the Alexa listener's) whose one hostconf is reachable only
         * through staff_accept_ctx, so the Host header cannot select it on
         * the Alexa listener nor the reverse. */
        h2o_config_init(&srv->staff_globalconf);
        srv->staff_globalconf.server_name = srv->globalconf.server_name;
        srv->staff_globalconf.max_request_entity_size =
            staff->max_body_bytes ? staff->max_body_bytes : conf->max_body_bytes;
        srv->staff_globalconf.handshake_timeout = conf->handshake_timeout_ms;
        srv->staff_globalconf.http1.req_timeout = conf->request_timeout_ms;
        srv->staff_globalconf.http2.idle_timeout = conf->request_timeout_ms;
        srv->staff_globalconf.http2.graceful_shutdown_timeout = conf->shutdown_grace_ms;
        srv->staff_globalconf.http1.upgrade_to_http2 = 0;
        srv->staff_on = 1;
        srv->staff_hostconf =
            h2o_config_register_host(&srv->staff_globalconf, h2o_iovec_init(H2O_STRLIT("staff")), 65535);
        if (staff->mount != NULL)
            staff->mount(srv->staff_hostconf, staff->ud);
        h2o_pathconf_t *spc = h2o_config_register_path(srv->staff_hostconf, "/", 0);
        route_handler_t *sh = (route_handler_t *)h2o_create_handler(spc, sizeof(*sh));
        sh->super.on_req = on_req;
        sh->routes = staff->routes;
        sh->n_routes = staff->n_routes;
        h2o_create_logger(spc, sizeof(h2o_logger_t))->log_access = log_access;
        h2o_create_logger(&srv->staff_hostconf->fallback_path, sizeof(h2o_logger_t))->log_access = log_access;
    }

    if (open_public_listener(srv) != 0 ||
        open_admin_listener(srv) != 0)
        return 1;
    if (staff != NULL &&
        open_listener(srv, "staff-listen", staff->host, staff->port, staff->port_file, &srv->staff_fds) != 0)
        return 1;

    uv_loop_init(&srv->main_loop);
    srv->started_at_ms = uv_now(&srv->main_loop);
    uv_signal_init(&srv->main_loop, &srv->sigterm);
    uv_signal_init(&srv->main_loop, &srv->sigint);
    srv->sigterm.data = srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    uv_signal_init(&srv->main_loop, &srv->sighup);
    srv->sighup.data = srv;
    uv_signal_start(&srv->sighup, on_sighup, SIGHUP);

    srv->threads = xcalloc((size_t)srv->nthreads, sizeof(*srv->threads));
    pthread_barrier_init(&srv->ready, NULL, (unsigned)srv->nthreads + 1);
    for (int i = 0; i < srv->nthreads; i++) {
        server_thread_t *t = &srv->threads[i];
        t->index = i;
        t->srv = srv;
        uv_loop_init(&t->loop);
        h2o_context_init(&t->ctx, &t->loop, &srv->globalconf);
        t->accept_ctx.ctx = &t->ctx;
        t->accept_ctx.hosts = srv->globalconf.hosts;
        SSL_CTX_up_ref(srv->ssl_ctx); /* each loop's own reference (adopt_ssl_ctx) */
        t->accept_ctx.ssl_ctx = srv->ssl_ctx;
        t->ssl_gen = srv->ssl_gen;
        uv_tcp_init(&t->loop, &t->listener);
        t->listener.data = t;
        if (staff != NULL) {
            h2o_context_init(&t->staff_ctx, &t->loop, &srv->staff_globalconf);
            t->staff_accept_ctx.ctx = &t->staff_ctx;
            t->staff_accept_ctx.hosts = srv->staff_globalconf.hosts;
            SSL_CTX *sc = srv->staff_ssl_ctx ? srv->staff_ssl_ctx : srv->ssl_ctx;
            SSL_CTX_up_ref(sc); /* this loop's own reference, as for accept_ctx */
            t->staff_accept_ctx.ssl_ctx = sc;
            t->staff_ssl_gen = srv->ssl_gen;
            uv_tcp_init(&t->loop, &t->staff_listener);
            t->staff_listener.data = t;
        }
        if (i == 0 && srv->admin_fd >= 0) {
            t->admin_accept_ctx.ctx = &t->ctx;
            t->admin_accept_ctx.hosts = srv->admin_globalconf.hosts;
            uv_tcp_init(&t->loop, &t->admin_listener);
            t->admin_listener.data = t;
        }
        uv_async_init(&t->loop, &t->wake, on_wake);
        t->wake.data = t;
        t->ob = outbound_new(&t->loop);
        h2o_linklist_init_anchor(&t->lingering);
    }
    for (int i = 0; i < srv->nthreads; i++)
        if (pthread_create(&srv->threads[i].tid, NULL, thread_main, &srv->threads[i]) != 0)
            abort();
    pthread_barrier_wait(&srv->ready);
    int rc = 0;
    if (srv->init_failed) {
        fprintf(stderr, "binday serve: start-up failed (see log)\n");
        rc = 1;
    } else {
        log_info("server.ready", "version=%s", BINDAY_VERSION);
        uv_run(&srv->main_loop, UV_RUN_DEFAULT);
    }
    for (int i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i].tid, NULL);
    /* Let each loop finish closing what the hooks released; live client
     * connections stay referenced from the loops, so leak checking below only
     * reports memory that really was lost. */
    for (int i = 0; i < srv->nthreads; i++) {
        outbound_free(srv->threads[i].ob);
        srv->threads[i].ob = NULL;
        for (int k = 0; k < 8; k++)
            uv_run(&srv->threads[i].loop, UV_RUN_NOWAIT);
    }
    free(srv->listen_fds); /* the descriptors belonged to the threads' listeners */
    srv->listen_fds = NULL;
    free(srv->staff_fds);
    srv->staff_fds = NULL;
    metrics_remove_collector(collect_server, NULL);
    log_info("server.stopped", "rc=%d", rc);
#ifdef BINDAY_LSAN
    __lsan_do_leak_check();
#endif
    return rc;
}
