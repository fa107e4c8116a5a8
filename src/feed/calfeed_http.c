/* calfeed_http.c - owns the GET/HEAD /calendar/{token}.ics route: the
 * process's feed key and store, per-thread read state, and HTTP caching
 * (ETag from the body, If-None-Match -> 304, Cache-Control). The feed itself
 * is built by calfeed.c. */
#include "binday/feed/calfeed_http.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/keyfile.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

static struct {
    store_t *store;
    int fixed_today;
    secret_key_t key;
    int ready;
} G;

typedef struct feed_thread {
    store_reader_t *reader;
    lookup_result_t *res;
} feed_thread_t;

static __thread feed_thread_t *T;

int calfeed_global_init(store_t *store, const char *data_dir, int fixed_today, char *err, size_t err_size)
{
    if (store_keyfile(store, data_dir, CALFEED_KEY_FILE, 1, &G.key, err, err_size) != 0)
        return -1;
    G.store = store;
    G.fixed_today = fixed_today;
    G.ready = 1;
    return 0;
}

const secret_key_t *calfeed_key(void)
{
    return G.ready ? &G.key : NULL;
}

void calfeed_thread_cleanup(void)
{
    if (T == NULL)
        return;
    if (T->reader)
        store_reader_free(T->reader);
    free(T->res);
    free(T);
    T = NULL;
}

static feed_thread_t *thread_state(void)
{
    if (T)
        return T;
    T = xcalloc(1, sizeof(*T));
    T->reader = store_reader_new(G.store);
    T->res = xmalloc(sizeof(*T->res));
    if (T->reader == NULL) {
        calfeed_thread_cleanup();
        return NULL;
    }
    return T;
}

static void etag_of(const char *body, size_t len, char out[40])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)body, len, md);
    static const char hex[] = "0123456789abcdef";
    out[0] = '"';
    for (int i = 0; i < 16; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 15];
    }
    out[33] = '"';
    out[34] = '\0';
}

#define FEED_CACHE "private, max-age=3600"

int calfeed_handle(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const uint8_t *tok;
    size_t tlen;
    uint64_t uprn = 0;
    if (!G.ready || calfeed_path_token((const uint8_t *)req->path.base, plen, &tok, &tlen) != 0 ||
        calfeed_token_parse(&G.key, tok, tlen, &uprn) != 0) {
        server_send_error(req, 404, "not found");
        return 0;
    }
    int alarm = -1;
    if (req->query_at != SIZE_MAX) {
        const uint8_t *q = (const uint8_t *)req->path.base + req->query_at + 1;
        size_t qn = req->path.len - req->query_at - 1;
        int m = 0, r = calfeed_query_alarm(q, qn, &m);
        if (r < 0) {
            server_send_error(req, 400, "alarm: want HH:MM between 12:00 and 23:59");
            return 0;
        }
        if (r == 1)
            alarm = m;
    }
    feed_thread_t *ft = thread_state();
    if (ft == NULL) {
        server_send_error(req, 503, "overloaded");
        return 0;
    }
    char err[256];
    lookup_dataset_info_t info;
    if (lookup_dataset_info(ft->reader, &info, err, sizeof(err)) != 0) {
        log_error("calfeed.read", "request=%s error=\"%s\"", server_request_id(req), err);
        server_send_error(req, 500, "internal error");
        return 0;
    }
    int today = G.fixed_today ? G.fixed_today : date_today_london();
    MDB_txn *txn;
    if (store_reader_begin(ft->reader, &txn, err, sizeof(err)) != 0) {
        log_error("calfeed.read", "request=%s error=\"%s\"", server_request_id(req), err);
        server_send_error(req, 500, "internal error");
        return 0;
    }
    size_t len = 0;
    int found = 0;
    char *body = calfeed_build(store_reader_store(ft->reader), txn, ft->res, uprn, today, alarm,
                               info.imported_at, (unsigned)info.generation, &len, &found, err, sizeof(err));
    store_reader_end(ft->reader);
    if (body == NULL) {
        if (!found) {
            server_send_error(req, 404, "not found");
        } else {
            log_error("calfeed.build", "request=%s error=\"%s\"", server_request_id(req), err);
            server_send_error(req, 500, "internal error");
        }
        return 0;
    }
    char etag[40];
    etag_of(body, len, etag);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, h2o_strdup(&req->pool, etag, SIZE_MAX).base,
                   strlen(etag));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT(FEED_CACHE));
    ssize_t inm = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (inm != -1) {
        const h2o_iovec_t *v = &req->headers.entries[inm].value;
        if (calfeed_etag_matches((const uint8_t *)v->base, v->len, etag)) {
            free(body);
            log_info("calfeed.serve", "request=%s status=304", server_request_id(req));
            req->res.status = 304;
            req->res.reason = "Not Modified";
            h2o_send_inline(req, NULL, 0);
            return 0;
        }
    }
    log_info("calfeed.serve", "request=%s status=200 bytes=%zu alarm=%d", server_request_id(req), len, alarm >= 0);
    server_send(req, 200, "text/calendar; charset=utf-8", body, len);
    free(body);
    return 0;
}
