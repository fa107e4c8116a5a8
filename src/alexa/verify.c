/* verify.c - owns Alexa request verification: the check sequence, the
 * per-thread signing-chain cache (bounded LRU, shared downloads, negative
 * caching) and the global trust store / skill ids. See verify.h and
 * docs/verification.md; the pure pieces live in certurl.c, b64.c,
 * envelope.c and certchain.c. */
#include "binday/alexa/verify.h"

#include <h2o/linklist.h>
#include <stddef.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "binday/util/b64.h"
#include "binday/alexa/certchain.h"
#include "binday/alexa/certurl.h"
#include "binday/alexa/envelope.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/util/xalloc.h"

/* RSA signatures we accept before knowing the key: 2048, 3072, 4096 bits. */
#define SIG_MAX_BYTES 512
#define SIG_B64_MAX ((SIG_MAX_BYTES + 2) / 3 * 4)

/* The trust store is shared by every loop thread. Chain verification against
 * it runs only on a certificate-cache miss (about once per certificate URL
 * and thread), so it is serialised with store_lock: ThreadSanitizer showed
 * OpenSSL 3.0's X509_verify_cert writing lazily cached ASN.1 data of the
 * store's objects (ASN1_STRING_set under the store's lock) while another
 * thread's verification read it without that lock (ASN1_STRING_cmp). One
 * verification at a time costs nothing measurable and needs no reasoning
 * about OpenSSL's internal caching. */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    int inited;
    X509_STORE *store;
    char **skill_ids;
    size_t n_skill_ids;
} G;

typedef enum { ENT_FREE = 0, ENT_LOADING, ENT_READY, ENT_FAILED } ent_state_t;

/* A FIFO of calls: h2o's intrusive list (h2o/linklist.h, the one list type
 * binday uses), with its length for VERIFY_MAX_WAITERS. */
struct call_list {
    h2o_linklist_t anchor;
    size_t n;
};

struct entry {
    ent_state_t state;
    char url[CERTURL_MAX + 1];
    certchain_t *chain;           /* ENT_READY */
    verify_status_t fail_reason;  /* ENT_FAILED */
    int64_t fail_until_ms;        /* ENT_FAILED: retry after this */
    void *fetch;                  /* ENT_LOADING: fetcher handle */
    struct call_list waiters;     /* ENT_LOADING */
    uint64_t last_use;
    int pinned;                   /* its waiters are being answered: not evictable */
    verify_thread_t *vt;
};

struct verify_call {
    verify_thread_t *vt;
    struct call_list *list;       /* the list it is queued on */
    h2o_linklist_t link;          /* in *list */
    verify_cb cb;
    void *ud;
    envelope_t env;
    uint8_t sig[SIG_MAX_BYTES];
    size_t sig_len;
    uint8_t *body;                /* copy: the caller's buffer may go away */
    size_t body_len;
};

struct verify_thread {
    verify_fetcher_t fetcher;
    int64_t (*now_ms)(void *);
    void *now_ud;
    struct entry cache[VERIFY_CACHE_ENTRIES];
    uint64_t tick;
    struct call_list dispatching;
    verify_stats_t stats;
};

/* ---- global ---------------------------------------------------------------- */

int verify_global_init(const verify_conf_t *conf, char *err, size_t errlen)
{
    if (G.inited) {
        snprintf(err, errlen, "verify_global_init called twice");
        return -1;
    }
    if (conf == NULL || conf->n_skill_ids == 0) {
        snprintf(err, errlen, "no skill id configured (--skill-id)");
        return -1;
    }
    for (size_t i = 0; i < conf->n_skill_ids; i++)
        if (conf->skill_ids[i] == NULL || conf->skill_ids[i][0] == '\0') {
            snprintf(err, errlen, "empty skill id");
            return -1;
        }
    X509_STORE *store = certchain_store_new(conf->alexa_ca_file, err, errlen);
    if (store == NULL)
        return -1;
    G.store = store;
    G.skill_ids = xcalloc(conf->n_skill_ids, sizeof(char *));
    for (size_t i = 0; i < conf->n_skill_ids; i++)
        G.skill_ids[i] = xstrdup(conf->skill_ids[i]);
    G.n_skill_ids = conf->n_skill_ids;
    G.inited = 1;
    return 0;
}

