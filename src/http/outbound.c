/* outbound.c - owns outbound HTTPS: our own HTTP/1.1 client on h2o's sockets
 * (TCP + TLS) on each worker's libuv loop.
 *
 * Pattern: one outbound_t per loop thread; per (host, port) a list of idle,
 * kept-alive connections (live h2o_socket_t, TLS established) and a FIFO of
 * calls waiting for one of the host's max_host_connections slots. A call takes
 * the newest idle connection or opens one (h2o_socket_connect, then
 * h2o_socket_ssl_handshake), writes its whole request (request line, Host,
 * caller headers, Content-Length, body: one buffer) with h2o_socket_write and
 * reads the response from sock->input: http1resp_head for the head (1xx
 * skipped), then the body by Content-Length, chunked (http1resp_chunked_decode,
 * straight into the body buffer) or until the server closes, into a buffer bounded by max_bytes. One uv_timer
 * per call enforces the connect timeout (until the handshake is done), then
 * the total.
 *
 * Why not h2o_http1client + h2o_socketpool: h2o 2.2.5's libuv pool exports a
 * kept-alive socket when it is returned (dup + close of the fd) and imports it
 * again on reuse (a new uv handle: ioctl FIONBIO, epoll DEL/ADD), and probes
 * it with recv(MSG_PEEK) first: ~7 system calls per call for nothing. Here an
 * idle connection stays the same socket and keeps reading (on_idle_read): a
 * byte, EOF or an error while idle drops it from the list at once, so reuse
 * costs no system call at all. A connection goes back to the list only after
 * a clean response that allows it (no "Connection: close", HTTP/1.1 or 1.0
 * keep-alive, a framed body, nothing after the response).
 *
 * Process-wide: one client SSL_CTX (TLS >= 1.2, SSL_VERIFY_PEER, the trust
 * anchors loaded once); verify_cb checks the host name against the leaf
 * certificate; the server name (SNI) of every connection is the URL's host.
 *
 * Addresses: a --connect-to target is resolved at start; any other host is
 * resolved here with uv_getaddrinfo (libuv's thread pool, its result cached
 * per host for OUTBOUND_DNS_TTL_MS and refreshed in the background; a refused
 * connection moves on to the next address). docs/server.md, "Outbound client".
 *
 * Completions are delivered from a uv_check handle, never from inside an h2o
 * callback: a callback may cancel calls, start new ones (which find the
 * connection just released in the idle list) or free the client without h2o
 * being in the middle of one of our sockets' callbacks. Check handles run
 * right after the loop's poll, in the same iteration as the reads that
 * completed the calls; a uv_idle handle, active while results wait, keeps
 * the poll from blocking when a result is recorded elsewhere (a timer).
 * Why not deliver from the idle handle (before the poll)? The server's reply
 * a callback writes would then complete only after the next poll, so h2o
 * restarts reading the client's connection after the poll has already seen
 * (and libuv disarmed) its next request: an epoll_ctl DEL and an ADD for
 * every request (docs/performance.md).
 */
#include "binday/http/outbound.h"

#include <curl/curl.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <h2o.h>
#include <h2o/socket.h>

#include "binday/http/http1resp.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

#define OUTBOUND_DEFAULT_CONNECT_MS 1000L
#define OUTBOUND_DEFAULT_TIMEOUT_MS 3000L
#define OUTBOUND_DEFAULT_MAX_BYTES (64u * 1024u)
/* Pools (distinct host:port) per client. binday talks to the Alexa API regions
 * and the certificate host; an unused pool is dropped for a new host beyond this. */
#define OUTBOUND_MAX_HOSTS 16
/* How long a resolved address is used for new connections before it is looked
 * up again (in the background; calls keep using the old one meanwhile). */
#define OUTBOUND_DNS_TTL_MS 60000u
/* Calls kept for reuse (their timer handle and buffers) per client. */
#define OUTBOUND_IDLE_CALLS_MAX 64
/* A reused call keeps its buffers up to this size; bigger ones are freed. */
#define OUTBOUND_KEEP_BUF_CAP 8192u
#define OUTBOUND_MAX_TIMEOUT_MS (5L * 60L * 1000L)
/* A reused connection that dies before the first response byte is retried on
 * another; each failure consumes that connection, so this only bounds a pool
 * full of connections the server closed all at once. */
#define OUTBOUND_MAX_RETRIES 4
/* A kept-alive connection idle longer than this is closed rather than reused
 * (checked whenever its host's idle list is used): servers drop idle connections after a
 * while (curl's default limit is 118 s), and a fresh connection beats racing
 * the far side's idle close. */
#define OUTBOUND_IDLE_CONN_MS 50000u
#define OUTBOUND_MAX_HOST_LEN 253
/* Addresses kept from a lookup: a refused connection moves on to the next one
 * (an IPv6 address without IPv6 routing, one dead front end). */
#define OUTBOUND_MAX_ADDRS 4
#define OUTBOUND_MAX_CONTENT_TYPE 256
/* Idle connections kept per host beyond which the oldest is closed (the
 * connection cap bounds them already unless it is configured higher). */
#define OUTBOUND_MAX_IDLE_CONNS 256

/* ---- process-wide state ------------------------------------------------------ */

struct connect_rule {
    char *host; /* lower case */
    uint16_t port;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

static struct {
    int initialized;
    int curl_inited;
    char *ca_file;
    struct curl_slist *connect_to; /* the rules as given, for the mailer's libcurl */
    struct connect_rule *rules;
    size_t n_rules;
    SSL_CTX *ssl_ctx;
    long max_host_connections;
} G;

/* A --connect-to rule is HOST:PORT:HOST2:PORT2 (curl's syntax). We insist on four
 * non-empty fields (a bracketed IPv6 address counts as one) and no control
 * characters, so a typo is reported at start instead of silently connecting
 * somewhere unexpected. Splits into the four fields on success. */
static int split_rule(const char *s, char f[4][OUTBOUND_MAX_HOST_LEN + 3])
{
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        const char *start = p, *end;
        if (*p == '[' && (i == 0 || i == 2)) {
            end = strchr(p, ']');
            if (end == NULL)
                return 0;
            start = p + 1;
            p = end + 1;
        } else {
            p += strcspn(p, ":");
            end = p;
        }
        size_t n = (size_t)(end - start);
        if (n == 0 || n > OUTBOUND_MAX_HOST_LEN)
            return 0;
        for (const char *q = start; q < end; q++)
            if ((unsigned char)*q <= 0x20 || *q == 0x7f)
                return 0;
        memcpy(f[i], start, n);
        f[i][n] = 0;
        if (i < 3) {
            if (*p != ':')
                return 0;
            p++;
        } else if (*p != 0) {
            return 0;
        }
    }
    return 1;
}

