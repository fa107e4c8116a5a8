/* alerts.c - owns the sending of evening-before alerts (alerts.h): the plan
 * (who has what tomorrow), the Login with Amazon token cache, the POSTs with
 * retries, the sent records, and the scheduler thread of `binday serve`. */
#include "binday/alerts/alerts.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alerts/alertsub.h"
#include "binday/alexa/alexa_api.h"
#include "binday/data/lookup.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/util/xalloc.h"

#define TOKEN_URL "https://api.amazon.com/auth/o2/token"
#define CONNECT_TIMEOUT_S 5L
#define TIMEOUT_S 20L
#define RESP_MAX 16384
#define SECRET_MAX 512
#define TOKEN_MARGIN_S 60 /* refresh this long before Amazon's expiry */

/* ---- metrics (docs/metrics.md) ---- */
/* in alertev_outcome_t's order */
static const char *const outcome_labels[] = {"sent", "duplicate", "retry", "token", "user_gone", "failed"};
METRICS_DEFINE(m_posts, METRICS_COUNTER, "binday_alerts_posts_total",
               "Proactive Events POSTs by outcome: sent (2xx), duplicate (409), retry (429/5xx/no answer), token "
               "(401), user_gone (403: alerts stopped), failed (refused)",
               "outcome", outcome_labels, 6, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_pass_last, METRICS_GAUGE, "binday_alerts_last_pass_timestamp_seconds",
               "When the alert sender last finished a pass that was due (Unix time; 0 before the first)", NULL, NULL,
               1, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_pending, METRICS_GAUGE, "binday_alerts_pending",
               "Alerts of the last pass still unanswered (recorded 'sending'; retried with the same referenceId)",
               NULL, NULL, 1, NULL, NULL, 1, NULL, 0)

/* ---- configuration ---- */

int alerts_conf_from_json(const json_t *doc, alerts_conf_t *c, char *err, size_t err_size)
{
    memset(c, 0, sizeof(*c));
    c->send_minute = ALERTS_DEFAULT_MINUTE;
    c->retry_base_ms = 1000;
    c->max_attempts = 5;
    c->client_id = json_string_value(json_object_get(doc, "alerts_client_id"));
    c->secret_file = json_string_value(json_object_get(doc, "alerts_client_secret_file"));
    const char *t = json_string_value(json_object_get(doc, "alerts_time"));
    if (t && alertev_parse_hhmm(t, strlen(t), &c->send_minute) != 0) {
        snprintf(err, err_size, "alerts_time: want HH:MM (Europe/London), got '%.40s'", t);
        return -1;
    }
    const char *stage = json_string_value(json_object_get(doc, "alerts_stage"));
    c->live = stage && strcmp(stage, "live") == 0;
    json_t *v = json_object_get(doc, "alerts_retry_base_ms");
    if (json_is_integer(v))
        c->retry_base_ms = (long)json_integer_value(v);
    v = json_object_get(doc, "alerts_max_attempts");
    if (json_is_integer(v))
        c->max_attempts = (int)json_integer_value(v);
    if (alertev_map_from_json(json_object_get(doc, "alerts_garbage_types"), &c->map, err, err_size) != 0)
        return -1;
    if (c->client_id && !c->secret_file) {
        snprintf(err, err_size, "alerts_client_id needs alerts_client_secret_file");
        return -1;
    }
    return 0;
}

/* ---- the plan: who has a mapped collection on the day ---- */

typedef struct item {
    char user_hex[SECRET_HEX_LEN + 1];
    char ref[ALERTEV_REF_LEN + 1];
    char endpoint[ALERTSUB_MAX_ENDPOINT + 1];
    char *user_id; /* malloc'd; cleansed and freed with the plan */
    uint32_t types;
    int state;
} item_t;

typedef struct plan {
    privacy_t *p;
    const alerts_conf_t *c;
    store_t *store;
    MDB_txn *txn;
    lookup_result_t *res;
    int day;
    int keep; /* 0: preview (counts only) */
    item_t *items;
    size_t n, cap;
    alerts_stats_t *st;
    char err[300];
} plan_t;

