/* fast_api.c - a fast stand-in for the Device Address API (and the cert
 * host) of tests/integration/fake_amazon.py, for make bench only.
 *
 * Why: the test fake is a Python threading server, and the Node version this
 * replaces (fast_amazon.js) cost ~46 µs of CPU per call: at 10,000 requests
 * a second it saturated the client core it shares with wrk, so S1 measured
 * the harness, not binday. This one is h2o on libuv, as binday's own server
 * is. Same URLs, same token scenarios:
 *
 *   GET /v1/devices/{deviceId}/settings/address[/countryAndPostalCode]
 *       with "Authorization: Bearer tok-granted[-...]" (answer at once) or
 *       "Bearer tok-slow-<N>ms[-...]" (answer after N ms); deviceId
 *       "...bench-<i>" gets line i of --addresses (a TSV of addressLine1,
 *       city, postalCode), wrapping around; other tokens get 401
 *   POST /v1/directives        204 (progressive responses: binday sends one when
 *                              an answer takes over a second, e.g. S3 overloaded)
 *   GET /echo.api/<file>.pem   from --pem-dir
 *   GET /_stats                {"served": address calls answered by this worker}
 *
 * usage: fast_api --cert C --key K --addresses TSV [--pem-dir D]
 *                 [--port-file F] [--workers N]
 * Listens on 127.0.0.1, an ephemeral port (written to --port-file); N worker
 * processes share the listening socket. SIGTERM ends them all.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <h2o.h>

struct answer {
    char *full, *shortj;
    size_t full_len, short_len;
};

struct pem {
    char path[300];
    char *data;
    size_t len;
};

static struct answer *answers;
static size_t n_answers;
static struct pem pems[64];
static size_t n_pems;
static unsigned long served;

static void die(const char *what)
{
    fprintf(stderr, "fast_api: %s\n", what);
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

/* The pre-written answers, one per TSV line: this server must cost little. */
static void load_addresses(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    if (!text)
        die("cannot read --addresses");
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *city = strchr(line, '\t'), *pc = city ? strchr(city + 1, '\t') : NULL;
        if (!pc)
            continue;
        *city++ = 0;
        *pc++ = 0;
        json_t *full = json_pack("{s:s,s:n,s:n,s:s,s:s,s:n,s:s,s:s}", "addressLine1", line, "addressLine2",
                                 "addressLine3", "city", city, "districtOrCounty", "Norfolk", "stateOrRegion",
                                 "countryCode", "GB", "postalCode", pc);
        json_t *shortj = json_pack("{s:s,s:s}", "countryCode", "GB", "postalCode", pc);
        answers = realloc(answers, (n_answers + 1) * sizeof(*answers));
        struct answer *a = &answers[n_answers++];
        a->full = json_dumps(full, JSON_COMPACT);
        a->shortj = json_dumps(shortj, JSON_COMPACT);
        if (!answers || !a->full || !a->shortj)
            die("out of memory");
        a->full_len = strlen(a->full);
        a->short_len = strlen(a->shortj);
        json_decref(full);
        json_decref(shortj);
    }
    free(text);
    if (n_answers == 0)
        die("no addresses in --addresses");
}

static void load_pems(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        die("cannot read --pem-dir");
    struct dirent *e;
    while ((e = readdir(d)) && n_pems < sizeof(pems) / sizeof(pems[0])) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0 || n > 200)
            continue;
        char file[512];
        snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
        struct pem *p = &pems[n_pems];
        if ((p->data = slurp(file, &p->len)) == NULL)
            continue;
        snprintf(p->path, sizeof(p->path), "/echo.api/%s", e->d_name);
        n_pems++;
    }
    closedir(d);
}

static void respond(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len)
{
    static const char *const reasons[] = {[200] = "OK", [401] = "Unauthorized", [404] = "Not Found",
                                          [405] = "Method Not Allowed"};
    req->res.status = status;
    req->res.reason = reasons[status];
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    h2o_send_inline(req, body, len);
}

#define JSON_ANSWER(req, status, lit) respond((req), (status), "application/json", (lit), sizeof(lit) - 1)

