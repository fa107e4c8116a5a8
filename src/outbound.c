/* outbound.c - owns outbound HTTPS: libcurl's multi interface driven by a libuv loop.
 *
 * Pattern: curl tells us which sockets to watch (socket callback) and when to wake
 * up (timer callback); libuv polls and times; we hand events back with
 * curl_multi_socket_action and collect finished transfers. One CURLM per loop
 * thread (curl handles must never cross threads); the DNS cache and TLS sessions
 * are shared process-wide through a locked CURLSH, and so is one X509_STORE of
 * trust anchors, built once at start.
 *
 * What makes a call cheap (docs/server.md, "Outbound client", has the numbers):
 * - easy handles are reused from a bounded per-client free list, with the options
 *   that never change set once;
 * - a connection socket keeps its uv_poll_t while the connection sits in curl's
 *   cache, so reusing a cached connection costs no epoll_ctl; we learn that curl
 *   closed a socket from its close-socket callback (we open and close connection
 *   sockets ourselves), never by guessing;
 * - every new connection's SSL_CTX gets the shared store (no re-parse of the CA
 *   file per connection);
 * - smaller libcurl receive and upload buffers.
 */
#include "binday/outbound.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binday/log.h"

#define OUTBOUND_DEFAULT_CONNECT_MS 1000L
#define OUTBOUND_DEFAULT_TIMEOUT_MS 3000L
#define OUTBOUND_DEFAULT_MAX_BYTES (64u * 1024u)
#define OUTBOUND_MAX_CONNECTS 1024 /* per thread; ~50 KB each when idle */
/* Easy handles kept for reuse per thread. In a steady state calls finish as fast
 * as new ones start, so a few suffice; the bound caps what a burst leaves behind
 * (each idle one is ~20 KB: curl's handle, its receive buffer, our body buffer). */
#define OUTBOUND_IDLE_CALLS_MAX 64
/* curl's receive buffer per easy handle (its default is 16 KB, allocated for every
 * handle in flight). The answers we fetch are < 1 KB (Address API) to a few KB
 * (certificate chains); a smaller buffer only means more reads for big bodies. */
#define OUTBOUND_RECV_BUFFER 4096L
/* libcurl 7.88 copies every HTTPS request into an "upload buffer" of this size
 * (default 64 KB, minimum 16 KB), malloc'ed per transfer and held until it ends:
 * at 1,000 calls waiting on a slow API that was 64 MB of mostly untouched heap.
 * Our requests (headers and body) are ~1.5 KB; a bigger one is sent in pieces. */
#define OUTBOUND_UPLOAD_BUFFER 16384L
/* A reused call keeps its body buffer up to this size; bigger ones are freed. */
#define OUTBOUND_KEEP_BODY_CAP 4096u

/* ---- process-wide state ------------------------------------------------------ */

static struct {
    int initialized;
    char *ca_file;
    struct curl_slist *connect_to;
    CURLSH *share;
    X509_STORE *store; /* trust anchors for every connection; read-only once built */
    long max_host_connections;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
} G;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    (void)ud;
    pthread_mutex_lock(&G.locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    (void)ud;
    pthread_mutex_unlock(&G.locks[data]);
}

/* A --connect-to rule is HOST:PORT:HOST2:PORT2 (curl also allows empty parts). We
 * insist on exactly four fields and no control characters, so a typo is reported
 * at start instead of silently connecting somewhere unexpected. */
static int connect_to_valid(const char *s)
{
    int colons = 0;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
        if (*p == ':')
            colons++;
    }
    return colons == 3 || (s[0] == '[' && colons >= 3);
}

/* The trust anchors, built once. libcurl 7.88 otherwise builds a store per new
 * connection: its CA cache is off whenever a CA directory is configured, which
 * Debian's build always does (/etc/ssl/certs), so every connection re-parsed the
 * CA file (the whole system bundle in production) - the cost that made a burst
 * of new upstream connections miss the 1 s connect timeout.
 * --upstream-ca FILE: exactly the certificates of FILE (as documented).
 * Otherwise: what libcurl itself would use - its built-in CA bundle and CA
 * directory. Flags as libcurl sets them on its own stores (trusted-first, and
 * intermediates in the store accepted as anchors). */
