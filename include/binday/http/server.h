/* server.h - the HTTPS server: h2o on libuv, one event loop per thread, all
 * threads accepting on one listening socket.
 *
 * The caller (cmd_serve) supplies routes and per-thread hooks; the server owns
 * TLS, limits, timeouts, connection accounting, the access log, JSON error
 * bodies, and graceful shutdown on SIGTERM/SIGINT.
 */
#ifndef BINDAY_SERVER_H
#define BINDAY_SERVER_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/config/config.h"
#include "binday/http/outbound.h"

typedef struct server server_t;

/* One per event-loop thread. Handlers run on it; everything they start must
 * complete on its loop. */
typedef struct server_thread {
    h2o_context_t ctx; /* the Alexa listener's; server_thread_of finds the thread from either */
    uv_loop_t loop;
    int index;
    server_t *srv;
    outbound_t *ob; /* outbound HTTPS client of this thread */
    void *app;      /* the application's per-thread state (set by thread_init) */
    uint32_t req_seq;
    /* private */
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listener_open;
    uv_async_t wake;
    pthread_t tid;
    h2o_linklist_t lingering; /* connections being drained after an error answer */
    unsigned ssl_gen;         /* which reload's SSL_CTX accept_ctx holds (server.c, SIGHUP) */
    h2o_accept_ctx_t admin_accept_ctx; /* the admin listener (thread 0 only) */
    uv_tcp_t admin_listener;
    int admin_open;
    h2o_accept_ctx_t staff_accept_ctx; /* the staff console's listener (server_staff_t) */
    h2o_context_t staff_ctx;           /* its h2o context (its own limits) on this loop */
    uv_tcp_t staff_listener;
    int staff_listener_open;
    unsigned staff_ssl_gen; /* as ssl_gen, when the staff listener shares the server's certificate */
} server_thread_t;

/* A route handler. Must answer (now or later) through the helpers below or h2o's
 * own send functions, and return 0. */
typedef int (*server_handler_fn)(server_thread_t *t, h2o_req_t *req);

typedef struct server_route {
    const char *path;    /* exact path, or prefix when prefix != 0 */
    int prefix;
    const char *methods; /* e.g. "GET,HEAD" */
    server_handler_fn fn;
} server_route_t;

/* --- GET /readyz -------------------------------------------------------------
 * An object of named checks, each {"status": "ok"|"warning"|"error", ...}.
 * The answer is 503 when any check is an error, else 200 (warnings included). */
typedef enum { SERVER_READY_OK = 0, SERVER_READY_WARNING = 1, SERVER_READY_ERROR = 2 } server_ready_level_t;

/* Add check `name` to `checks`: {"status": level} plus the members of
 * `detail` (stolen; may be NULL). Details must never hold personal data. */
void server_ready_check(json_t *checks, const char *name, server_ready_level_t level, json_t *detail);

/* --- the staff console's listener (docs/staff-console.md) ---------------------
 * A second TLS listening socket per thread with its own TLS context (the
 * server's certificate unless tls_cert/tls_key are given; a SIGHUP reload
 * reaches it when shared) and its own h2o configuration and hostconf.
 * Connections accepted on it are matched only against `routes`; connections
 * on the Alexa listener never see these routes, and this listener never sees
 * the Alexa routes, /healthz or /readyz. */
typedef struct server_staff {
    const char *host; /* numeric address */
    uint16_t port;    /* 0 picks a free port */
    const char *port_file; /* NULL, or where to write the bound port */
    const char *tls_cert, *tls_key; /* NULL: the server's own */
    size_t max_body_bytes; /* request bodies (uploads) on this listener; 0 = the server's */
    const server_route_t *routes; /* matched in order; must stay valid while serving */
    size_t n_routes;
    /* Called once, before the routes' catch-all path "/" is registered on the
     * staff hostconf: the place to mount other h2o handlers on the staff
     * listener only (with h2o_config_register_path). May be NULL. */
    void (*mount)(h2o_hostconf_t *staff_host, void *ud);
    void *ud;
} server_staff_t;

typedef struct server_hooks {
    /* run on each thread before it serves; non-zero aborts start-up */
    int (*thread_init)(server_thread_t *t, void *ud);
    /* run on each thread after it stopped serving */
    void (*thread_fini)(server_thread_t *t, void *ud);
    /* extra members for GET /healthz (may be NULL); add to the given object */
    void (*health)(server_thread_t *t, json_t *obj, void *ud);
    /* the application's checks for GET /readyz (may be NULL): add them to
     * `checks` with server_ready_check; the server adds "server" (draining)
     * and "tls_certificate" itself */
    void (*ready)(server_thread_t *t, json_t *checks, void *ud);
    /* SIGHUP (may be NULL): parse the configuration again into `out` as at
     * start-up; 0 on success (the server then applies the reloadable keys,
     * reloads the certificate and key, and frees `out`), else an error text
     * in err and everything stays as it was. Runs on the main thread. */
    int (*reload_config)(config_t *out, char *err, size_t err_size, void *ud);
    void *ud;
    /* the staff console's listener; NULL (the default) = none */
    const server_staff_t *staff;
} server_hooks_t;

/* With conf->admin, a second listener on conf->admin_host:admin_port (plain
 * HTTP, served by thread 0) answers GET /metrics (metrics_http.h) and 404 to
 * anything else; the public listener never serves /metrics.
 *
 * SIGHUP reloads the TLS certificate and key (new handshakes get the new
 * ones; open connections keep theirs) and the configuration's reloadable keys
 * (config.h); a certificate that cannot be loaded, does not match its key or
 * has expired is refused and logged, and the old one stays.
 *
 * Run until SIGTERM/SIGINT, then drain and return 0 (or 1 if start-up failed,
 * with the reason logged). `routes` must stay valid while it runs. */
int server_run(const config_t *conf, const server_route_t *routes, size_t n_routes, const server_hooks_t *hooks);

/* The thread a request runs on (either listener). */
server_thread_t *server_thread_of(h2o_req_t *req);

/* This request's id (16 hex digits), also sent as the x-request-id header;
 * use it in log lines about the request. Valid for the request's lifetime. */
const char *server_request_id(h2o_req_t *req);

/* Answer with a body of the given content type (copied). */
void server_send(h2o_req_t *req, int status, const char *content_type, const void *body, size_t len);
/* Answer {"error": message} with the given status. */
void server_send_error(h2o_req_t *req, int status, const char *message);
/* Answer a JSON value (serialized compactly; the reference is borrowed). A
 * value that cannot be written (NULL, or text jansson refuses) is logged and
 * answered 500 with a fixed body. */
void server_send_json(h2o_req_t *req, int status, const json_t *value);

/* --- asynchronous handlers ---------------------------------------------------
 * A handler that waits on other work (a certificate download, an Alexa API
 * call) calls server_pending_begin. If the work is not done within the
 * configured handler timeout the server answers 503 and calls on_gone; if the
 * request is torn down (client gone) on_gone runs too. Either way, after
 * on_gone the handler must cancel its work and never touch req again. When the
 * work completes first, call server_pending_end(p) and then answer req. */
typedef struct server_pending server_pending_t;
server_pending_t *server_pending_begin(h2o_req_t *req, void (*on_gone)(void *ud), void *ud);
void server_pending_end(server_pending_t *p);


#endif