static int parse_port(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != 0 || v < 1 || v > 65535 || s[0] == '+' || s[0] == '-')
        return 0;
    *out = (uint16_t)v;
    return 1;
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int add_rule(const char *s, char *err, size_t err_size)
{
    char f[4][OUTBOUND_MAX_HOST_LEN + 3];
    struct connect_rule r = {0};
    if (!split_rule(s, f) || !parse_port(f[1], &r.port)) {
        snprintf(err, err_size, "--connect-to '%.200s': want HOST:PORT:HOST2:PORT2", s);
        return -1;
    }
    uint16_t port2;
    if (!parse_port(f[3], &port2)) {
        snprintf(err, err_size, "--connect-to '%.200s': want HOST:PORT:HOST2:PORT2", s);
        return -1;
    }
    /* resolved now, at configuration time: a rule names a fixed target */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    int rc = getaddrinfo(f[2], f[3], &hints, &res);
    if (rc != 0) {
        snprintf(err, err_size, "--connect-to '%.200s': cannot resolve '%.100s': %s", s, f[2], gai_strerror(rc));
        return -1;
    }
    memcpy(&r.addr, res->ai_addr, res->ai_addrlen);
    r.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    lower(f[0]);
    r.host = xstrdup(f[0]);
    G.rules = xrealloc(G.rules, (G.n_rules + 1) * sizeof(*G.rules));
    G.rules[G.n_rules++] = r;
    struct curl_slist *l = curl_slist_append(G.connect_to, s);
    if (l == NULL)
        xalloc_die("curl_slist_append", strlen(s)); /* copies s: fails only without memory */
    G.connect_to = l;
    return 0;
}

static const struct connect_rule *find_rule(const char *host, uint16_t port)
{
    for (size_t i = 0; i < G.n_rules; i++)
        if (G.rules[i].port == port && strcmp(G.rules[i].host, host) == 0)
            return &G.rules[i];
    return NULL;
}

/* The certificate names the host we asked for (SNI, which h2o_socket_ssl_handshake
 * sets to the URL's host on every connection). h2o 2.2.5 checks the name itself only when
 * the handshake ends with nothing left to send, which is never the case in
 * TLS 1.3 (the client's Finished goes last): a certificate for another name
 * was accepted (tests/unit/test_outbound_reuse.c). So the check is ours, in
 * OpenSSL's verification of the leaf, and a mismatch fails the handshake. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
    if (!preverify_ok || X509_STORE_CTX_get_error_depth(xs) != 0)
        return preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    const char *name = ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    if (name == NULL || cert == NULL) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
        return 0;
    }
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    int match = is_ip ? X509_check_ip_asc(cert, name, 0) == 1
                      : X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    if (!match) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
        return 0;
    }
    return 1;
}

/* The client TLS context, shared by every thread (OpenSSL makes SSL_new from one
 * context thread-safe). Trust: exactly the certificates of --upstream-ca when
 * given, else OpenSSL's system default paths (Debian: /etc/ssl/certs). Flags as
 * before with libcurl's stores (trusted-first; an intermediate in the store
 * accepted as anchor). */