static X509_STORE *build_store(const char *ca_file, char *err, size_t err_size)
{
    X509_STORE *st = X509_STORE_new();
    if (st == NULL)
        abort();
    if (ca_file != NULL) {
        if (!X509_STORE_load_file(st, ca_file)) {
            const char *why = ERR_reason_error_string(ERR_peek_last_error());
            snprintf(err, err_size, "cannot load CA certificates from '%.200s': %s", ca_file,
                     why ? why : "no certificate found");
            ERR_clear_error();
            X509_STORE_free(st);
            return NULL;
        }
    } else {
        CURL *e = curl_easy_init();
        if (e == NULL)
            abort();
        char *cainfo = NULL, *capath = NULL;
        curl_easy_getinfo(e, CURLINFO_CAINFO, &cainfo);
        curl_easy_getinfo(e, CURLINFO_CAPATH, &capath);
        int ok_file = cainfo != NULL && X509_STORE_load_file(st, cainfo);
        int ok_dir = capath != NULL && X509_STORE_load_path(st, capath);
        if (!ok_file && !ok_dir)
            /* as with libcurl's own loading: every TLS connection will fail
             * verification until the system bundle is installed */
            log_warn("outbound.ca", "system_bundle=missing cainfo=%s capath=%s", cainfo ? cainfo : "none",
                     capath ? capath : "none");
        ERR_clear_error();
        curl_easy_cleanup(e);
    }
    X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
    return st;
}

/* CURLOPT_SSL_CTX_FUNCTION: runs once per new connection, on its fresh SSL_CTX.
 * The shared store becomes the verification store (SSL_CTX_set1_verify_cert_store,
 * not set1_cert_store): libcurl 7.88 later sets flags on the SSL_CTX's own cert
 * store, which must therefore not be the shared one. Verification itself is
 * libcurl's as before: peer verified (SSL_VERIFY_PEER) against this store, host
 * name checked by libcurl, TLS >= 1.2. If this fails the connection fails: the
 * SSL_CTX's own store is empty, so nothing unverified can get through. */
static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *ud)
{
    (void)easy;
    (void)ud;
    SSL_CTX *ctx = ssl_ctx;
    if (G.store == NULL || !SSL_CTX_set1_verify_cert_store(ctx, G.store))
        return CURLE_SSL_CACERT_BADFILE;
    /* (SSL_MODE_RELEASE_BUFFERS: libcurl 7.88 already sets it on every SSL_CTX.) */
    return CURLE_OK;
}