void verify_global_cleanup(void)
{
    if (!G.inited)
        return;
    X509_STORE_free(G.store);
    for (size_t i = 0; i < G.n_skill_ids; i++)
        free(G.skill_ids[i]);
    free(G.skill_ids);
    memset(&G, 0, sizeof(G));
}

/* ---- helpers ---------------------------------------------------------------- */

static int64_t wall_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const verify_thread_t *vt)
{
    return vt->now_ms(vt->now_ud);
}

static void list_init(struct call_list *l)
{
    h2o_linklist_init_anchor(&l->anchor);
    l->n = 0;
}

static void list_push(struct call_list *l, verify_call_t *c)
{
    c->list = l;
    h2o_linklist_insert(&l->anchor, &c->link); /* before the anchor: at the tail */
    l->n++;
}

static void list_unlink(verify_call_t *c)
{
    struct call_list *l = c->list;
    if (l == NULL)
        return;
    h2o_linklist_unlink(&c->link);
    l->n--;
    c->list = NULL;
}

static verify_call_t *list_first(struct call_list *l)
{
    if (h2o_linklist_is_empty(&l->anchor))
        return NULL;
    return (verify_call_t *)((char *)l->anchor.next - offsetof(verify_call_t, link));
}

/* ---- metrics (docs/metrics.md) ---- */
/* indexed by verify_status_t - 1: every failure reason */
static const char *const reason_labels[] = {
    "no_cert_url",   "no_signature", "duplicate_header", "bad_url",      "bad_signature_encoding",
    "bad_signature_length", "bad_envelope", "bad_timestamp", "timestamp_skew", "wrong_skill",
    "cert_download", "cert_parse", "cert_expired", "cert_san", "cert_chain", "cert_key", "signature_mismatch",
    "internal",
};
_Static_assert(sizeof(reason_labels) / sizeof(reason_labels[0]) == VERIFY_STATUS_COUNT_ - 1,
               "one label per failure reason");
METRICS_DEFINE(m_failures, METRICS_COUNTER, "binday_alexa_verification_failures_total",
               "Alexa requests that failed verification, by reason", "reason", reason_labels,
               VERIFY_STATUS_COUNT_ - 1, NULL, NULL, 1, NULL, 0)
static const char *const cache_results[] = {"hit", "miss"};
METRICS_DEFINE(m_cache, METRICS_COUNTER, "binday_alexa_cert_cache_lookups_total",
               "Signing-certificate cache lookups: hit (a verified chain in this thread's cache) or miss (downloaded, "
               "or waiting for a download in progress)",
               "result", cache_results, 2, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_verified, METRICS_COUNTER, "binday_alexa_verified_requests_total",
               "Alexa requests that passed verification", NULL, NULL, 1, NULL, NULL, 1, NULL, 0)

static void log_failure(verify_status_t st, const char *detail)
{
    metrics_inc(&m_failures, (unsigned)st - 1, 0);
    if (detail)
        log_warn("alexa_verify_failed", "reason=%s %s", verify_status_name(st), detail);
    else
        log_warn("alexa_verify_failed", "reason=%s", verify_status_name(st));
}

/* Deliver a result: on success the envelope moves to the callee. */
static void deliver(verify_cb cb, void *ud, verify_status_t st, envelope_t *env)
{
    if (st == VERIFY_OK) {
        metrics_inc(&m_verified, 0, 0);
        json_t *root = env->root;
        const char *type = env->type;
        env->root = NULL;
        cb(ud, VERIFY_OK, root, type);
        return;
    }
    json_decref(env->root);
    env->root = NULL;
    log_failure(st, NULL);
    cb(ud, st, NULL, NULL);
}

static void call_free(verify_call_t *c)
{
    json_decref(c->env.root);
    free(c->body);
    free(c);
}

static void entry_clear(struct entry *e)
{
    certchain_free(e->chain);
    e->chain = NULL;
    e->state = ENT_FREE;
    e->url[0] = '\0';
    e->fetch = NULL;
}