/* A slow answer: a timer owned by the request's pool, so that a request the
 * client abandons stops its timer (the pool's dispose callback). */
struct delayed {
    uv_timer_t timer;
    h2o_req_t *req;
    const struct answer *a;
    int shortj;
};

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_pool_dispose(void *p)
{
    struct delayed *d = *(struct delayed **)p;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

static void on_timer(uv_timer_t *t)
{
    struct delayed *d = t->data;
    respond(d->req, 200, "application/json", d->shortj ? d->a->shortj : d->a->full,
            d->shortj ? d->a->short_len : d->a->full_len);
}

/* "Bearer tok-granted" or "Bearer tok-slow-<N>ms", then '-' or the end:
 * the delay in ms (0 = at once), or -1. */
static long token_delay(const char *v, size_t n)
{
    static const char pre[] = "Bearer tok-";
    if (n < sizeof(pre) - 1 || memcmp(v, pre, sizeof(pre) - 1) != 0)
        return -1;
    v += sizeof(pre) - 1;
    n -= sizeof(pre) - 1;
    long ms = 0;
    size_t i;
    if (n >= 7 && memcmp(v, "granted", 7) == 0) {
        i = 7;
    } else if (n >= 5 && memcmp(v, "slow-", 5) == 0) {
        i = 5;
        size_t digits = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9' && digits < 7) {
            ms = ms * 10 + (v[i++] - '0');
            digits++;
        }
        if (digits == 0 || i + 2 > n || v[i] != 'm' || v[i + 1] != 's')
            return -1;
        i += 2;
    } else {
        return -1;
    }
    return i == n || v[i] == '-' ? ms : -1;
}

/* The address index from a deviceId ending in "bench-<digits>" (after
 * %-decoding), else 0. */