static int plan_one(void *ud, const alertsub_t *s)
{
    plan_t *pl = ud;
    pl->st->subscribers++;
    if (lookup_uprn_txn(pl->store, pl->txn, s->uprn, pl->day, 1, pl->res, pl->err, sizeof(pl->err)) != 0)
        return -1;
    uint32_t types = 0;
    const char *sids[LOOKUP_MAX_COLLECTIONS];
    char sbuf[LOOKUP_MAX_COLLECTIONS][ALERTEV_SERVICE_MAX + 1];
    size_t ns = 0, on_day = 0;
    for (size_t i = 0; i < pl->res->n_collections; i++) {
        const lookup_collection_t *col = &pl->res->collections[i];
        if (col->date != pl->day || col->cancelled)
            continue;
        on_day++;
        uint32_t t = alertev_map_get(&pl->c->map, col->service_id.p, col->service_id.n);
        if (t == 0 || col->service_id.n > ALERTEV_SERVICE_MAX)
            continue;
        types |= t;
        memcpy(sbuf[ns], col->service_id.p, col->service_id.n);
        sbuf[ns][col->service_id.n] = 0;
        sids[ns] = sbuf[ns];
        ns++;
    }
    if (types == 0) {
        if (on_day > 0)
            pl->st->unmapped++;
        return 0;
    }
    pl->st->due++;
    for (int i = 0; i < ALERTEV_N_GARBAGE; i++)
        if (types & (1u << i))
            pl->st->by_type[i]++;
    char ref[ALERTEV_REF_LEN + 1];
    alertev_reference_id(pl->c->ref_key, s->user_hex, pl->day, sids, ns, ref);
    int state = ALERTSENT_NONE;
    int rc = alertsent_get(pl->p, pl->txn, ref, &state);
    if (rc)
        return rc;
    if (state == ALERTSENT_SENT || state == ALERTSENT_DROPPED || state == ALERTSENT_FAILED) {
        pl->st->already++;
        return 0;
    }
    if (!pl->keep || pl->n == ALERTS_MAX_PLAN)
        return 0;
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 64;
        pl->items = xrealloc(pl->items, pl->cap * sizeof(*pl->items));
    }
    item_t *it = &pl->items[pl->n++];
    memset(it, 0, sizeof(*it));
    memcpy(it->user_hex, s->user_hex, sizeof(it->user_hex));
    memcpy(it->ref, ref, sizeof(ref));
    snprintf(it->endpoint, sizeof(it->endpoint), "%s", s->endpoint);
    it->user_id = xstrdup(s->user_id);
    it->types = types;
    it->state = state;
    return 0;
}

static void plan_free(plan_t *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        OPENSSL_cleanse(pl->items[i].user_id, strlen(pl->items[i].user_id));
        free(pl->items[i].user_id);
    }
    free(pl->items);
    free(pl->res);
    pl->items = NULL;
    pl->res = NULL;
    pl->n = pl->cap = 0;
}

/* Read the plan in one read txn (retried when a vault rotation by another
 * process made the snapshot's key file go). Nothing slow happens inside it:
 * the POSTs come after it ended. */
static int plan_build(plan_t *pl, char *err, size_t err_size)
{
    store_reader_t *r = store_reader_new(pl->store);
    if (r == NULL)
        xalloc_die("store reader", sizeof(void *));
    pl->res = xmalloc(sizeof(*pl->res));
    int rc = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        alerts_stats_t keep = *pl->st;
        if (store_reader_begin(r, &pl->txn, err, err_size) != 0)
            break;
        pl->err[0] = 0;
        rc = alertsub_each(pl->p, pl->txn, plan_one, pl);
        store_reader_end(r);
        if (rc != VAULT_STALE)
            break;
        for (size_t i = 0; i < pl->n; i++)
            free(pl->items[i].user_id);
        pl->n = 0;
        *pl->st = keep;
    }
    store_reader_free(r);
    if (rc != 0 && err[0] == 0)
        snprintf(err, err_size, "alerts plan: %s", pl->err[0] ? pl->err : rc > 0 ? mdb_strerror(rc) : "failed");
    return rc == 0 ? 0 : -1;
}

int alerts_preview(privacy_t *p, const alerts_conf_t *c, int day, alerts_stats_t *st, char *err, size_t err_size)
{
    memset(st, 0, sizeof(*st));
    st->day = day;
    plan_t pl = {.p = p, .c = c, .store = privacy_store(p), .day = day, .keep = 0, .st = st};
    err[0] = 0;
    int rc = plan_build(&pl, err, err_size);
    plan_free(&pl);
    return rc;
}

/* ---- the sender ---- */

struct alerts {
    privacy_t *p;
    alerts_conf_t c;
    CURL *curl;
    char token[ALERTEV_TOKEN_MAX + 1];
    time_t token_until; /* 0: none */
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop; /* under mu */
};

alerts_t *alerts_new(privacy_t *p, const alerts_conf_t *conf)
{
    alerts_t *a = xcalloc(1, sizeof(*a));
    a->p = p;
    a->c = *conf;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    return a;
}