static void entry_fail(verify_thread_t *vt, struct entry *e, verify_status_t why)
{
    certchain_free(e->chain);
    e->chain = NULL;
    e->state = ENT_FAILED;
    e->fail_reason = why;
    e->fail_until_ms = now_ms(vt) + VERIFY_FAIL_BACKOFF_MS;
}

/* The last two checks, on a READY or FAILED entry: dates (every use) and
 * the signature. */
static verify_status_t check_with_entry(verify_thread_t *vt, struct entry *e, const uint8_t *sig,
                                        size_t sig_len, const uint8_t *body, size_t body_len)
{
    if (e->state == ENT_FAILED)
        return e->fail_reason;
    if (e->state != ENT_READY)
        return VERIFY_E_INTERNAL; /* broken invariant; never expected */
    time_t now_s = (time_t)(now_ms(vt) / 1000);
    verify_status_t st = certchain_check_dates(e->chain, now_s);
    if (st != VERIFY_OK) {
        /* The cached chain went out of its validity period: keep the reason
         * for the backoff, then the URL is downloaded afresh (Amazon
         * rotates certificates under new URLs, so this is rare). */
        entry_fail(vt, e, st);
        return st;
    }
    return certchain_verify_signature(e->chain, sig, sig_len, body, body_len);
}

static struct entry *cache_find(verify_thread_t *vt, const char *url)
{
    for (size_t i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
        struct entry *e = &vt->cache[i];
        if (e->state != ENT_FREE && strcmp(e->url, url) == 0)
            return e;
    }
    return NULL;
}

/* A slot for a new URL: a free one, else the least recently used entry that
 * is not downloading and not being answered. NULL when every slot is busy. */
static struct entry *cache_slot(verify_thread_t *vt)
{
    struct entry *victim = NULL;
    for (size_t i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
        struct entry *e = &vt->cache[i];
        if (e->state == ENT_FREE)
            return e;
        if (e->state == ENT_LOADING || e->pinned)
            continue;
        if (victim == NULL || e->last_use < victim->last_use)
            victim = e;
    }
    if (victim != NULL) {
        entry_clear(victim);
        vt->stats.evictions++;
    }
    return victim;
}

/* ---- download ------------------------------------------------------------------ */

/* A logfmt token per outbound error (outbound_strerror is prose). */
static const char *ob_err_token(outbound_err_t e)
{
    switch (e) {
    case OUTBOUND_OK: return "ok";
    case OUTBOUND_E_TIMEOUT: return "timeout";
    case OUTBOUND_E_CONNECT: return "connect";
    case OUTBOUND_E_TLS: return "tls";
    case OUTBOUND_E_TOO_LARGE: return "too_large";
    case OUTBOUND_E_CANCELLED: return "cancelled";
    case OUTBOUND_E_OTHER: break;
    }
    return "other";
}

static void on_download(const outbound_res_t *res, void *ud)
{
    struct entry *e = ud;
    verify_thread_t *vt = e->vt;
    e->fetch = NULL;
    verify_status_t st = VERIFY_OK;
    char detail[64];
    detail[0] = '\0';
    if (res->err != OUTBOUND_OK) {
        st = VERIFY_E_CERT_DOWNLOAD;
        snprintf(detail, sizeof(detail), "download_error=%s", ob_err_token(res->err));
    } else if (res->status != 200) {
        st = VERIFY_E_CERT_DOWNLOAD;
        snprintf(detail, sizeof(detail), "http_status=%ld", res->status);
    } else if (res->body_len > CERTCHAIN_MAX_BYTES) {
        st = VERIFY_E_CERT_DOWNLOAD;
        snprintf(detail, sizeof(detail), "download_error=too_large");
    }
    certchain_t *chain = NULL;
    if (st == VERIFY_OK)
        st = certchain_parse(res->body, res->body_len, &chain);
    if (st == VERIFY_OK) {
        pthread_mutex_lock(&store_lock);
        st = certchain_verify(chain, G.store, (time_t)(now_ms(vt) / 1000));
        pthread_mutex_unlock(&store_lock);
    }
    if (st == VERIFY_OK) {
        e->state = ENT_READY;
        e->chain = chain;
        log_info("alexa_cert_cached", "url=\"%s\" certs=%zu elapsed_us=%llu", e->url, certchain_count(chain),
                 (unsigned long long)res->elapsed_us);
    } else {
        certchain_free(chain);
        entry_fail(vt, e, st);
        /* one line per download, so a storm of waiters does not hide the cause */
        log_warn("alexa_cert_failed", "reason=%s url=\"%s\"%s%s", verify_status_name(st), e->url,
                 detail[0] ? " " : "", detail);
    }

    /* Answer the waiters. Callbacks may start or cancel other calls, so the
     * queue moves to vt->dispatching (where verify_cancel can still unlink a
     * call) and the entry is pinned against eviction meanwhile. */
    e->pinned = 1;
    verify_call_t *c;
    while ((c = list_first(&e->waiters)) != NULL) {
        list_unlink(c);
        list_push(&vt->dispatching, c);
    }
    while ((c = list_first(&vt->dispatching)) != NULL) {
        list_unlink(c);
        verify_status_t cst = check_with_entry(vt, e, c->sig, c->sig_len, c->body, c->body_len);
        deliver(c->cb, c->ud, cst, &c->env);
        call_free(c);
    }
    e->pinned = 0;
}