int outbound_global_init(const outbound_global_conf_t *conf, char *err, size_t err_size)
{
    if (G.initialized) {
        snprintf(err, err_size, "outbound client initialized twice");
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "curl_global_init failed");
        return -1;
    }
    curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (!(vi->features & CURL_VERSION_SSL)) {
        snprintf(err, err_size, "libcurl was built without TLS support");
        curl_global_cleanup();
        return -1;
    }
    /* the SSL_CTX callback hands OpenSSL objects to libcurl's TLS backend */
    if (vi->ssl_version == NULL || strncmp(vi->ssl_version, "OpenSSL/", 8) != 0) {
        snprintf(err, err_size, "libcurl must use OpenSSL (it uses %.60s)", vi->ssl_version ? vi->ssl_version : "?");
        curl_global_cleanup();
        return -1;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&G.locks[i], NULL);
    G.share = curl_share_init();
    if (G.share == NULL)
        abort();
    curl_share_setopt(G.share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(G.share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (conf != NULL) {
        if (conf->ca_file != NULL && (G.ca_file = strdup(conf->ca_file)) == NULL)
            abort();
        for (size_t i = 0; i < conf->n_connect_to; i++) {
            if (!connect_to_valid(conf->connect_to[i])) {
                snprintf(err, err_size, "--connect-to '%.200s': want HOST:PORT:HOST2:PORT2", conf->connect_to[i]);
                outbound_global_cleanup();
                return -1;
            }
            struct curl_slist *n = curl_slist_append(G.connect_to, conf->connect_to[i]);
            if (n == NULL)
                abort();
            G.connect_to = n;
        }
    }
    G.store = build_store(G.ca_file, err, err_size);
    if (G.store == NULL) {
        outbound_global_cleanup();
        return -1;
    }
    G.max_host_connections = conf->max_host_connections > 0 ? conf->max_host_connections : OUTBOUND_MAX_HOST_CONNECTIONS;
    G.initialized = 1;
    return 0;
}

void outbound_global_cleanup(void)
{
    if (G.share != NULL)
        curl_share_cleanup(G.share);
    curl_slist_free_all(G.connect_to);
    free(G.ca_file);
    X509_STORE_free(G.store);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&G.locks[i]);
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

/* One per socket that curl asked us to watch, and one per connection socket we
 * opened for curl (created with the socket, its uv_poll_t initialised on the
 * first watch request). Found through ob->fdmap[fd]. */
struct sock_watch {
    uv_poll_t poll; /* first member: the close callback frees through it */
    curl_socket_t fd;
    outbound_t *ob;
    ino_t ino;       /* owned sockets: identity when opened (fstat), to recheck once */
    int owned;       /* we opened it for curl: curl closes it through close_socket_cb */
    int established; /* owned, and curl waited to read from it: a connected socket
                      * that curl will only ever close through close_socket_cb */
    int poll_inited; /* poll is a live libuv handle */
    int active;      /* poll started, with `events` */
    int events;
    int in_use;      /* curl wants events (between a watch request and CURL_POLL_REMOVE) */
};

struct outbound_call {
    outbound_t *ob;
    CURL *easy;
    struct curl_slist *headers;
    outbound_cb cb;
    void *ud;
    uint8_t *buf;
    size_t len, cap, max;
    int too_large;
    int has_body; /* the handle carries request body options from its last call */
    int custom;   /* ... and a custom method */
    uint64_t started_ns;
    char errbuf[CURL_ERROR_SIZE];
    struct outbound_call *next, *prev; /* in flight (doubly) or idle (next only) */
};

struct outbound {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct outbound_call *calls; /* in flight */
    struct outbound_call *idle;  /* reusable, at most OUTBOUND_IDLE_CALLS_MAX */
    size_t n_idle;
    struct sock_watch **fdmap; /* fd -> watch; grows to the highest fd seen */
    size_t fdmap_len;
    size_t pending;
    outbound_stats_t stats;
    int open_handles; /* libuv handles not yet closed; freed at zero once closing */
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
    if ((void *)h != (void *)&ob->timer)
        free(h); /* a sock_watch; its poll is its first member */
    ob->open_handles--;
    maybe_free(ob);
}

static struct sock_watch *watch_of(const outbound_t *ob, curl_socket_t fd)
{
    return fd >= 0 && (size_t)fd < ob->fdmap_len ? ob->fdmap[fd] : NULL;
}

static void fdmap_set(outbound_t *ob, curl_socket_t fd, struct sock_watch *w)
{
    if ((size_t)fd >= ob->fdmap_len) {
        size_t n = ob->fdmap_len ? ob->fdmap_len : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct sock_watch **m = realloc(ob->fdmap, n * sizeof(*m));
        if (m == NULL)
            abort();
        memset(m + ob->fdmap_len, 0, (n - ob->fdmap_len) * sizeof(*m));
        ob->fdmap = m;
        ob->fdmap_len = n;
    }
    ob->fdmap[fd] = w;
}

/* Forget a watch. uv_close stops the poll and removes the fd from epoll at once,
 * so this must run before the fd is closed (libuv must never watch a closed or
 * reused descriptor). */
static void close_watch(struct sock_watch *w)
{
    outbound_t *ob = w->ob;
    if (watch_of(ob, w->fd) == w)
        ob->fdmap[w->fd] = NULL;
    if (w->poll_inited) {
        w->poll.data = ob;
        uv_close((uv_handle_t *)&w->poll, on_handle_closed);
    } else {
        free(w);
        ob->open_handles--;
    }
}

static struct sock_watch *new_watch(outbound_t *ob, curl_socket_t fd, int owned)
{
    struct sock_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        abort();
    w->fd = fd;
    w->ob = ob;
    w->owned = owned;
    ob->open_handles++;
    fdmap_set(ob, fd, w);
    return w;
}

/* ---- calls -------------------------------------------------------------------- */

static void unlink_call(struct outbound_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->ob->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->ob->pending--;
}

static void destroy_call(struct outbound_call *c)
{
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->buf);
    free(c);
}