void alerts_free(alerts_t *a)
{
    if (a == NULL)
        return;
    alerts_stop(a);
    if (a->curl)
        curl_easy_cleanup(a->curl);
    OPENSSL_cleanse(a->token, sizeof(a->token));
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

static int stopping(alerts_t *a)
{
    pthread_mutex_lock(&a->mu);
    int s = a->stop;
    pthread_mutex_unlock(&a->mu);
    return s;
}

/* Wait ms (or until stopped): 1 when stopping. */
static int pause_ms(alerts_t *a, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT)
        ;
    int s = a->stop;
    pthread_mutex_unlock(&a->mu);
    return s;
}

typedef struct resp {
    char b[RESP_MAX];
    size_t len;
    int over;
} resp_t;

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
    resp_t *r = ud;
    size_t k = sz * n;
    if (r->len + k > sizeof(r->b) - 1) {
        r->over = 1; /* bounded: the rest is read and dropped */
        return k;
    }
    memcpy(r->b + r->len, d, k);
    r->len += k;
    r->b[r->len] = 0;
    return k;
}

static int on_progress(void *ud, curl_off_t a1, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a1, (void)b, (void)c, (void)d;
    return stopping(ud); /* non-zero aborts the transfer */
}

/* One POST: the HTTP status, or 0 when there was no answer (errbuf says why). */
static long post(alerts_t *a, const char *url, const char *auth, const char *ctype, const char *body, size_t len,
                 resp_t *r, char errbuf[CURL_ERROR_SIZE])
{
    if (a->curl == NULL && (a->curl = curl_easy_init()) == NULL) {
        snprintf(errbuf, CURL_ERROR_SIZE, "curl_easy_init failed");
        return 0;
    }
    CURL *c = a->curl;
    curl_easy_reset(c); /* keeps the connection cache: the next POST reuses the connection */
    struct curl_slist *h = curl_slist_append(NULL, ctype);
    char ah[ALERTEV_TOKEN_MAX + 32];
    if (auth) {
        snprintf(ah, sizeof(ah), "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, ah);
    }
    h = curl_slist_append(h, "Expect:");
    r->len = 0;
    r->over = 0;
    r->b[0] = 0;
    errbuf[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->c.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, a->c.ca_file);
    if (a->c.connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, (struct curl_slist *)a->c.connect_to);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else if (errbuf[0] == 0)
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    OPENSSL_cleanse(ah, sizeof(ah));
    return status;
}

static int read_secret(const char *path, char *out, size_t cap, char *err, size_t err_size)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, err_size, "alerts_client_secret_file: cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = 0;
    if (n == 0 || strchr(out, '\n')) {
        OPENSSL_cleanse(out, cap);
        snprintf(err, err_size, "alerts_client_secret_file: want one line");
        return -1;
    }
    return 0;
}

/* 0: a->token is usable; 1: try again later (429, 5xx, no answer); -1: it
 * cannot work (credentials, configuration) */
static int get_token(alerts_t *a, time_t now, char *err, size_t err_size)
{
    if (a->token_until > now + TOKEN_MARGIN_S)
        return 0;
    char secret[SECRET_MAX], body[2 * SECRET_MAX * 3 + 512];
    if (read_secret(a->c.secret_file, secret, sizeof(secret), err, err_size) != 0)
        return -1;
    if (a->curl == NULL && (a->curl = curl_easy_init()) == NULL) {
        snprintf(err, err_size, "curl_easy_init failed");
        return 1;
    }
    char *id = curl_easy_escape(a->curl, a->c.client_id, 0), *sec = curl_easy_escape(a->curl, secret, 0);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (id == NULL || sec == NULL) { /* only memory fails it */
        if (sec)
            OPENSSL_cleanse(sec, strlen(sec));
        curl_free(id);
        curl_free(sec);
        snprintf(err, err_size, "token: out of memory");
        return 1;
    }
    int bl = snprintf(body, sizeof(body),
                      "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=alexa%%3A%%3Aproactive_events",
                      id, sec);
    OPENSSL_cleanse(sec, strlen(sec));
    curl_free(id);
    curl_free(sec);
    if (bl < 0 || (size_t)bl >= sizeof(body)) {
        OPENSSL_cleanse(body, sizeof(body));
        snprintf(err, err_size, "alerts: client id or secret too long");
        return -1;
    }
    resp_t *r = xmalloc(sizeof(*r));
    char eb[CURL_ERROR_SIZE];
    long st = post(a, a->c.token_url ? a->c.token_url : TOKEN_URL, NULL,
                   "Content-Type: application/x-www-form-urlencoded", body, (size_t)bl, r, eb);
    OPENSSL_cleanse(body, sizeof(body));
    int rc;
    long expires = 0;
    if (st == 200 && !r->over &&
        alertev_parse_token((const uint8_t *)r->b, r->len, a->token, sizeof(a->token), &expires, err, err_size) ==
            0) {
        a->token_until = now + expires;
        log_info("alerts.token", "expires_in=%ld", expires);
        rc = 0;
    } else if (st == 200) {
        rc = -1; /* err says what was wrong with it */
    } else {
        snprintf(err, err_size, "token: %s%ld%s%s", st ? "HTTP " : "no answer", st, st ? "" : ": ", st ? "" : eb);
        rc = st == 0 || st == 429 || st >= 500 ? 1 : -1;
    }
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
    return rc;
}