static size_t device_index(const char *p, size_t n)
{
    char dec[512];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < sizeof(dec); i++) {
        if (p[i] == '%' && i + 2 < n) {
            char hex[3] = {p[i + 1], p[i + 2], 0};
            dec[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            dec[o++] = p[i];
        }
    }
    dec[o] = 0;
    size_t d = o;
    while (d > 0 && dec[d - 1] >= '0' && dec[d - 1] <= '9')
        d--;
    if (d == o || d < 6 || memcmp(dec + d - 6, "bench-", 6) != 0)
        return 0;
    return (size_t)strtoull(dec + d, NULL, 10) % n_answers;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    /* Amazon answers a directive with 204; a 405 here made binday log each
     * progressive response as a failed API call */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) &&
        h2o_memis(req->path.base, req->path.len, H2O_STRLIT("/v1/directives"))) {
        req->res.status = 204;
        req->res.reason = "No Content";
        h2o_send_inline(req, "", 0);
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        JSON_ANSWER(req, 405, "{\"code\":\"METHOD_NOT_ALLOWED\"}");
        return 0;
    }
    const char *path = req->path.base;
    size_t plen = req->path.len;
    for (size_t i = 0; i < n_pems; i++)
        if (strlen(pems[i].path) == plen && memcmp(pems[i].path, path, plen) == 0) {
            respond(req, 200, "application/x-pem-file", pems[i].data, pems[i].len);
            return 0;
        }
    if (h2o_memis(path, plen, H2O_STRLIT("/_stats"))) {
        char *body = h2o_mem_alloc_pool(&req->pool, 64);
        int n = snprintf(body, 64, "{\"served\":%lu}", served);
        respond(req, 200, "application/json", body, (size_t)n);
        return 0;
    }
    static const char pre[] = "/v1/devices/", addr[] = "/settings/address", cpc[] = "/countryAndPostalCode";
    const char *slash = plen > sizeof(pre) - 1 && memcmp(path, pre, sizeof(pre) - 1) == 0
                            ? memchr(path + sizeof(pre) - 1, '/', plen - (sizeof(pre) - 1))
                            : NULL;
    size_t rest = slash ? plen - (size_t)(slash - path) : 0;
    int full = rest == sizeof(addr) - 1 && memcmp(slash, addr, rest) == 0;
    int shortj = rest == sizeof(addr) - 1 + sizeof(cpc) - 1 && memcmp(slash, addr, sizeof(addr) - 1) == 0 &&
                 memcmp(slash + sizeof(addr) - 1, cpc, sizeof(cpc) - 1) == 0;
    if (!full && !shortj) {
        JSON_ANSWER(req, 404, "{\"code\":\"NOT_FOUND\"}");
        return 0;
    }
    ssize_t hi = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    long ms = hi < 0 ? -1 : token_delay(req->headers.entries[hi].value.base, req->headers.entries[hi].value.len);
    if (ms < 0) {
        JSON_ANSWER(req, 401, "{\"code\":\"UNAUTHORIZED\",\"message\":\"bad token\"}");
        return 0;
    }
    const struct answer *a = &answers[device_index(path + sizeof(pre) - 1, (size_t)(slash - path) - (sizeof(pre) - 1))];
    served++;
    if (ms == 0) {
        respond(req, 200, "application/json", shortj ? a->shortj : a->full, shortj ? a->short_len : a->full_len);
        return 0;
    }
    struct delayed *d = malloc(sizeof(*d));
    if (!d)
        die("out of memory");
    d->req = req;
    d->a = a;
    d->shortj = shortj;
    uv_timer_init(req->conn->ctx->loop, &d->timer);
    d->timer.data = d;
    struct delayed **owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), on_pool_dispose);
    *owner = d;
    uv_timer_start(&d->timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static h2o_accept_ctx_t accept_ctx;

static void on_accept(uv_stream_t *listener, int status)
{
    if (status != 0)
        return;
    uv_tcp_t *conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
    h2o_accept(&accept_ctx, sock);
}

static void serve(int fd, SSL_CTX *ssl)
{
    static h2o_globalconf_t config;
    h2o_config_init(&config);
    config.http1.req_timeout = 120000; /* keep-alive: binday keeps its upstream connections */
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;
    static uv_loop_t loop;
    uv_loop_init(&loop);
    static h2o_context_t ctx;
    h2o_context_init(&ctx, &loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
    accept_ctx.ssl_ctx = ssl;
    static uv_tcp_t listener;
    uv_tcp_init(&loop, &listener);
    if (uv_tcp_open(&listener, fd) != 0 || uv_listen((uv_stream_t *)&listener, 4096, on_accept) != 0)
        die("cannot listen");
    uv_run(&loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *addresses = NULL, *pem_dir = NULL, *port_file = NULL;
    int workers = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--cert"))
            cert = v;
        else if (!strcmp(o, "--key"))
            key = v;
        else if (!strcmp(o, "--addresses"))
            addresses = v;
        else if (!strcmp(o, "--pem-dir"))
            pem_dir = v;
        else if (!strcmp(o, "--port-file"))
            port_file = v;
        else if (!strcmp(o, "--workers"))
            workers = atoi(v) > 0 ? atoi(v) : 1;
        else
            die("usage: fast_api --cert C --key K --addresses TSV [--pem-dir D] [--port-file F] [--workers N]");
    }
    if (!cert || !key || !addresses)
        die("--cert, --key and --addresses are required");
    load_addresses(addresses);
    if (pem_dir)
        load_pems(pem_dir);
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl || SSL_CTX_use_certificate_chain_file(ssl, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1)
        die("cannot load --cert/--key");
    signal(SIGPIPE, SIG_IGN);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* a deep accept queue: S3 opens ~1,000 upstream connections at once, and
     * a dropped SYN costs binday's 1 s connect timeout */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        die("cannot bind 127.0.0.1");
    if (port_file) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u", ntohs(sa.sin_port)) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0)
            die("cannot write --port-file");
    }
    if (workers == 1) {
        serve(fd, ssl);
        return 0;
    }
    for (int i = 0; i < workers; i++) {
        pid_t p = fork();
        if (p < 0)
            die("fork");
        if (p == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM); /* end with the parent */
            serve(fd, ssl);
            return 0;
        }
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    return 0;
}