/* A finished or cancelled call: its easy handle leaves the multi (a transfer cut
 * short closes its connection; a finished one leaves it in curl's cache) and goes
 * to the free list, unless that is full or the client is closing. */
static void release_call(struct outbound_call *c)
{
    outbound_t *ob = c->ob;
    curl_multi_remove_handle(ob->multi, c->easy);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL); /* no dangling list */
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    if (c->cap > OUTBOUND_KEEP_BODY_CAP) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    c->len = 0;
    c->too_large = 0;
    c->cb = NULL;
    c->ud = NULL;
    if (ob->closing || ob->n_idle >= OUTBOUND_IDLE_CALLS_MAX) {
        destroy_call(c);
        return;
    }
    c->next = ob->idle;
    ob->idle = c;
    ob->n_idle++;
}

static outbound_err_t map_curl_error(CURLcode rc, int too_large)
{
    switch (rc) {
    case CURLE_OK:
        return OUTBOUND_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return OUTBOUND_E_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return OUTBOUND_E_CONNECT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return OUTBOUND_E_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return OUTBOUND_E_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return too_large ? OUTBOUND_E_TOO_LARGE : OUTBOUND_E_OTHER;
    default:
        return OUTBOUND_E_OTHER;
    }
}

static void check_multi_info(outbound_t *ob)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(ob->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct outbound_call *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        CURLcode rc = msg->data.result;
        outbound_res_t res = {0};
        res.err = map_curl_error(rc, c->too_large);
        if (res.err == OUTBOUND_OK) {
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &res.status);
            char *ct = NULL;
            curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ct);
            res.content_type = ct;
        } else {
            res.errtext = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
        }
        if (c->buf == NULL) {
            static const uint8_t empty[1] = {0};
            res.body = empty;
        } else {
            c->buf[c->len] = 0;
            res.body = c->buf;
        }
        res.body_len = c->len;
        res.elapsed_us = (uv_hrtime() - c->started_ns) / 1000;
        /* unlink first: the callback may start or cancel other calls */
        unlink_call(c);
        c->cb(&res, c->ud);
        release_call(c);
    }
}

/* ---- sockets ------------------------------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_watch *w = (struct sock_watch *)p;
    outbound_t *ob = w->ob;
    if (!w->in_use) {
        /* An idle cached connection became readable: the server closed it (or
         * sent something unasked). Stop watching it, so that level-triggered
         * epoll does not wake us for it again; curl's liveness check finds it
         * dead at its next use (or its periodic sweep) and closes it. */
        uv_poll_stop(&w->poll);
        w->active = 0;
        ob->stats.idle_wakeups++;
        return;
    }
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(ob->multi, w->fd, flags, &running);
    check_multi_info(ob);
}