static void record(alerts_t *a, const item_t *it, int state, int day)
{
    char err[300];
    if (alertsent_put(a->p, it->ref, state, day, err, sizeof(err)) != 0)
        log_error("alerts.record", "ref=%s state=%s error=\"%s\"", it->ref, alertsent_state_name(state), err);
}

/* One alert, with its retries. Returns -1 when no token can be had at all
 * (the pass stops: every other alert would fail the same way). */
static int send_item(alerts_t *a, const item_t *it, int day, alerts_stats_t *st, char *err, size_t err_size)
{
    char url[ALERTSUB_MAX_ENDPOINT + 64], ep[ALERTSUB_MAX_ENDPOINT + 1];
    snprintf(ep, sizeof(ep), "%s", it->endpoint);
    size_t el = strlen(ep);
    if (el > 0 && ep[el - 1] == '/')
        ep[--el] = 0;
    if (!alexa_api_endpoint_ok(ep)) { /* checked at subscription; a stored one is never used unchecked */
        log_error("alerts.send", "user=%s ref=%s error=\"not an Amazon API endpoint\"", it->user_hex, it->ref);
        record(a, it, ALERTSENT_FAILED, day);
        st->failed++;
        return 0;
    }
    snprintf(url, sizeof(url), "%s/v1/proactiveEvents%s", ep, a->c.live ? "" : "/stages/development");
    if (it->state == ALERTSENT_NONE) {
        /* durable before the first POST: after a crash the same alert goes
         * again with the same referenceId (Amazon keeps one), never a new one */
        char e2[300];
        if (alertsent_put(a->p, it->ref, ALERTSENT_SENDING, day, e2, sizeof(e2)) != 0) {
            log_error("alerts.record", "ref=%s error=\"%s\" note=\"not sent\"", it->ref, e2);
            st->pending++;
            return 0;
        }
    }
    resp_t *r = xmalloc(sizeof(*r));
    int result = 0, attempts = 0, final = 0;
    long status = 0;
    alertev_outcome_t o = ALERTEV_RETRY;
    while (!final && attempts < (a->c.max_attempts > 0 ? a->c.max_attempts : 1) && !stopping(a)) {
        if (attempts > 0) {
            st->retries++;
            if (pause_ms(a, alertev_backoff_ms(a->c.retry_base_ms, attempts)))
                break;
        }
        attempts++;
        time_t now = time(NULL);
        int tr = get_token(a, now, err, err_size);
        if (tr < 0) {
            result = -1;
            break;
        }
        if (tr > 0) {
            log_warn("alerts.token", "error=\"%s\" note=\"retrying\"", err);
            continue;
        }
        alertev_t ev = {it->user_id, it->ref, now, day, it->types};
        size_t bl = 0;
        char *body = alertev_build(&ev, &bl, err, err_size);
        if (body == NULL) {
            o = ALERTEV_FAILED;
            final = 1;
            break;
        }
        char eb[CURL_ERROR_SIZE];
        status = post(a, url, a->token, "Content-Type: application/json", body, bl, r, eb);
        OPENSSL_cleanse(body, bl);
        free(body);
        o = alertev_classify(status);
        metrics_inc(&m_posts, (unsigned)o, 0);
        if (o == ALERTEV_TOKEN) {
            a->token_until = 0; /* stale: the next attempt fetches another */
            continue;
        }
        if (o == ALERTEV_RETRY) {
            log_warn("alerts.send", "user=%s ref=%s status=%ld attempt=%d%s%s%s", it->user_hex, it->ref, status,
                     attempts, status ? "" : " error=\"", status ? "" : eb, status ? "" : "\"");
            continue;
        }
        final = 1;
    }
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
    if (result < 0)
        return -1;
    if (!final) {
        st->pending++; /* still "sending": the next pass tries again, same referenceId */
        log_warn("alerts.send", "user=%s ref=%s outcome=pending attempts=%d", it->user_hex, it->ref, attempts);
        return 0;
    }
    switch (o) {
    case ALERTEV_SENT:
    case ALERTEV_DUPLICATE:
        record(a, it, ALERTSENT_SENT, day);
        if (o == ALERTEV_SENT)
            st->sent++;
        else
            st->duplicate++;
        break;
    case ALERTEV_USER_GONE: {
        /* the user withdrew the permission (or never gave it): stop their alerts now */
        char e2[300];
        size_t n = 0;
        if (privacy_erase(a->p, it->user_hex, PRIVACY_ERASE_ALERTS, "alert_403", &n, e2, sizeof(e2)) != 0)
            log_error("alerts.stop", "user=%s error=\"%s\"", it->user_hex, e2);
        record(a, it, ALERTSENT_DROPPED, day);
        st->dropped++;
        break;
    }
    default:
        record(a, it, ALERTSENT_FAILED, day);
        st->failed++;
        break;
    }
    log_info("alerts.send", "user=%s ref=%s outcome=%s status=%ld attempts=%d", it->user_hex, it->ref,
             alertev_outcome_name(o), status, attempts);
    return 0;
}

