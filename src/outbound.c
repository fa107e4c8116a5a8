/* outbound.c - owns outbound HTTPS: libcurl's multi interface driven by a libuv loop.
 *
 * Pattern: curl tells us which sockets to watch (socket callback) and when to wake
 * up (timer callback); libuv polls and times; we hand events back with
 * curl_multi_socket_action and collect finished transfers. One CURLM per loop
 * thread (curl handles must never cross threads); the DNS cache and TLS sessions
 * are shared process-wide through a locked CURLSH.
 */
#include "binday/outbound.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "binday/log.h"

#define OUTBOUND_DEFAULT_CONNECT_MS 1000L
#define OUTBOUND_DEFAULT_TIMEOUT_MS 3000L
#define OUTBOUND_DEFAULT_MAX_BYTES (64u * 1024u)

/* ---- process-wide state ------------------------------------------------------ */

static struct {
    int initialized;
    char *ca_file;
    struct curl_slist *connect_to;
    CURLSH *share;
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
    G.initialized = 1;
    return 0;
}

void outbound_global_cleanup(void)
{
    if (G.share != NULL)
        curl_share_cleanup(G.share);
    curl_slist_free_all(G.connect_to);
    free(G.ca_file);
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

struct sock_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    outbound_t *ob;
    struct sock_watch *next, *prev;
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
    uint64_t started_ns;
    char errbuf[CURL_ERROR_SIZE];
    struct outbound_call *next, *prev;
};

struct outbound {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct outbound_call *calls;
    struct sock_watch *watches;
    size_t pending;
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

static void unlink_watch(struct sock_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        w->ob->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

static void close_watch(struct sock_watch *w)
{
    unlink_watch(w);
    uv_poll_stop(&w->poll);
    w->poll.data = w->ob;
    uv_close((uv_handle_t *)&w->poll, on_handle_closed);
}

static void unlink_call(struct outbound_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->ob->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->ob->pending--;
}

static void free_call(struct outbound_call *c)
{
    curl_multi_remove_handle(c->ob->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->buf);
    free(c);
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
        free_call(c);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_watch *w = (struct sock_watch *)p;
    outbound_t *ob = w->ob;
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

static int socket_cb(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    (void)easy;
    outbound_t *ob = userp;
    struct sock_watch *w = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (w != NULL) {
            close_watch(w);
            curl_multi_assign(ob->multi, s, NULL);
        }
        return 0;
    }
    if (w == NULL) {
        w = calloc(1, sizeof(*w));
        if (w == NULL)
            abort();
        w->fd = s;
        w->ob = ob;
        if (uv_poll_init_socket(ob->loop, &w->poll, s) != 0) {
            free(w);
            return -1;
        }
        ob->open_handles++;
        w->next = ob->watches;
        if (w->next)
            w->next->prev = w;
        ob->watches = w;
        curl_multi_assign(ob->multi, s, w);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&w->poll, ev, on_poll);
    return 0;
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
    /* bound the per-thread connection cache */
    curl_multi_setopt(ob->multi, CURLMOPT_MAXCONNECTS, 16L);
    return ob;
}

void outbound_free(outbound_t *ob)
{
    if (ob == NULL)
        return;
    while (ob->calls != NULL) {
        struct outbound_call *c = ob->calls;
        unlink_call(c);
        free_call(c);
    }
    curl_multi_cleanup(ob->multi);
    ob->multi = NULL;
    while (ob->watches != NULL)
        close_watch(ob->watches);
    ob->closing = 1;
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

    struct outbound_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->ob = ob;
    c->cb = cb;
    c->ud = ud;
    c->max = req->max_bytes ? req->max_bytes : OUTBOUND_DEFAULT_MAX_BYTES;
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        abort();
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (G.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, G.ca_file);
    if (G.connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, G.connect_to);
    if (G.share)
        curl_easy_setopt(e, CURLOPT_SHARE, G.share);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : OUTBOUND_DEFAULT_CONNECT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : OUTBOUND_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "binday/" BINDAY_VERSION);
    if (is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!is_get) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
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

    c->next = ob->calls;
    if (c->next)
        c->next->prev = c;
    ob->calls = c;
    ob->pending++;
    if (curl_multi_add_handle(ob->multi, e) != CURLM_OK) {
        unlink_call(c);
        free_call(c);
        return NULL;
    }
    return c;
}

void outbound_cancel(outbound_call_t *c)
{
    if (c == NULL)
        return;
    unlink_call(c);
    free_call(c);
}