static void on_timer(uv_timer_t *t)
{
    outbound_t *ob = t->data;
    int running;
    curl_multi_socket_action(ob->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(ob);
}

/* Is w still the socket we opened? Asked once per connection, when it is about to
 * be trusted to outlive CURL_POLL_REMOVE. */
static int same_socket(const struct sock_watch *w)
{
    struct stat st;
    return fstat(w->fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == w->ino;
}

/* CURLMOPT_SOCKETFUNCTION. The life of a connection socket (owned):
 *   opened by open_socket_cb -> watched for writing while TCP connects -> watched
 *   for reading (TLS, response): from now on "established" -> CURL_POLL_REMOVE when
 *   its transfer ends and the connection goes to curl's cache: we keep the watch
 *   (still polling for readability, so a server-side close is noticed) -> reused by
 *   a later transfer: same fd, same watch, and if the event mask is unchanged no
 *   system call at all -> closed by curl through close_socket_cb, which closes the
 *   watch first.
 * Every other socket (a connection still connecting, curl's resolver socketpair)
 * loses its watch at CURL_POLL_REMOVE: curl may close such a socket without
 * telling us (libcurl 7.88 closes a connect attempt it abandons, and the resolver
 * pipe, directly), so no watch may outlive its REMOVE. */
static int socket_cb(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    (void)easy;
    outbound_t *ob = userp;
    struct sock_watch *w = socketp ? socketp : watch_of(ob, s);
    if (action == CURL_POLL_REMOVE) {
        if (w == NULL)
            return 0;
        if (!w->established) {
            close_watch(w);
            return 0;
        }
        w->in_use = 0;
        if (w->active && w->events != UV_READABLE) {
            uv_poll_start(&w->poll, UV_READABLE, on_poll);
            w->events = UV_READABLE;
        }
        return 0;
    }
    if (w != NULL && socketp == NULL && w->established && w->in_use) {
        /* curl never asks twice for a socket it has not removed: w is stale */
        close_watch(w);
        w = NULL;
    }
    if (w == NULL)
        w = new_watch(ob, s, 0);
    if (!w->poll_inited) {
        if (uv_poll_init_socket(ob->loop, &w->poll, s) != 0) {
            close_watch(w);
            return -1;
        }
        w->poll_inited = 1;
        ob->stats.polls_created++;
    }
    if (socketp == NULL)
        curl_multi_assign(ob->multi, s, w);
    w->in_use = 1;
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    if ((ev & UV_READABLE) && w->owned && !w->established) {
        /* curl reads only from a connected socket, which it has made the
         * connection's own; from then on it closes it only through
         * close_socket_cb. The fstat guards against our record being older than
         * the descriptor (a number reused after a close we were not told of). */
        if (same_socket(w))
            w->established = 1;
        else
            w->owned = 0;
    }
    if (!w->active || ev != w->events) {
        /* libuv's uv_poll_start removes and re-adds the fd to epoll even when
         * nothing changes, hence the check */
        uv_poll_start(&w->poll, ev, on_poll);
        w->active = 1;
        w->events = ev;
    }
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: connection sockets are ours to create (and, below,
 * to close), so that a watch can safely outlive CURL_POLL_REMOVE. */
static curl_socket_t open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    outbound_t *ob = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    struct sock_watch *old = watch_of(ob, fd);
    if (old != NULL) {
        /* its descriptor was closed without our knowing (see socket_cb); the fd is
         * not in epoll any more, so closing the watch cannot disturb anyone */
        ob->stats.stale_watches++;
        close_watch(old);
    }
    struct sock_watch *w = new_watch(ob, fd, 1);
    w->ino = st.st_ino;
    ob->stats.sockets_opened++;
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: curl is done with a connection socket. */
static int close_socket_cb(void *clientp, curl_socket_t fd)
{
    outbound_t *ob = clientp;
    struct sock_watch *w = watch_of(ob, fd);
    if (w != NULL)
        close_watch(w);
    ob->stats.sockets_closed++;
    return close(fd);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    outbound_t *ob = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&ob->timer);
    else
        uv_timer_start(&ob->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

outbound_t *outbound_new(uv_loop_t *loop)
{
    outbound_t *ob = calloc(1, sizeof(*ob));
    if (ob == NULL)
        return NULL;
    ob->loop = loop;
    ob->multi = curl_multi_init();
    if (ob->multi == NULL) {
        free(ob);
        return NULL;
    }
    uv_timer_init(loop, &ob->timer);
    ob->timer.data = ob;
    ob->open_handles = 1;
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETDATA, ob);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERDATA, ob);
    /* Bound the per-thread connection cache, but above the number of calls a
     * thread has in flight: curl closes connections beyond this limit as
     * transfers finish, so a small cache (it was 16) turned every call past
     * the 16th concurrent one into a new TLS handshake (make bench: 5x the CPU
     * per request at 32 concurrent requests, Address API timeouts at 1,000). */
    curl_multi_setopt(ob->multi, CURLMOPT_MAXCONNECTS, (long)OUTBOUND_MAX_CONNECTS);
    curl_multi_setopt(ob->multi, CURLMOPT_MAX_HOST_CONNECTIONS, G.max_host_connections);
    return ob;
}

void outbound_free(outbound_t *ob)
{
    if (ob == NULL)
        return;
    ob->closing = 1; /* released calls are destroyed, not kept */
    while (ob->calls != NULL) {
        struct outbound_call *c = ob->calls;
        unlink_call(c);
        release_call(c);
    }
    while (ob->idle != NULL) {
        struct outbound_call *c = ob->idle;
        ob->idle = c->next;
        destroy_call(c);
    }
    ob->n_idle = 0;
    /* closes the cached connections, through close_socket_cb */
    curl_multi_cleanup(ob->multi);
    ob->multi = NULL;
    for (size_t fd = 0; fd < ob->fdmap_len; fd++)
        if (ob->fdmap[fd] != NULL)
            close_watch(ob->fdmap[fd]);
    free(ob->fdmap);
    ob->fdmap = NULL;
    ob->fdmap_len = 0;
    uv_timer_stop(&ob->timer);
    uv_close((uv_handle_t *)&ob->timer, on_handle_closed);
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
    out->idle_calls = ob->n_idle;
    size_t watched = 0;
    for (size_t fd = 0; fd < ob->fdmap_len; fd++)
        watched += ob->fdmap[fd] != NULL;
    out->sockets_tracked = watched;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct outbound_call *c = ud;
    size_t n = size * nmemb;
    if (n > c->max - c->len) {
        c->too_large = 1;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        if (cap > c->max + 1)
            cap = c->max + 1;
        uint8_t *nb = realloc(c->buf, cap);
        if (nb == NULL)
            abort();
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, ptr, n);
    c->len += n;
    return n;
}

static int header_value_safe(const char *h)
{
    for (const char *p = h; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\0')
            return 0;
    return strchr(h, ':') != NULL;
}

/* A new call with its easy handle and every option that is the same for all calls
 * of this client. */
static struct outbound_call *new_call(outbound_t *ob)
{
    struct outbound_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->ob = ob;
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        abort();
    ob->stats.easy_created++;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* trust comes from the shared store (ssl_ctx_cb) only: no CA file or
     * directory for libcurl to load into each connection's own store */
    curl_easy_setopt(e, CURLOPT_CAINFO, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_CAPATH, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    if (G.connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, G.connect_to);
    if (G.share)
        curl_easy_setopt(e, CURLOPT_SHARE, G.share);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, OUTBOUND_RECV_BUFFER);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, OUTBOUND_UPLOAD_BUFFER);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "binday/" BINDAY_VERSION);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, ob);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, ob);
    return c;
}