static SSL_CTX *build_ssl_ctx(const char *ca_file, char *err, size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        xalloc_die("SSL_CTX_new", 0); /* OpenSSL fails it only without memory */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* SSL_VERIFY_PEER: a failed verification (verify_cb's name check
     * included) fails the handshake */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    /* Buffers released between records: keeping them (no 16 KB malloc/free per
     * record) cost S3 ~20 MB of peak RSS at 1,000 upstream connections, for a
     * CPU gain this VM could not tell from noise (docs/performance.md). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* No close_notify when we close: h2o 2.2.5 writes it with uv_write and
     * ignores uv_write's result; after a read error (a server that reset the
     * connection) libuv refuses the write at once, no callback runs, and the
     * socket was never closed nor freed (test_outbound_reuse). Responses are
     * framed, so nothing relies on the alert. */
    SSL_CTX_set_quiet_shutdown(ctx, 1);
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    if (ca_file != NULL) {
        if (!X509_STORE_load_file(st, ca_file)) {
            const char *why = ERR_reason_error_string(ERR_peek_last_error());
            snprintf(err, err_size, "cannot load CA certificates from '%.200s': %s", ca_file,
                     why ? why : "no certificate found");
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (!SSL_CTX_set_default_verify_paths(ctx)) {
        /* every TLS connection will fail verification until the system
         * bundle is installed; the service itself can still start */
        log_warn("outbound.ca", "system_bundle=missing");
    }
    ERR_clear_error();
    X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
    return ctx;
}

int outbound_global_init(const outbound_global_conf_t *conf, char *err, size_t err_size)
{
    if (G.initialized) {
        snprintf(err, err_size, "outbound client initialized twice");
        return -1;
    }
    /* the mailer stays on libcurl (SMTP) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "curl_global_init failed");
        return -1;
    }
    G.curl_inited = 1;
    if (conf != NULL) {
        if (conf->ca_file != NULL)
            G.ca_file = xstrdup(conf->ca_file);
        for (size_t i = 0; i < conf->n_connect_to; i++) {
            if (add_rule(conf->connect_to[i], err, err_size) != 0) {
                outbound_global_cleanup();
                return -1;
            }
        }
    }
    G.ssl_ctx = build_ssl_ctx(G.ca_file, err, err_size);
    if (G.ssl_ctx == NULL) {
        outbound_global_cleanup();
        return -1;
    }
    G.max_host_connections =
        conf != NULL && conf->max_host_connections > 0 ? conf->max_host_connections : OUTBOUND_MAX_HOST_CONNECTIONS;
    G.initialized = 1;
    return 0;
}

void outbound_global_cleanup(void)
{
    curl_slist_free_all(G.connect_to);
    for (size_t i = 0; i < G.n_rules; i++)
        free(G.rules[i].host);
    free(G.rules);
    free(G.ca_file);
    SSL_CTX_free(G.ssl_ctx);
    if (G.curl_inited)
        curl_global_cleanup();
    memset(&G, 0, sizeof(G));
}

const void *outbound_connect_to_list(void)
{
    return G.connect_to;
}

const char *outbound_ca_file(void)
{
    return G.ca_file;
}

const char *outbound_strerror(outbound_err_t e)
{
    switch (e) {
    case OUTBOUND_OK:
        return "ok";
    case OUTBOUND_E_TIMEOUT:
        return "timeout";
    case OUTBOUND_E_CONNECT:
        return "connect_failed";
    case OUTBOUND_E_TLS:
        return "tls_failed";
    case OUTBOUND_E_TOO_LARGE:
        return "response_too_large";
    case OUTBOUND_E_CANCELLED:
        return "cancelled";
    case OUTBOUND_E_OTHER:
        break;
    }
    return "transfer_failed";
}

/* ---- per-loop client ------------------------------------------------------------ */

enum call_state {
    CALL_IDLE,       /* in the free list */
    CALL_WAITING,    /* in its host's FIFO: no slot free, or the name not resolved yet */
    CALL_CONNECTING, /* holds a slot; its new connection is connecting (TCP, then TLS) */
    CALL_IN_FLIGHT,  /* holds a slot and a ready connection; request sent, response being read */
    CALL_DONE        /* result recorded, in the delivery list */
};

enum body_mode {
    BODY_NONE,    /* HEAD, 204, 304, Content-Length: 0 */
    BODY_LENGTH,  /* Content-Length */
    BODY_CHUNKED, /* Transfer-Encoding: chunked */
    BODY_EOF      /* neither: the body ends when the server closes */
};

struct host;
struct resolve;
struct conn;

struct outbound_call {
    uv_timer_t timer; /* first member: the close callback frees through it */
    outbound_t *ob;
    struct host *host;
    enum call_state state;
    struct conn *conn; /* while CONNECTING / IN_FLIGHT */
    outbound_cb cb;
    void *ud;
    /* the request, built once */
    char *req;
    size_t req_len, req_cap;
    int is_head, idempotent;
    /* the response */
    uint8_t *body;
    size_t body_len, body_cap, max;
    long status;
    char content_type[OUTBOUND_MAX_CONTENT_TYPE];
    int has_content_type;
    int head_done;  /* the final (non-1xx) response head is parsed and consumed */
    int got_bytes;  /* a byte of response arrived on this attempt's connection */
    int keep_alive; /* the response lets the connection be used again */
    enum body_mode body_mode;
    size_t body_left; /* BODY_LENGTH: bytes still to come */
    http1resp_chunked_t chunked; /* BODY_CHUNKED */
    outbound_err_t err;
    const char *errtext;
    char errbuf[128]; /* errtext when it carries OpenSSL's reason */
    /* connection attempt */
    int reused;     /* this attempt got a kept-alive connection */
    int retries;
    int addr_tries; /* addresses tried after the first for this call */
    uint64_t started_ms, deadline_ms, connect_timeout_ms;
    uint64_t timer_due_ms; /* when the timer, if active, fires (loop time) */
    uint64_t started_ns;
    h2o_linklist_t link;     /* host FIFO, delivery list or free list */
    h2o_linklist_t all_link; /* every live call of the client */
};

/* One live connection (TCP + TLS), h2o's socket kept as it is between calls:
 * either used by exactly one call, or in its host's idle list. sock->data
 * points here. Freed when the socket is handed to h2o_socket_close, after
 * which h2o calls none of our callbacks (it clears the write callback and its
 * TLS shutdown uses callbacks of its own). */
struct conn {
    h2o_socket_t *sock;
    struct host *host;
    struct outbound_call *call;     /* NULL while idle */
    h2o_linklist_t link;            /* the host's idle list (newest first) */
    uint64_t idle_since_ms;
};

struct resolve {
    uv_getaddrinfo_t req;
    outbound_t *ob;
    struct host *host; /* NULL once the host is gone (the client is closing) */
};

struct host {
    int used;
    outbound_t *ob;
    char name[OUTBOUND_MAX_HOST_LEN + 3];
    uint16_t port;
    int fixed;      /* a --connect-to target: the address never changes */
    int has_addr;   /* addrs[addr_idx] is a usable address */
    uint64_t resolved_ms;
    struct sockaddr_storage addrs[OUTBOUND_MAX_ADDRS];
    socklen_t addrlens[OUTBOUND_MAX_ADDRS];
    size_t n_addrs, addr_idx;
    struct resolve *resolving;
    h2o_linklist_t idle; /* kept-alive connections (struct conn), newest first */
    size_t n_idle;
    size_t active; /* calls holding a slot (CONNECTING / IN_FLIGHT) */
    h2o_linklist_t waiting; /* calls waiting for a slot, FIFO */
    size_t n_waiting;
    uint64_t last_used_ms;
};

struct outbound {
    uv_loop_t *loop;
    uv_check_t deliver;     /* runs the deliveries, after the poll */
    uv_idle_t deliver_soon; /* keeps the poll from blocking while deliveries wait */
    int deliver_active;
    struct host hosts[OUTBOUND_MAX_HOSTS];
    h2o_linklist_t all;              /* every call not in the free list */
    h2o_linklist_t done;             /* calls to deliver, in order */
    h2o_linklist_t free_calls;       /* kept for reuse */
    size_t n_idle;
    size_t pending;                  /* calls started and not yet delivered or cancelled */
    outbound_stats_t stats;
    int open_handles;                /* libuv handles and requests not yet closed or completed */
    int closing;
};

static void maybe_free(outbound_t *ob)
{
    if (ob->closing && ob->open_handles == 0)
        free(ob);
}

static void on_handle_closed(uv_handle_t *h)
{
    outbound_t *ob = h->data;
    ob->open_handles--;
    maybe_free(ob);
}

static void on_call_closed(uv_handle_t *h)
{
    struct outbound_call *c = (struct outbound_call *)h;
    outbound_t *ob = c->ob;
    free(c->req);
    free(c->body);
    free(c);
    ob->open_handles--;
    maybe_free(ob);
}

static uint64_t now_ms(const outbound_t *ob)
{
    return uv_now(ob->loop);
}

/* ---- call lists ----------------------------------------------------------------- */

/* The lists are h2o's intrusive doubly-linked lists (h2o/linklist.h). */
#define CALL_OF(node, member) H2O_STRUCT_FROM_MEMBER(struct outbound_call, member, node)
#define CONN_OF(node) H2O_STRUCT_FROM_MEMBER(struct conn, link, node)

static void wait_push(struct host *h, struct outbound_call *c)
{
    h2o_linklist_insert(&h->waiting, &c->link);
    h->n_waiting++;
}

static void wait_remove(struct host *h, struct outbound_call *c)
{
    h2o_linklist_unlink(&c->link);
    h->n_waiting--;
}

/* A call whose life on the client is over (delivered, cancelled): to the free
 * list, or closed (its timer handle) when the list is full or the client closes. */
static void recycle_call(struct outbound_call *c)
{
    outbound_t *ob = c->ob;
    uv_timer_stop(&c->timer);
    c->state = CALL_IDLE;
    c->host = NULL;
    c->conn = NULL;
    c->cb = NULL;
    c->ud = NULL;
    if (ob->closing || ob->n_idle >= OUTBOUND_IDLE_CALLS_MAX) {
        uv_close((uv_handle_t *)&c->timer, on_call_closed);
        return;
    }
    if (c->req_cap > OUTBOUND_KEEP_BUF_CAP) {
        free(c->req);
        c->req = NULL;
        c->req_cap = 0;
    }
    if (c->body_cap > OUTBOUND_KEEP_BUF_CAP) {
        free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    h2o_linklist_insert(&ob->free_calls, &c->link);
    ob->n_idle++;
}

/* ---- connections ---------------------------------------------------------------- */

/* Close a connection no call and no idle list refers to any more. h2o sends
 * TLS close_notify (when it can) and frees the socket from libuv's close
 * callback; nothing of ours is touched after this. */
static void conn_close(struct conn *k)
{
    k->sock->data = NULL;
    h2o_socket_close(k->sock);
    free(k);
}

static void idle_remove(struct host *h, struct conn *k)
{
    h2o_linklist_unlink(&k->link);
    h->n_idle--;
}

/* The oldest idle connection (the list's tail), or NULL. */
static struct conn *idle_oldest(struct host *h)
{
    return h2o_linklist_is_empty(&h->idle) ? NULL : CONN_OF(h->idle.prev);
}

/* Close the idle connections older than OUTBOUND_IDLE_CONN_MS: the oldest
 * are at the tail. Cheap: called whenever a connection is taken or returned. */
static void idle_sweep(struct host *h, uint64_t now)
{
    struct conn *k;
    while ((k = idle_oldest(h)) != NULL && now - k->idle_since_ms >= OUTBOUND_IDLE_CONN_MS) {
        idle_remove(h, k);
        conn_close(k);
    }
}

/* A byte (or EOF, or an error) on a connection nobody asked anything: the
 * server closed it (its idle timeout, a shutdown) or broke the protocol. It
 * can never carry a clean response again, so it leaves the list at once; the
 * next call never finds it. This read callback replaces h2o's MSG_PEEK probe
 * on every reuse. A callback with no error and no decrypted byte is TLS
 * traffic only (a TLS 1.3 session ticket after the handshake): harmless. */
static void on_idle_read(h2o_socket_t *sock, const char *err)
{
    struct conn *k = sock->data;
    if (k == NULL || (err == NULL && sock->input->size == 0))
        return;
    idle_remove(k->host, k);
    conn_close(k);
}

/* A connection whose response completed cleanly: newest first (LIFO, so the
 * warmest connections are used and the surplus ages out at the tail). It
 * keeps reading, with on_idle_read. */
static void idle_push(struct host *h, struct conn *k)
{
    uint64_t now = now_ms(h->ob);
    k->call = NULL;
    k->idle_since_ms = now;
    h2o_linklist_insert(h->idle.next, &k->link); /* at the head */
    h->n_idle++;
    /* Already reading: this only swaps the callback. h2o 2.2.5's
     * h2o_socket_read_start sets sock->_cb.read and calls uv_read_start,
     * ignoring its result; libuv >= 1.41 (Debian 12: 1.44) returns UV_EALREADY
     * for a stream that is already reading and changes nothing, and h2o's
     * libuv read callback (on_read_ssl) calls whatever sock->_cb.read is now. */
    h2o_socket_read_start(k->sock, on_idle_read);
    idle_sweep(h, now);
    while (h->n_idle > OUTBOUND_MAX_IDLE_CONNS) {
        struct conn *old = idle_oldest(h);
        idle_remove(h, old);
        conn_close(old);
    }
}

/* The newest idle connection young enough to use, or NULL. */
static struct conn *idle_take(struct host *h)
{
    idle_sweep(h, now_ms(h->ob));
    if (h2o_linklist_is_empty(&h->idle))
        return NULL;
    struct conn *k = CONN_OF(h->idle.next);
    idle_remove(h, k);
    return k;
}

/* ---- hosts ---------------------------------------------------------------------- */

static void host_dispose(struct host *h)
{
    if (h->resolving != NULL) {
        h->resolving->host = NULL;
        uv_cancel((uv_req_t *)&h->resolving->req);
        h->resolving = NULL;
    }
    while (!h2o_linklist_is_empty(&h->idle)) {
        struct conn *k = CONN_OF(h->idle.next);
        idle_remove(h, k);
        conn_close(k);
    }
    memset(h, 0, sizeof(*h));
}

static void start_connect(struct outbound_call *c);
static void finish(struct outbound_call *c, outbound_err_t err, const char *errtext);

/* Start waiting calls while the host has a free slot and an address. */
static void pump(struct host *h)
{
    while (h->has_addr && !h2o_linklist_is_empty(&h->waiting) && h->active < (size_t)G.max_host_connections) {
        struct outbound_call *c = CALL_OF(h->waiting.next, link);
        wait_remove(h, c);
        start_connect(c);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = (struct resolve *)req;
    outbound_t *ob = r->ob;
    struct host *h = r->host;
    if (h != NULL) {
        h->resolving = NULL;
        size_t n = 0;
        struct sockaddr_storage addrs[OUTBOUND_MAX_ADDRS];
        socklen_t lens[OUTBOUND_MAX_ADDRS];
        for (const struct addrinfo *ai = status == 0 ? res : NULL; ai != NULL && n < OUTBOUND_MAX_ADDRS; ai = ai->ai_next) {
            if (ai->ai_addrlen > sizeof(addrs[0]))
                continue;
            memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
            lens[n++] = ai->ai_addrlen;
        }
        if (n > 0) {
            /* new connections use the new addresses; kept-alive ones stay */
            memcpy(h->addrs, addrs, sizeof(addrs[0]) * n);
            memcpy(h->addrlens, lens, sizeof(lens[0]) * n);
            h->n_addrs = n;
            h->addr_idx = 0;
            h->has_addr = 1;
            h->resolved_ms = now_ms(ob);
            pump(h);
        } else if (!h->has_addr) {
            /* the calls waiting for this name fail; the next call tries again */
            while (!h2o_linklist_is_empty(&h->waiting)) {
                struct outbound_call *c = CALL_OF(h->waiting.next, link);
                wait_remove(h, c);
                finish(c, OUTBOUND_E_CONNECT, "host name lookup failed");
            }
        }
        /* a failed refresh keeps the old address */
    }
    if (res != NULL)
        uv_freeaddrinfo(res);
    free(r);
    ob->open_handles--;
    maybe_free(ob);
}

static int start_resolve(outbound_t *ob, struct host *h)
{
    struct resolve *r = xcalloc(1, sizeof(*r));
    r->ob = ob;
    r->host = h;
    char serv[8];
    snprintf(serv, sizeof(serv), "%u", (unsigned)h->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
                             .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV};
    if (uv_getaddrinfo(ob->loop, &r->req, on_resolved, h->name, serv, &hints) != 0) {
        free(r);
        return -1;
    }
    ob->open_handles++;
    ob->stats.dns_lookups++;
    h->resolving = r;
    return 0;
}

static void host_init(outbound_t *ob, struct host *h, const char *name, uint16_t port)
{
    memset(h, 0, sizeof(*h));
    const struct connect_rule *rule = find_rule(name, port);
    if (rule != NULL) {
        memcpy(&h->addrs[0], &rule->addr, rule->addrlen);
        h->addrlens[0] = rule->addrlen;
        h->n_addrs = 1;
    }
    h->ob = ob;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->port = port;
    h->fixed = rule != NULL;
    h->has_addr = rule != NULL;
    h2o_linklist_init_anchor(&h->idle);
    h2o_linklist_init_anchor(&h->waiting);
    h->used = 1;
}

/* The host entry for name:port, made if needed (evicting the least recently
 * used host with nothing in progress when all are taken). NULL if all are busy. */
static struct host *get_host(outbound_t *ob, const char *name, uint16_t port)
{
    struct host *free_slot = NULL, *lru = NULL;
    for (size_t i = 0; i < OUTBOUND_MAX_HOSTS; i++) {
        struct host *h = &ob->hosts[i];
        if (!h->used) {
            if (free_slot == NULL)
                free_slot = h;
            continue;
        }
        if (h->port == port && strcmp(h->name, name) == 0)
            return h;
        if (h->active == 0 && h->n_waiting == 0 && h->resolving == NULL &&
            (lru == NULL || h->last_used_ms < lru->last_used_ms))
            lru = h;
    }
    if (free_slot == NULL && lru != NULL) {
        host_dispose(lru);
        free_slot = lru;
    }
    if (free_slot == NULL)
        return NULL;
    host_init(ob, free_slot, name, port);
    return free_slot;
}

/* ---- the state machine ------------------------------------------------------------ */

static void on_deliver(uv_check_t *check);

static void on_deliver_soon(uv_idle_t *idle)
{
    (void)idle; /* its being active is the point: the poll does not block */
}

static void deliver_start(outbound_t *ob)
{
    if (!ob->deliver_active) {
        uv_check_start(&ob->deliver, on_deliver);
        uv_idle_start(&ob->deliver_soon, on_deliver_soon);
        ob->deliver_active = 1;
    }
}

/* Record the result; the callback runs from the delivery handle (see the top). The
 * call must not be in a host FIFO and must hold no connection any more. */
static void finish(struct outbound_call *c, outbound_err_t err, const char *errtext)
{
    outbound_t *ob = c->ob;
    uv_timer_stop(&c->timer);
    c->conn = NULL;
    c->err = err;
    c->errtext = errtext;
    if (c->state == CALL_CONNECTING || c->state == CALL_IN_FLIGHT)
        c->host->active--; /* the slot is freed now; waiters start at delivery */
    c->state = CALL_DONE;
    h2o_linklist_insert(&ob->done, &c->link);
    deliver_start(ob);
}

/* Close the call's connection (not reusable) and record the result. */
static void fail(struct outbound_call *c, outbound_err_t err, const char *errtext)
{
    if (c->conn != NULL) {
        conn_close(c->conn);
        c->conn = NULL;
    }
    finish(c, err, errtext);
}

static void on_deliver(uv_check_t *check)
{
    outbound_t *ob = check->data;
    /* Start the calls that waited for the slots freed since the last round
     * first (FIFO, and the connections are back in the idle lists), then run
     * the callbacks. A callback may start, cancel or free anything. */
    for (size_t i = 0; i < OUTBOUND_MAX_HOSTS; i++)
        if (ob->hosts[i].used && !h2o_linklist_is_empty(&ob->hosts[i].waiting))
            pump(&ob->hosts[i]);
    while (!h2o_linklist_is_empty(&ob->done) && !ob->closing) {
        struct outbound_call *c = CALL_OF(ob->done.next, link);
        h2o_linklist_unlink(&c->link);
        outbound_res_t res = {.err = c->err,
                              .status = c->err == OUTBOUND_OK ? c->status : 0,
                              .content_type = c->err == OUTBOUND_OK && c->has_content_type ? c->content_type : NULL,
                              .errtext = c->err == OUTBOUND_OK ? NULL : c->errtext,
                              .elapsed_us = (uv_hrtime() - c->started_ns) / 1000};
        static const uint8_t empty[1] = {0};
        if (c->err == OUTBOUND_OK && c->body != NULL) {
            c->body[c->body_len] = 0;
            res.body = c->body;
            res.body_len = c->body_len;
        } else {
            res.body = empty;
        }
        ob->pending--;
        /* off every list first: the callback may free the client, which must
         * then not see this call (it is recycled right after) */
        h2o_linklist_unlink(&c->all_link);
        c->state = CALL_IDLE;
        c->cb(&res, c->ud);
        recycle_call(c);
        if (h2o_linklist_is_empty(&ob->done) && !ob->closing) {
            /* slots the callbacks freed (cancels) go to waiting calls now:
             * this handle stops below and would not run for them */
            for (size_t i = 0; i < OUTBOUND_MAX_HOSTS; i++)
                if (ob->hosts[i].used && !h2o_linklist_is_empty(&ob->hosts[i].waiting))
                    pump(&ob->hosts[i]);
        }
    }
    if (h2o_linklist_is_empty(&ob->done) && ob->deliver_active && !ob->closing) {
        uv_check_stop(&ob->deliver);
        uv_idle_stop(&ob->deliver_soon);
        ob->deliver_active = 0;
    }
}

static void on_timer(uv_timer_t *t)
{
    struct outbound_call *c = (struct outbound_call *)t;
    switch (c->state) {
    case CALL_WAITING:
        wait_remove(c->host, c);
        finish(c, OUTBOUND_E_TIMEOUT, c->host->has_addr ? "timed out waiting for a connection"
                                                        : "timed out resolving the host name");
        return;
    case CALL_CONNECTING:
        fail(c, OUTBOUND_E_TIMEOUT, "connect timed out");
        return;
    case CALL_IN_FLIGHT:
        fail(c, OUTBOUND_E_TIMEOUT, "timed out");
        return;
    case CALL_IDLE:
    case CALL_DONE:
        break;
    }
}

/* The timer: the nearer of the connect deadline (while connecting) and the
 * total. Left alone when it is set for that time already (a call that waited
 * for a slot and then got a kept-alive connection): restarting an active
 * timer is a removal and an insertion in libuv's timer heap, which at 1,000
 * concurrent conversations holds thousands of timers in cold memory
 * (docs/performance.md, "Cost under concurrency"). */
static void arm_timer(struct outbound_call *c)
{
    uint64_t now = now_ms(c->ob), due = c->deadline_ms;
    if (c->state == CALL_CONNECTING && now + c->connect_timeout_ms < due)
        due = now + c->connect_timeout_ms;
    if (uv_is_active((uv_handle_t *)&c->timer) && c->timer_due_ms == due)
        return;
    c->timer_due_ms = due;
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_read(h2o_socket_t *sock, const char *err);

/* Either way nothing is expected back: a failed write shows up on the read
 * side too (EOF or reset), except when the connection sits idle. */
static void on_written(h2o_socket_t *sock, const char *err)
{
    struct conn *k = sock->data;
    if (err == NULL || k == NULL)
        return;
    if (k->call == NULL) {
        idle_remove(k->host, k);
        conn_close(k);
        return;
    }
    /* before the response: fails (or is retried) as a read error would;
     * once a head is in, the read side reports how the connection ended */
    if (!k->call->head_done)
        on_read(sock, err);
}

/* The connection is ready (new, or taken from the idle list): send the whole
 * request and read the answer. */
static void send_request(struct outbound_call *c)
{
    struct conn *k = c->conn;
    c->state = CALL_IN_FLIGHT;
    arm_timer(c);
    c->head_done = 0;
    c->got_bytes = 0;
    c->keep_alive = 0;
    c->body_mode = BODY_NONE;
    c->body_left = 0;
    c->body_len = 0;
    c->status = 0;
    c->has_content_type = 0;
    /* h2o encrypts into buffers of its own (SSL_write), so c->req may change
     * once this returns */
    h2o_iovec_t vec = h2o_iovec_init(c->req, c->req_len);
    h2o_socket_write(k->sock, &vec, 1, on_written);
    /* a kept-alive connection is reading already: see idle_push */
    h2o_socket_read_start(k->sock, on_read);
}

static void try_next_address(struct outbound_call *c);

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct conn *k = sock->data;
    struct outbound_call *c = k->call;
    if (err != NULL) {
        /* OpenSSL's verification result ("certificate has expired", "hostname
         * mismatch", ...) or a handshake failure */
        snprintf(c->errbuf, sizeof(c->errbuf), "TLS handshake failed: %.100s", err);
        fail(c, OUTBOUND_E_TLS, c->errbuf);
        return;
    }
    c->ob->stats.connections_opened++;
    send_request(c);
}

static void on_connected(h2o_socket_t *sock, const char *err)
{
    struct conn *k = sock->data;
    struct outbound_call *c = k->call;
    if (err != NULL) {
        conn_close(k);
        c->conn = NULL;
        try_next_address(c);
        return;
    }
    /* the server name: SNI, and what verify_cb checks the certificate against */
    h2o_socket_ssl_handshake(sock, G.ssl_ctx, c->host->name, on_handshake);
}

/* A new connection to the host's current address (the connect timeout runs
 * until the TLS handshake is done). */
static void open_conn(struct outbound_call *c)
{
    struct host *h = c->host;
    c->state = CALL_CONNECTING;
    arm_timer(c);
    h2o_socket_t *sock = h2o_socket_connect(c->ob->loop, (struct sockaddr *)&h->addrs[h->addr_idx],
                                            h->addrlens[h->addr_idx], on_connected);
    if (sock == NULL) { /* refused at once (no route, no such family) */
        try_next_address(c);
        return;
    }
    struct conn *k = xcalloc(1, sizeof(*k));
    k->sock = sock;
    k->host = h;
    k->call = c;
    sock->data = k;
    c->conn = k;
}

/* TCP connect failed: the next address of the name, for this call and the
 * ones after, or the error. */
static void try_next_address(struct outbound_call *c)
{
    struct host *h = c->host;
    if (!h->fixed && h->n_addrs > 1 && (size_t)c->addr_tries + 1 < h->n_addrs) {
        c->addr_tries++;
        h->addr_idx = (h->addr_idx + 1) % h->n_addrs;
        open_conn(c);
        return;
    }
    finish(c, OUTBOUND_E_CONNECT, "connection failed");
}

static void start_connect(struct outbound_call *c)
{
    struct host *h = c->host;
    h->active++;
    h->last_used_ms = now_ms(c->ob);
    c->reused = 0;
    struct conn *k = idle_take(h);
    if (k != NULL) {
        c->reused = 1;
        c->ob->stats.connections_reused++;
        k->call = c;
        c->conn = k;
        send_request(c);
        return;
    }
    open_conn(c);
}

/* The connection failed before the response was complete. A kept-alive
 * connection that failed before any response byte was most likely closed by
 * the server while our request was on its way (its idle close raced us):
 * an idempotent request is sent again, on another connection. */
static void fail_in_flight(struct outbound_call *c, const char *errtext)
{
    if (!c->got_bytes && c->reused && c->idempotent && c->retries < OUTBOUND_MAX_RETRIES) {
        conn_close(c->conn);
        c->conn = NULL;
        c->retries++;
        c->ob->stats.retries++;
        c->host->active--; /* start_connect takes the slot again */
        start_connect(c);
        return;
    }
    fail(c, OUTBOUND_E_OTHER, errtext);
}

/* Room in the body buffer for n more bytes (and the NUL delivery adds);
 * the caller has checked n against the cap. */
static void body_reserve(struct outbound_call *c, size_t n)
{
    if (c->body_len + n + 1 <= c->body_cap)
        return;
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while (cap < c->body_len + n + 1)
        cap *= 2;
    if (cap > c->max + 1)
        cap = c->max + 1;
    c->body = xrealloc(c->body, cap);
    c->body_cap = cap;
}

/* Append to the body; -1 past the cap. */
static int body_append(struct outbound_call *c, const void *p, size_t n)
{
    if (n > c->max - c->body_len)
        return -1;
    body_reserve(c, n);
    if (n != 0)
        memcpy(c->body + c->body_len, p, n);
    c->body_len += n;
    return 0;
}

/* The response is complete: the connection goes to the idle list when the
 * response allows it and nothing but the response arrived, else it closes. */
static void complete(struct outbound_call *c, const char *err)
{
    struct conn *k = c->conn;
    h2o_socket_t *sock = k->sock;
    c->conn = NULL;
    /* Still writing: the request's write callback is pending (libuv reports
     * completion on the next loop iteration) and h2o allows one write at a
     * time, so such a connection is not handed to the next call. A server
     * answering before that iteration is rare: it costs a connection. */
    if (err == NULL && c->keep_alive && sock->input->size == 0 && !h2o_socket_is_writing(sock))
        idle_push(c->host, k);
    else
        conn_close(k);
    finish(c, OUTBOUND_OK, NULL);
}

/* Response bytes (or the end of the connection) for the call on this
 * connection: the head (1xx heads skipped), then the body as framed. Consumes
 * exactly the response's bytes from sock->input. */
static void on_read(h2o_socket_t *sock, const char *err)
{
    struct conn *k = sock->data;
    if (k == NULL)
        return;
    struct outbound_call *c = k->call;
    if (sock->input->size != 0)
        c->got_bytes = 1;
    if (!c->head_done && sock->input->size != 0) {
        http1resp_head_t hd;
        long rc = http1resp_head((const uint8_t *)sock->input->bytes, sock->input->size, c->is_head, &hd);
        if (rc < 0) {
            fail(c, OUTBOUND_E_OTHER, "malformed response");
            return;
        }
        if (rc > 0) {
            c->status = hd.status;
            if (hd.content_type != NULL) {
                size_t m = hd.content_type_len < sizeof(c->content_type) - 1 ? hd.content_type_len
                                                                             : sizeof(c->content_type) - 1;
                memcpy(c->content_type, hd.content_type, m);
                c->content_type[m] = 0;
                c->has_content_type = 1;
            }
            if (hd.body == HTTP1RESP_BODY_LENGTH && hd.content_length > c->max) {
                /* refused before reading a byte of it */
                fail(c, OUTBOUND_E_TOO_LARGE, "response body over the size limit");
                return;
            }
            c->body_mode = hd.body == HTTP1RESP_BODY_LENGTH    ? BODY_LENGTH
                           : hd.body == HTTP1RESP_BODY_CHUNKED ? BODY_CHUNKED
                           : hd.body == HTTP1RESP_BODY_EOF     ? BODY_EOF
                                                               : BODY_NONE;
            c->body_left = (size_t)hd.content_length;
            if (c->body_mode == BODY_CHUNKED)
                http1resp_chunked_init(&c->chunked, c->max);
            c->keep_alive = hd.keep_alive;
            h2o_buffer_consume(&sock->input, (size_t)rc);
            c->head_done = 1;
        }
    }
    if (!c->head_done) {
        if (err != NULL)
            fail_in_flight(c, c->got_bytes ? "connection failed inside the response head"
                                           : "connection failed before the response");
        return;
    }
    switch (c->body_mode) {
    case BODY_NONE:
        break;
    case BODY_LENGTH: {
        size_t m = sock->input->size < c->body_left ? sock->input->size : c->body_left;
        if (body_append(c, sock->input->bytes, m) != 0) { /* not with Content-Length <= max */
            fail(c, OUTBOUND_E_TOO_LARGE, "response body over the size limit");
            return;
        }
        h2o_buffer_consume(&sock->input, m);
        c->body_left -= m;
        if (c->body_left != 0) {
            if (err != NULL)
                fail(c, OUTBOUND_E_OTHER, "connection failed while reading the response body");
            return;
        }
        break;
    }
    case BODY_CHUNKED: {
        http1resp_chunked_rc_t rc = HTTP1RESP_CHUNKED_MORE;
        if (sock->input->size != 0) {
            size_t total = sock->input->size, used = 0, decoded = 0;
            /* decoded straight into the body buffer: room for what these
             * bytes can hold, within the cap (the decoder enforces it) */
            body_reserve(c, http1resp_chunked_room(&c->chunked, total));
            rc = http1resp_chunked_decode(&c->chunked, (const uint8_t *)sock->input->bytes, total,
                                          c->body + c->body_len, &decoded, &used);
            c->body_len += decoded;
            if (rc == HTTP1RESP_CHUNKED_TOO_LARGE) {
                fail(c, OUTBOUND_E_TOO_LARGE, "response body over the size limit");
                return;
            }
            if (rc == HTTP1RESP_CHUNKED_MALFORMED) {
                fail(c, OUTBOUND_E_OTHER, "malformed response");
                return;
            }
            /* the bytes after the last chunk (if any) are ours too:
             * leftovers are not a response, and the connection is not reused */
            h2o_buffer_consume(&sock->input, total);
            if (rc == HTTP1RESP_CHUNKED_DONE && used != total)
                c->keep_alive = 0;
        }
        if (rc != HTTP1RESP_CHUNKED_DONE) {
            if (err != NULL)
                fail(c, OUTBOUND_E_OTHER, "connection failed while reading the response body");
            return;
        }
        break;
    }
    case BODY_EOF:
        if (body_append(c, sock->input->bytes, sock->input->size) != 0) {
            fail(c, OUTBOUND_E_TOO_LARGE, "response body over the size limit");
            return;
        }
        h2o_buffer_consume(&sock->input, sock->input->size);
        if (err == NULL)
            return;
        break; /* the end of the connection is the end of the body */
    }
    complete(c, err);
}

/* ---- public --------------------------------------------------------------------- */

outbound_t *outbound_new(uv_loop_t *loop)
{
    outbound_t *ob = calloc(1, sizeof(*ob));
    if (ob == NULL)
        return NULL;
    ob->loop = loop;
    uv_check_init(loop, &ob->deliver);
    ob->deliver.data = ob;
    uv_idle_init(loop, &ob->deliver_soon);
    ob->deliver_soon.data = ob;
    h2o_linklist_init_anchor(&ob->all);
    h2o_linklist_init_anchor(&ob->done);
    h2o_linklist_init_anchor(&ob->free_calls);
    ob->open_handles = 2; /* deliver, deliver_soon */
    return ob;
}

void outbound_free(outbound_t *ob)
{
    if (ob == NULL)
        return;
    ob->closing = 1; /* recycled calls are closed, not kept */
    while (!h2o_linklist_is_empty(&ob->all))
        outbound_cancel(CALL_OF(ob->all.next, all_link));
    while (!h2o_linklist_is_empty(&ob->free_calls)) {
        struct outbound_call *c = CALL_OF(ob->free_calls.next, link);
        h2o_linklist_unlink(&c->link);
        uv_close((uv_handle_t *)&c->timer, on_call_closed);
    }
    ob->n_idle = 0;
    /* the kept-alive connections: h2o frees each socket once libuv has closed it */
    for (size_t i = 0; i < OUTBOUND_MAX_HOSTS; i++)
        if (ob->hosts[i].used)
            host_dispose(&ob->hosts[i]);
    uv_close((uv_handle_t *)&ob->deliver, on_handle_closed);
    uv_close((uv_handle_t *)&ob->deliver_soon, on_handle_closed);
}

uv_loop_t *outbound_loop(const outbound_t *ob)
{
    return ob->loop;
}

size_t outbound_pending(const outbound_t *ob)
{
    return ob->pending;
}

void outbound_get_stats(const outbound_t *ob, outbound_stats_t *out)
{
    *out = ob->stats;
    out->in_flight = out->waiting = out->hosts = out->idle_connections = 0;
    for (size_t i = 0; i < OUTBOUND_MAX_HOSTS; i++) {
        const struct host *h = &ob->hosts[i];
        if (!h->used)
            continue;
        out->hosts++;
        out->in_flight += h->active;
        out->waiting += h->n_waiting;
        out->idle_connections += h->n_idle;
    }
}

/* A "Name: value" line with no CR or LF (a NUL ends it): nothing a caller
 * passes can add a header or end the head early. Its length, or 0 if unsafe.
 * (strcspn: the bearer token makes this the longest line, ~1 KB.) */
static size_t header_line_len(const char *h)
{
    size_t n = strcspn(h, "\r\n");
    if (h[n] != 0 || n == 0 || h[0] == ':' || h[0] == ' ' || h[0] == '\t' || memchr(h, ':', n) == NULL)
        return 0;
    return n;
}

/* https://HOST[:PORT][/path][?query] (no user info, no IPv6 literal; a fragment is
 * not sent). HOST is lower-cased into host; path points into url ("" = "/"). */
static int parse_url(const char *url, char *host, size_t host_size, uint16_t *port, const char **path,
                     size_t *path_len)
{
    if (strncasecmp(url, "https://", 8) != 0)
        return 0;
    const char *a = url + 8, *end = a + strcspn(a, "/?#");
    const char *colon = memchr(a, ':', (size_t)(end - a));
    const char *hend = colon ? colon : end;
    size_t hl = (size_t)(hend - a);
    if (hl == 0 || hl >= host_size || hl > OUTBOUND_MAX_HOST_LEN)
        return 0;
    for (const char *p = a; p < hend; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.' || ch == '_'))
            return 0; /* also refuses user info ('@') */
    }
    memcpy(host, a, hl);
    host[hl] = 0;
    lower(host);
    *port = 443;
    if (colon != NULL) {
        char pb[8];
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl >= sizeof(pb))
            return 0;
        memcpy(pb, colon + 1, pl);
        pb[pl] = 0;
        for (size_t i = 0; i < pl; i++)
            if (pb[i] < '0' || pb[i] > '9')
                return 0;
        if (!parse_port(pb, port))
            return 0;
    }
    size_t pl = strcspn(end, "#");
    for (size_t i = 0; i < pl; i++)
        if ((unsigned char)end[i] <= 0x20 || end[i] == 0x7f)
            return 0;
    *path = end;
    *path_len = pl;
    return 1;
}

static void req_append(struct outbound_call *c, const void *p, size_t n)
{
    if (c->req_len + n > c->req_cap) {
        size_t cap = c->req_cap ? c->req_cap : 2048;
        while (cap < c->req_len + n)
            cap *= 2;
        c->req = xrealloc(c->req, cap);
        c->req_cap = cap;
    }
    memcpy(c->req + c->req_len, p, n);
    c->req_len += n;
}

static void req_str(struct outbound_call *c, const char *s)
{
    req_append(c, s, strlen(s));
}

static int method_ok(const char *m)
{
    if (*m == 0 || strlen(m) > 16)
        return 0;
    for (const char *p = m; *p; p++)
        if (*p < 'A' || *p > 'Z')
            return 0;
    return 1;
}

outbound_call_t *outbound_start(outbound_t *ob, const outbound_req_t *req, outbound_cb cb, void *ud)
{
    if (ob == NULL || ob->closing || req == NULL || req->url == NULL || cb == NULL || !G.initialized)
        return NULL;
    char host[OUTBOUND_MAX_HOST_LEN + 3];
    uint16_t port;
    const char *path;
    size_t path_len;
    if (!parse_url(req->url, host, sizeof(host), &port, &path, &path_len))
        return NULL;
    const char *method = req->method ? req->method : "GET";
    if (!method_ok(method))
        return NULL;
    int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
    if ((is_get || is_head) && req->body_len != 0)
        return NULL; /* CloudFront rejects a GET with a body; so do we */
    if (req->body_len != 0 && req->body == NULL)
        return NULL;
    enum { MAX_HEADERS = 64 };
    size_t hlen[MAX_HEADERS];
    if (req->n_headers > MAX_HEADERS)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (req->headers[i] == NULL || (hlen[i] = header_line_len(req->headers[i])) == 0)
            return NULL;
    struct host *h = get_host(ob, host, port);
    if (h == NULL) {
        log_warn("outbound.hosts", "result=full max=%d", OUTBOUND_MAX_HOSTS);
        return NULL;
    }

    struct outbound_call *c = NULL;
    if (!h2o_linklist_is_empty(&ob->free_calls)) {
        c = CALL_OF(ob->free_calls.prev, link); /* the most recently used */
        h2o_linklist_unlink(&c->link);
        ob->n_idle--;
    } else {
        c = xcalloc(1, sizeof(*c));
        c->ob = ob;
        uv_timer_init(ob->loop, &c->timer);
        ob->open_handles++;
    }
    c->host = h;
    c->cb = cb;
    c->ud = ud;
    c->conn = NULL;
    c->is_head = is_head;
    /* safe to send again after a reused connection died unanswered */
    c->idempotent = is_get || is_head || strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
                    strcmp(method, "OPTIONS") == 0;
    c->max = req->max_bytes ? req->max_bytes : OUTBOUND_DEFAULT_MAX_BYTES;
    c->body_len = 0;
    c->status = 0;
    c->has_content_type = 0;
    c->content_type[0] = 0;
    c->err = OUTBOUND_OK;
    c->errtext = NULL;
    c->retries = 0;
    c->addr_tries = 0;
    c->reused = 0;
    long total = req->timeout_ms > 0 ? req->timeout_ms : OUTBOUND_DEFAULT_TIMEOUT_MS;
    long conn = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : OUTBOUND_DEFAULT_CONNECT_MS;
    if (total > OUTBOUND_MAX_TIMEOUT_MS)
        total = OUTBOUND_MAX_TIMEOUT_MS;
    c->started_ms = now_ms(ob);
    c->started_ns = uv_hrtime();
    c->deadline_ms = c->started_ms + (uint64_t)total;
    c->connect_timeout_ms = (uint64_t)conn;

    /* the request: one buffer, written in one go */
    c->req_len = 0;
    req_str(c, method);
    req_str(c, " ");
    if (path_len == 0 || path[0] != '/')
        req_str(c, "/"); /* "https://h" and "https://h?q" */
    req_append(c, path, path_len);
    req_str(c, " HTTP/1.1\r\nHost: ");
    req_str(c, host);
    if (port != 443) {
        char pb[8];
        snprintf(pb, sizeof(pb), ":%u", (unsigned)port);
        req_str(c, pb);
    }
    req_str(c, "\r\nUser-Agent: binday/" BINDAY_VERSION "\r\n");
    for (size_t i = 0; i < req->n_headers; i++) {
        req_append(c, req->headers[i], hlen[i]);
        req_append(c, "\r\n", 2);
    }
    if (!is_get && !is_head) {
        char cl[40];
        snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", req->body_len);
        req_str(c, cl);
    }
    req_str(c, "\r\n");
    if (req->body_len != 0)
        req_append(c, req->body, req->body_len);

    h2o_linklist_insert(&ob->all, &c->all_link);
    ob->pending++;
    ob->stats.calls++;
    h->last_used_ms = c->started_ms;
    c->state = CALL_WAITING;
    if (!h->fixed && h->resolving == NULL && (!h->has_addr || c->started_ms - h->resolved_ms >= OUTBOUND_DNS_TTL_MS)) {
        if (start_resolve(ob, h) != 0 && !h->has_addr) {
            finish(c, OUTBOUND_E_CONNECT, "host name lookup failed");
            return c;
        }
    }
    if (h->has_addr && h->active < (size_t)G.max_host_connections && h2o_linklist_is_empty(&h->waiting)) {
        start_connect(c);
    } else {
        if (h->has_addr)
            ob->stats.waited++;
        wait_push(h, c);
        arm_timer(c);
    }
    return c;
}

void outbound_cancel(outbound_call_t *c)
{
    if (c == NULL)
        return;
    outbound_t *ob = c->ob;
    switch (c->state) {
    case CALL_WAITING:
        wait_remove(c->host, c);
        break;
    case CALL_CONNECTING:
    case CALL_IN_FLIGHT:
        if (c->conn != NULL)
            conn_close(c->conn); /* mid-response: never reusable */
        c->conn = NULL;
        c->host->active--;
        /* a waiter can have the slot: started from the delivery handle, not from
         * inside the caller's stack */
        if (!h2o_linklist_is_empty(&c->host->waiting) && !ob->closing)
            deliver_start(ob);
        break;
    case CALL_DONE:
        h2o_linklist_unlink(&c->link);
        break;
    case CALL_IDLE:
        return; /* not a live call: ignore */
    }
    ob->pending--;
    h2o_linklist_unlink(&c->all_link);
    recycle_call(c);
}