/* ---- the check sequence --------------------------------------------------------- */

verify_call_t *verify_start(verify_thread_t *vt, const verify_input_t *in, verify_cb cb, void *ud)
{
    envelope_t env;
    memset(&env, 0, sizeof(env));
    verify_status_t st;
    char url[CERTURL_MAX + 1];
    uint8_t sig[SIG_MAX_BYTES];
    size_t sig_len = 0;

    /* 1. headers present, once each */
    if (in->duplicate_header) {
        st = VERIFY_E_DUPLICATE_HEADER;
        goto fail;
    }
    if (in->cert_url == NULL || in->cert_url_len == 0) {
        st = VERIFY_E_NO_CERT_URL;
        goto fail;
    }
    if (in->signature == NULL || in->signature_len == 0) {
        st = VERIFY_E_NO_SIGNATURE;
        goto fail;
    }
    /* 2. URL (nothing is fetched unless this passes; we fetch `url` exactly) */
    if (certurl_normalize((const uint8_t *)in->cert_url, in->cert_url_len, url, sizeof(url), NULL) != 0) {
        st = VERIFY_E_BAD_URL;
        goto fail;
    }
    /* 3. signature encoding and plausible RSA length */
    if (in->signature_len > SIG_B64_MAX) {
        st = VERIFY_E_BAD_SIGNATURE_LENGTH;
        goto fail;
    }
    if (b64_decode_strict((const uint8_t *)in->signature, in->signature_len, sig, sizeof(sig), &sig_len) != 0) {
        st = VERIFY_E_BAD_SIGNATURE_ENCODING;
        goto fail;
    }
    if (sig_len != 256 && sig_len != 384 && sig_len != 512) {
        st = VERIFY_E_BAD_SIGNATURE_LENGTH;
        goto fail;
    }
    /* 4. the body, parsed once: timestamp window and skill id */
    st = envelope_parse(in->body, in->body_len, &env);
    if (st != VERIFY_OK)
        goto fail;
    int64_t ts;
    if (env.timestamp == NULL ||
        envelope_parse_timestamp((const uint8_t *)env.timestamp, env.timestamp_len, &ts) != 0) {
        st = VERIFY_E_BAD_TIMESTAMP;
        goto fail;
    }
    int64_t now = now_ms(vt);
    st = envelope_check_window(env.type, env.type_len, ts, now);
    if (st != VERIFY_OK)
        goto fail;
    if (!envelope_app_id_allowed(env.app_id, env.app_id_len, (const char *const *)G.skill_ids,
                                 G.n_skill_ids)) {
        st = VERIFY_E_WRONG_SKILL;
        goto fail;
    }

    /* 5. the chain: cached, being downloaded, or to download */
    struct entry *e = cache_find(vt, url);
    if (e != NULL && e->state == ENT_FAILED && now >= e->fail_until_ms && !e->pinned) {
        entry_clear(e); /* backoff over: try again (not while its waiters are being answered) */
        e = NULL;
    }
    if (e != NULL && e->state != ENT_LOADING) {
        vt->stats.cache_hits++;
        metrics_inc(&m_cache, 0, 0);
        e->last_use = ++vt->tick;
        st = check_with_entry(vt, e, sig, sig_len, in->body, in->body_len);
        deliver(cb, ud, st, &env);
        return NULL;
    }
    metrics_inc(&m_cache, 1, 0);
    if (e == NULL) {
        e = cache_slot(vt);
        if (e == NULL) {
            log_failure(VERIFY_E_CERT_DOWNLOAD, "detail=cache_busy");
            st = VERIFY_E_CERT_DOWNLOAD;
            json_decref(env.root);
            cb(ud, st, NULL, NULL);
            return NULL;
        }
        memcpy(e->url, url, strlen(url) + 1);
        e->state = ENT_LOADING;
        e->vt = vt;
        e->last_use = ++vt->tick;
        outbound_req_t req = {
            .method = "GET",
            .url = e->url,
            .connect_timeout_ms = VERIFY_CONNECT_TIMEOUT_MS,
            .timeout_ms = VERIFY_DOWNLOAD_TIMEOUT_MS,
            .max_bytes = CERTCHAIN_MAX_BYTES,
        };
        vt->stats.downloads++;
        e->fetch = vt->fetcher.start(vt->fetcher.fud, &req, on_download, e);
        if (e->fetch == NULL) {
            entry_fail(vt, e, VERIFY_E_CERT_DOWNLOAD);
            log_warn("alexa_cert_failed", "reason=%s download_error=start",
                     verify_status_name(VERIFY_E_CERT_DOWNLOAD));
            deliver(cb, ud, VERIFY_E_CERT_DOWNLOAD, &env);
            return NULL;
        }
    }
    if (e->waiters.n >= VERIFY_MAX_WAITERS) {
        log_failure(VERIFY_E_CERT_DOWNLOAD, "detail=too_many_waiters");
        json_decref(env.root);
        cb(ud, VERIFY_E_CERT_DOWNLOAD, NULL, NULL);
        return NULL;
    }
    verify_call_t *c = xcalloc(1, sizeof(*c));
    c->vt = vt;
    c->cb = cb;
    c->ud = ud;
    c->env = env;
    memcpy(c->sig, sig, sig_len);
    c->sig_len = sig_len;
    c->body = xmalloc(in->body_len);
    memcpy(c->body, in->body, in->body_len);
    c->body_len = in->body_len;
    list_push(&e->waiters, c);
    return c;

fail:
    deliver(cb, ud, st, &env);
    return NULL;
}