outbound_call_t *outbound_start(outbound_t *ob, const outbound_req_t *req, outbound_cb cb, void *ud)
{
    if (ob == NULL || ob->closing || req == NULL || req->url == NULL || cb == NULL)
        return NULL;
    if (strncasecmp(req->url, "https://", 8) != 0)
        return NULL;
    const char *method = req->method ? req->method : "GET";
    int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
    if ((is_get || is_head) && req->body_len != 0)
        return NULL; /* CloudFront rejects a GET with a body; so do we */
    for (size_t i = 0; i < req->n_headers; i++)
        if (!header_value_safe(req->headers[i]))
            return NULL;

    struct outbound_call *c = ob->idle;
    if (c != NULL) {
        ob->idle = c->next;
        ob->n_idle--;
        c->next = NULL;
    } else {
        c = new_call(ob);
    }
    ob->stats.calls++;
    c->cb = cb;
    c->ud = ud;
    c->max = req->max_bytes ? req->max_bytes : OUTBOUND_DEFAULT_MAX_BYTES;
    c->errbuf[0] = 0;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : OUTBOUND_DEFAULT_CONNECT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : OUTBOUND_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max);
    /* The method. A reused handle carries its last call's: drop a copied body
     * first (setting it makes curl POST), then HTTPGET resets the method to GET
     * and switches NOBODY off, then whatever this call needs. */
    if (c->has_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, (char *)NULL);
        c->has_body = 0;
    }
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (c->custom) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
        c->custom = 0;
    }
    if (is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!is_get) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
        c->has_body = 1;
        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
            c->custom = 1;
        }
    }
    /* no "Expect: 100-continue" round trip on small bodies */
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; h != NULL && i < req->n_headers; i++)
        h = curl_slist_append(h, req->headers[i]);
    if (h == NULL)
        abort();
    c->headers = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    c->started_ns = uv_hrtime();

    c->prev = NULL;
    c->next = ob->calls;
    if (c->next)
        c->next->prev = c;
    ob->calls = c;
    ob->pending++;
    if (curl_multi_add_handle(ob->multi, e) != CURLM_OK) {
        unlink_call(c);
        release_call(c);
        return NULL;
    }
    return c;
}

void outbound_cancel(outbound_call_t *c)
{
    if (c == NULL)
        return;
    unlink_call(c);
    release_call(c);
}