int alerts_send_due(alerts_t *a, time_t now, alerts_stats_t *st, char *err, size_t err_size)
{
    memset(st, 0, sizeof(*st));
    err[0] = 0;
    int day;
    if (!alertev_due(now, a->c.send_minute, &day))
        return 0;
    st->day = day;
    plan_t pl = {.p = a->p, .c = &a->c, .store = privacy_store(a->p), .day = day, .keep = 1, .st = st};
    int rc = plan_build(&pl, err, err_size);
    for (size_t i = 0; rc == 0 && i < pl.n && !stopping(a); i++)
        rc = send_item(a, &pl.items[i], day, st, err, err_size);
    plan_free(&pl);
    if (rc == 0)
        metrics_set(&m_pass_last, 0, 0, (int64_t)time(NULL));
    metrics_set(&m_pending, 0, 0, (int64_t)st->pending);
    char d[11];
    log_info("alerts.pass", "day=%s subscribers=%zu due=%zu sent=%zu duplicate=%zu dropped=%zu failed=%zu "
                            "pending=%zu already=%zu unmapped=%zu retries=%zu%s%s%s",
             date_format(day, d), st->subscribers, st->due, st->sent, st->duplicate, st->dropped, st->failed,
             st->pending, st->already, st->unmapped, st->retries, rc ? " error=\"" : "", rc ? err : "",
             rc ? "\"" : "");
    return rc;
}

/* ---- the scheduler thread of `binday serve` ---- */

#define PASS_BUSY_MS 60000L
#define PASS_IDLE_MS 600000L

/* Now, or with --today that date at the real time of day. */
static time_t pass_time(const alerts_t *a)
{
    time_t now = time(NULL);
    if (a->c.fixed_today == 0)
        return now;
    long long local = date_london_local_seconds(now);
    return date_london_to_unix(a->c.fixed_today, (int)((local % 86400 + 86400) % 86400 / 60));
}

static void *run(void *arg)
{
    alerts_t *a = arg;
    do {
        alerts_stats_t st;
        char err[300];
        long next = PASS_IDLE_MS;
        if (alerts_send_due(a, pass_time(a), &st, err, sizeof(err)) != 0 || st.pending > 0)
            next = PASS_BUSY_MS;
        /* just before the send time: wake for it rather than up to 10 minutes late */
        long long local = date_london_local_seconds(time(NULL));
        long into = (long)(local % 86400);
        long to_send = (long)a->c.send_minute * 60 - into;
        if (to_send > 0 && to_send * 1000 < next)
            next = to_send * 1000 + 1000;
        if (pause_ms(a, next))
            break;
    } while (1);
    return NULL;
}

int alerts_start(alerts_t *a)
{
    pthread_mutex_lock(&a->mu);
    a->stop = 0;
    int rc = pthread_create(&a->tid, NULL, run, a);
    a->running = rc == 0;
    pthread_mutex_unlock(&a->mu);
    return rc == 0 ? 0 : -1;
}

void alerts_stop(alerts_t *a)
{
    pthread_mutex_lock(&a->mu);
    int running = a->running;
    a->stop = 1;
    a->running = 0;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (running)
        pthread_join(a->tid, NULL);
}