void verify_cancel(verify_call_t *call)
{
    if (call == NULL)
        return;
    list_unlink(call);
    call_free(call);
}

/* ---- thread object -------------------------------------------------------------- */

verify_thread_t *verify_thread_new_with_fetcher(const verify_fetcher_t *f)
{
    verify_thread_t *vt = calloc(1, sizeof(*vt));
    if (vt == NULL)
        return NULL;
    vt->fetcher = *f;
    vt->now_ms = wall_ms;
    list_init(&vt->dispatching);
    for (size_t i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
        vt->cache[i].vt = vt;
        list_init(&vt->cache[i].waiters);
    }
    return vt;
}

void verify_thread_set_clock(verify_thread_t *vt, int64_t (*fn)(void *ud), void *ud)
{
    vt->now_ms = fn ? fn : wall_ms;
    vt->now_ud = ud;
}

void verify_thread_stats(const verify_thread_t *vt, verify_stats_t *out)
{
    *out = vt->stats;
}

void verify_thread_free(verify_thread_t *vt)
{
    if (vt == NULL)
        return;
    for (size_t i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
        struct entry *e = &vt->cache[i];
        if (e->state == ENT_LOADING && e->fetch != NULL)
            vt->fetcher.cancel(vt->fetcher.fud, e->fetch);
        verify_call_t *c;
        while ((c = list_first(&e->waiters)) != NULL) {
            list_unlink(c);
            call_free(c);
        }
        entry_clear(e);
    }
    free(vt);
}
