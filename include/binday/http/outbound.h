/* outbound.h - the asynchronous outbound HTTPS client (HTTP/1.1 on h2o sockets, libuv).
 *
 * One outbound_t per event-loop thread; every call runs on that loop and never
 * blocks it. Kept-alive connections (with their TLS state) are pooled per thread
 * and host; the client TLS context and its trust anchors are shared between
 * threads. TLS verification is always on (trust anchors from --upstream-ca only,
 * or else the system's default paths; the host name is checked), redirects are
 * never followed, and every --connect-to rule applies to every connection, so
 * tests and deployments reach the same URLs. docs/server.md, "Outbound client".
 * The mailer's SMTP stays on libcurl: it gets the CA file and the rules as a
 * curl_slist from here.
 */
#ifndef BINDAY_OUTBOUND_H
#define BINDAY_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Process-wide settings, fixed before any thread starts. Strings are copied. */
typedef struct outbound_global_conf {
    const char *ca_file;           /* NULL = system bundle */
    const char *const *connect_to; /* "HOST:PORT:HOST2:PORT2" rules (curl syntax, all four
                                    * fields given); HOST2 is resolved at init */
    size_t n_connect_to;
    long max_host_connections;     /* per thread and host; 0 = OUTBOUND_MAX_HOST_CONNECTIONS */
} outbound_global_conf_t;

/* Connections one thread opens to one host at most. Calls beyond it wait
 * (within their own total timeout) for a connection to come free rather than
 * open another: a burst of a thousand concurrent calls no longer means a
 * thousand TLS handshakes at once, all racing the 1 s connect timeout (make
 * bench S3), nor a thousand connections' memory. 256 calls in flight per
 * thread and host is ~5,000 calls/s at Amazon's 50 ms. */
#define OUTBOUND_MAX_HOST_CONNECTIONS 256

/* Call once from the main thread before creating any outbound_t. Loads the trust
 * anchors (an unreadable or empty ca_file is an error here, not on every call)
 * and resolves the --connect-to targets (a malformed or unresolvable rule is an
 * error). Returns 0, or -1 with a message in err. */
int outbound_global_init(const outbound_global_conf_t *conf, char *err, size_t err_size);
void outbound_global_cleanup(void);
/* The curl_slist of --connect-to rules (owned by the module; NULL when none)
 * and the CA file (NULL = system), for other libcurl users such as the mailer. */
const void *outbound_connect_to_list(void);
const char *outbound_ca_file(void);

typedef enum {
    OUTBOUND_OK = 0,        /* a response arrived (any HTTP status) */
    OUTBOUND_E_TIMEOUT,     /* connect or total timeout */
    OUTBOUND_E_CONNECT,     /* DNS failure, refused, unreachable */
    OUTBOUND_E_TLS,         /* handshake failed or certificate not trusted */
    OUTBOUND_E_TOO_LARGE,   /* body exceeded max_bytes */
    OUTBOUND_E_CANCELLED,   /* never reported to a callback; for completeness */
    OUTBOUND_E_OTHER
} outbound_err_t;

const char *outbound_strerror(outbound_err_t e);

typedef struct outbound_req {
    const char *method;             /* "GET", "POST"...; GET sends no body */
    const char *url;                /* absolute https:// URL (host name or IPv4; no user info) */
    const char *const *headers;     /* "Name: value" lines, at most 64; CR/LF refused */
    size_t n_headers;
    const void *body;               /* request body (copied), may be NULL */
    size_t body_len;
    long connect_timeout_ms;        /* 0 = 1000 */
    long timeout_ms;                /* total, waiting for a connection included; 0 = 3000; max 300000 */
    size_t max_bytes;               /* response body cap; 0 = 64 KiB */
} outbound_req_t;

typedef struct outbound_res {
    outbound_err_t err;
    long status;            /* HTTP status when err == OUTBOUND_OK, else 0 */
    const uint8_t *body;    /* valid only during the callback; NUL-terminated */
    size_t body_len;
    const char *content_type; /* may be NULL; valid only during the callback */
    const char *errtext;    /* short description when err != OK (for E_TLS with OpenSSL's
                             * reason); never a token, URL or body; valid during the callback */
    uint64_t elapsed_us;
} outbound_res_t;

typedef void (*outbound_cb)(const outbound_res_t *res, void *ud);

typedef struct outbound outbound_t;
typedef struct outbound_call outbound_call_t;

/* Create the client for `loop` (runs on that loop's thread). NULL on OOM. */
outbound_t *outbound_new(uv_loop_t *loop);
/* Cancel every pending call (their callbacks are not called) and close the
 * libuv handles. The object is freed once the handles are closed, so keep
 * running the loop afterwards (uv_run until it returns). */
void outbound_free(outbound_t *ob);

/* Start a request. `cb` runs later on the loop (never from inside this call),
 * exactly once, unless the call is cancelled first. Returns NULL (and does not
 * call cb) on invalid input, or when 16 other hosts all have calls in progress. */
outbound_call_t *outbound_start(outbound_t *ob, const outbound_req_t *req, outbound_cb cb, void *ud);
/* Cancel a pending call in any phase (waiting for a connection, connecting, in
 * flight, answered but not yet delivered): its callback will not run and its
 * connection is closed. Safe only before the callback ran. */
void outbound_cancel(outbound_call_t *call);
/* The loop this client runs on. */
uv_loop_t *outbound_loop(const outbound_t *ob);
/* Number of calls in flight on this client. */
size_t outbound_pending(const outbound_t *ob);

/* Counters of one client, for tests and diagnostics: how well kept-alive
 * connections are reused, and how many calls wait for a connection. */
typedef struct outbound_stats {
    uint64_t calls;              /* calls started */
    uint64_t connections_opened; /* new connections made ready (TCP connected, TLS verified) */
    uint64_t connections_reused; /* call attempts served by a kept-alive connection from a pool */
    uint64_t retries;            /* attempts repeated because a reused connection died unanswered */
    uint64_t waited;             /* calls that had to wait for a free connection slot */
    uint64_t dns_lookups;        /* host name lookups started (--connect-to hosts need none) */
    size_t in_flight;            /* calls holding a connection slot now */
    size_t waiting;              /* calls waiting now (for a slot, or for the name lookup) */
    size_t hosts;                /* connection pools (host:port) now */
    size_t idle_connections;     /* kept-alive connections waiting in the pools now */
} outbound_stats_t;
void outbound_get_stats(const outbound_t *ob, outbound_stats_t *out);

#endif
