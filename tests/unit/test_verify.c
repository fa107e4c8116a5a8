/* test_verify.c - the verification sequence and the per-thread chain cache,
 * with real certificates (alexa_pki.py) and a scripted downloader standing in
 * for the network, so every download outcome and interleaving is exact:
 * check order (nothing fetched before the cheap checks pass), shared
 * downloads, negative caching with backoff, dates re-checked on every use,
 * LRU bound, cancellation, and every failure reason. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "binday/alexa/verify.h"
#include "pki_helper.h"
#include "tap.h"

/* ---- scripted downloader ---- */
struct fake_dl {
    int used, cancelled, done;
    char url[600];
    long timeout_ms, connect_timeout_ms;
    size_t max_bytes;
    char method[8];
    outbound_cb cb;
    void *ud;
};
static struct fake_dl dls[64];
static int n_dls, fail_start;

static void *fake_start(void *fud, const outbound_req_t *req, outbound_cb cb, void *ud)
{
    (void)fud;
    if (fail_start || n_dls >= 64)
        return NULL;
    struct fake_dl *d = &dls[n_dls++];
    memset(d, 0, sizeof(*d));
    d->used = 1;
    snprintf(d->url, sizeof(d->url), "%s", req->url);
    snprintf(d->method, sizeof(d->method), "%s", req->method);
    d->timeout_ms = req->timeout_ms;
    d->connect_timeout_ms = req->connect_timeout_ms;
    d->max_bytes = req->max_bytes;
    d->cb = cb;
    d->ud = ud;
    return d;
}

static void fake_cancel(void *fud, void *h)
{
    (void)fud;
    ((struct fake_dl *)h)->cancelled = 1;
}

static void complete(int i, outbound_err_t err, long status, const char *pemfile, const void *raw, size_t rawlen)
{
    struct fake_dl *d = &dls[i];
    unsigned char *body = NULL;
    size_t len = rawlen;
    if (pemfile)
        body = pki_read(pemfile, &len);
    outbound_res_t res = {.err = err, .status = status, .body = pemfile ? body : raw, .body_len = len,
                          .elapsed_us = 1234};
    d->done = 1;
    d->cb(&res, d->ud);
    free(body);
}

/* ---- clock ---- */
static int64_t clock_ms;
static int64_t test_clock(void *ud)
{
    (void)ud;
    return clock_ms;
}

/* ---- results ---- */
struct result {
    int called;
    verify_status_t st;
    char type[64];
    int had_env;
};

static void on_result(void *ud, verify_status_t st, json_t *env, const char *type)
{
    struct result *r = ud;
    r->called++;
    r->st = st;
    r->had_env = env != NULL;
    snprintf(r->type, sizeof(r->type), "%s", type ? type : "");
    if (st == VERIFY_OK && json_is_object(env) && strcmp(json_string_value(json_object_get(json_object_get(env, "request"), "type")), type) != 0)
        r->had_env = -1; /* type must point into the envelope's request.type */
    json_decref(env);
}

/* a callback that cancels another pending call (re-entrancy) */
static verify_call_t *to_cancel;
static void on_result_cancel(void *ud, verify_status_t st, json_t *env, const char *type)
{
    on_result(ud, st, env, type);
    verify_cancel(to_cancel);
    to_cancel = NULL;
}

/* ---- requests ---- */
static const char *URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem";
static const char *SKILL = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555";

static char body[4096];
static size_t body_len;
static char sigb64[1024];

static void fmt_ts(int64_t ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Build a body of `type`, stamped `age_ms` before the test clock, for skill
 * `app`, and sign it with `key`. */
static void make(const char *type, int64_t age_ms, const char *app, const char *key)
{
    char ts[80]; /* room for any int fields: -Wformat-truncation at -O1 */
    fmt_ts(clock_ms - age_ms, ts, sizeof(ts));
    body_len = (size_t)snprintf(body, sizeof(body),
                                "{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{\"applicationId\":\"%s\"},"
                                "\"user\":{\"userId\":\"amzn1.ask.account.X\"}}},\"request\":{\"type\":\"%s\","
                                "\"requestId\":\"amzn1.echo-api.request.1\",\"timestamp\":\"%s\",\"locale\":\"en-GB\"}}",
                                app, type, ts);
    unsigned char sig[512];
    size_t sl = pki_sign(key, body, body_len, sig, sizeof(sig));
    EVP_EncodeBlock((unsigned char *)sigb64, sig, (int)sl);
}

static verify_call_t *start(verify_thread_t *vt, const char *url, const char *sig, struct result *r)
{
    memset(r, 0, sizeof(*r));
    verify_input_t in = {.cert_url = url, .cert_url_len = url ? strlen(url) : 0, .signature = sig,
                         .signature_len = sig ? strlen(sig) : 0, .body = (const uint8_t *)body,
                         .body_len = body_len};
    return verify_start(vt, &in, on_result, r);
}

/* Expect an immediate (synchronous) answer with status `want` and no new download. */
static void expect_now(verify_thread_t *vt, const char *url, const char *sig, verify_status_t want,
                       const char *name)
{
    struct result r;
    int before = n_dls;
    verify_call_t *c = start(vt, url, sig, &r);
    ok(c == NULL && r.called == 1 && r.st == want && n_dls == before && (r.had_env == 1) == (want == VERIFY_OK),
       "%s -> %s", name, verify_status_name(want));
    if (r.called && r.st != want)
        printf("#   got %s\n", verify_status_name(r.st));
}

int main(void)
{
    char err[256];
    pki_dir();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;

    const char *ids[] = {"amzn1.ask.skill.other", SKILL};
    verify_conf_t bad_conf = {.alexa_ca_file = pki_path("root.pem"), .skill_ids = ids, .n_skill_ids = 0};
    ok(verify_global_init(&bad_conf, err, sizeof(err)) == -1, "no skill id: init refused (%s)", err);
    verify_conf_t conf = {.alexa_ca_file = pki_path("nope.pem"), .skill_ids = ids, .n_skill_ids = 2};
    ok(verify_global_init(&conf, err, sizeof(err)) == -1, "unreadable CA file: init refused");
    conf.alexa_ca_file = pki_path("root.pem");
    is_int(verify_global_init(&conf, err, sizeof(err)), 0, "global init");

    verify_fetcher_t f = {.start = fake_start, .cancel = fake_cancel};
    verify_thread_t *vt = verify_thread_new_with_fetcher(&f);
    verify_thread_set_clock(vt, test_clock, NULL);

    /* ---- cheap checks first: none of these downloads anything ---- */
    make("LaunchRequest", 0, SKILL, "good.key");
    expect_now(vt, NULL, sigb64, VERIFY_E_NO_CERT_URL, "missing cert URL");
    expect_now(vt, "", sigb64, VERIFY_E_NO_CERT_URL, "empty cert URL");
    expect_now(vt, URL, NULL, VERIFY_E_NO_SIGNATURE, "missing Signature-256");
    expect_now(vt, URL, "", VERIFY_E_NO_SIGNATURE, "empty Signature-256");
    {
        struct result r;
        verify_input_t in = {.cert_url = URL, .cert_url_len = strlen(URL), .signature = sigb64,
                             .signature_len = strlen(sigb64), .body = (const uint8_t *)body,
                             .body_len = body_len, .duplicate_header = 1};
        memset(&r, 0, sizeof(r));
        ok(verify_start(vt, &in, on_result, &r) == NULL && r.called == 1 && r.st == VERIFY_E_DUPLICATE_HEADER &&
               n_dls == 0,
           "a verification header sent twice -> VERIFY_E_DUPLICATE_HEADER");
    }
    expect_now(vt, "http://s3.amazonaws.com/echo.api/echo-api-cert.pem", sigb64, VERIFY_E_BAD_URL, "http URL");
    expect_now(vt, "https://s3.amazonaws.com/echo.api/../evil.pem", sigb64, VERIFY_E_BAD_URL, "escaping URL");
    expect_now(vt, URL, "not base64!", VERIFY_E_BAD_SIGNATURE_ENCODING, "non-base64 signature");
    {
        char s2[1100];
        snprintf(s2, sizeof(s2), "%.100s\n%s", sigb64, sigb64 + 100);
        expect_now(vt, URL, s2, VERIFY_E_BAD_SIGNATURE_ENCODING, "signature with a line break");
        snprintf(s2, sizeof(s2), "%.340s", sigb64);
        expect_now(vt, URL, s2, VERIFY_E_BAD_SIGNATURE_LENGTH, "signature of 255 bytes");
        expect_now(vt, URL, "AAAA", VERIFY_E_BAD_SIGNATURE_LENGTH, "signature of 3 bytes");
        memset(s2, 'A', 1000);
        s2[1000] = '\0';
        expect_now(vt, URL, s2, VERIFY_E_BAD_SIGNATURE_LENGTH, "signature of 750 bytes");
    }
    {
        const char *saved = "x";
        size_t sl = body_len;
        char keep[4096];
        memcpy(keep, body, sizeof(keep));
        memcpy(body, "not json", 8);
        body_len = 8;
        expect_now(vt, URL, sigb64, VERIFY_E_BAD_ENVELOPE, "body not JSON");
        body_len = 0;
        expect_now(vt, URL, sigb64, VERIFY_E_BAD_ENVELOPE, "empty body");
        body_len = (size_t)snprintf(body, sizeof(body), "{\"request\":{\"type\":\"LaunchRequest\"},"
                                    "\"context\":{\"System\":{\"application\":{\"applicationId\":\"%s\"}}}}", SKILL);
        expect_now(vt, URL, sigb64, VERIFY_E_BAD_TIMESTAMP, "missing timestamp");
        body_len = (size_t)snprintf(body, sizeof(body), "{\"request\":{\"type\":\"LaunchRequest\",\"timestamp\":"
                                    "\"yesterday\"},\"context\":{\"System\":{\"application\":{\"applicationId\":\"%s\"}}}}", SKILL);
        expect_now(vt, URL, sigb64, VERIFY_E_BAD_TIMESTAMP, "unparseable timestamp");
        memcpy(body, keep, sizeof(keep));
        body_len = sl;
        (void)saved;
    }
    make("LaunchRequest", 151000, SKILL, "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_TIMESTAMP_SKEW, "151 s old");
    make("LaunchRequest", -151000, SKILL, "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_TIMESTAMP_SKEW, "151 s in the future");
    make("AlexaSkillEvent.SkillEnabled", 61 * 60000, SKILL, "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_TIMESTAMP_SKEW, "event 61 min old");
    make("LaunchRequest", 0, "amzn1.ask.skill.wrong", "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_WRONG_SKILL, "wrong skill id");
    make("LaunchRequest", 0, "", "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_WRONG_SKILL, "empty skill id");
    is_int(n_dls, 0, "no download for any request failing a cheap check");

    /* ---- first good request: one download of exactly the normalized URL ---- */
    make("LaunchRequest", 149000, SKILL, "good.key");
    struct result r1, r2, r3;
    verify_call_t *c1 = start(vt, "HTTPS://S3.amazonaws.com:443/echo.api/../echo.api/./echo-api-cert.pem", sigb64, &r1);
    ok(c1 != NULL && r1.called == 0, "cache miss: pending");
    is_int(n_dls, 1, "one download started");
    is_str(dls[0].url, URL, "downloads the normalized URL");
    is_str(dls[0].method, "GET", "  with GET");
    is_int(dls[0].timeout_ms, 3000, "  3 s timeout");
    is_int(dls[0].max_bytes, 64 * 1024, "  64 KiB cap");
    verify_call_t *c2 = start(vt, URL, sigb64, &r2);
    make("AlexaSkillEvent.SkillPermissionChanged", 59 * 60000, SKILL, "good.key");
    verify_call_t *c3 = start(vt, URL, sigb64, &r3);
    ok(c2 != NULL && c3 != NULL, "two more requests for the same URL wait");
    is_int(n_dls, 1, "  sharing the one download");
    complete(0, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
    ok(r1.called == 1 && r1.st == VERIFY_OK && r1.had_env == 1, "first waiter verified");
    is_str(r1.type, "LaunchRequest", "  request type reported");
    ok(r2.called == 1 && r2.st == VERIFY_OK, "second waiter verified");
    ok(r3.called == 1 && r3.st == VERIFY_OK, "event 59 min old verified");
    is_str(r3.type, "AlexaSkillEvent.SkillPermissionChanged", "  event type reported");

    /* ---- cached chain: synchronous answers ---- */
    make("IntentRequest", 0, SKILL, "good.key");
    expect_now(vt, URL, sigb64, VERIFY_OK, "cached chain, good request");
    expect_now(vt, "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem", sigb64, VERIFY_OK,
               "same URL spelled differently hits the cache");
    {
        /* still valid JSON with the right skill id and time: only the signature catches it */
        char *p = strstr(body, "request.1");
        p[8] = '2';
        expect_now(vt, URL, sigb64, VERIFY_E_SIGNATURE_MISMATCH, "body changed by one byte");
        p[8] = '1';
        char s2[1024];
        strcpy(s2, sigb64);
        s2[10] = s2[10] == 'A' ? 'B' : 'A';
        expect_now(vt, URL, s2, VERIFY_E_SIGNATURE_MISMATCH, "tampered signature");
        make("IntentRequest", 0, SKILL, "other.key");
        expect_now(vt, URL, sigb64, VERIFY_E_SIGNATURE_MISMATCH, "signed with another key");
        make("IntentRequest", 0, SKILL, "good.key");
        body[body_len++] = ' ';
        expect_now(vt, URL, sigb64, VERIFY_E_SIGNATURE_MISMATCH, "body with one byte appended");
    }
    /* dates are re-checked on every use of the cached chain */
    int64_t real = clock_ms;
    clock_ms += 20LL * 365 * 86400 * 1000;
    make("IntentRequest", 0, SKILL, "good.key");
    expect_now(vt, URL, sigb64, VERIFY_E_CERT_EXPIRED, "cached chain expired by now (clock +20 y)");
    expect_now(vt, URL, sigb64, VERIFY_E_CERT_EXPIRED, "  remembered during the backoff, no download");
    clock_ms += VERIFY_FAIL_BACKOFF_MS + 1;
    make("IntentRequest", 0, SKILL, "good.key");
    struct result r4;
    verify_call_t *c4 = start(vt, URL, sigb64, &r4);
    ok(c4 != NULL && n_dls == 2, "after the backoff the chain is downloaded again");
    complete(1, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
    ok(r4.called == 1 && r4.st == VERIFY_E_CERT_EXPIRED, "  and is still expired");
    clock_ms = real;

    /* ---- download failures: reason, negative cache, no storm ---- */
    struct {
        const char *url;
        outbound_err_t err;
        long status;
        const char *file;
        const char *raw;
        verify_status_t want;
        const char *name;
    } cases[] = {
        {"https://s3.amazonaws.com/echo.api/down.pem", OUTBOUND_E_CONNECT, 0, NULL, "", VERIFY_E_CERT_DOWNLOAD, "host down"},
        {"https://s3.amazonaws.com/echo.api/slow.pem", OUTBOUND_E_TIMEOUT, 0, NULL, "", VERIFY_E_CERT_DOWNLOAD, "timeout"},
        {"https://s3.amazonaws.com/echo.api/tls.pem", OUTBOUND_E_TLS, 0, NULL, "", VERIFY_E_CERT_DOWNLOAD, "untrusted TLS"},
        {"https://s3.amazonaws.com/echo.api/404.pem", OUTBOUND_OK, 404, NULL, "<Error/>", VERIFY_E_CERT_DOWNLOAD, "404"},
        {"https://s3.amazonaws.com/echo.api/301.pem", OUTBOUND_OK, 301, "chain_good.pem", NULL, VERIFY_E_CERT_DOWNLOAD, "redirect status"},
        {"https://s3.amazonaws.com/echo.api/junk.pem", OUTBOUND_OK, 200, NULL, "junk junk", VERIFY_E_CERT_PARSE, "200 with junk"},
        {"https://s3.amazonaws.com/echo.api/big.pem", OUTBOUND_E_TOO_LARGE, 0, NULL, "", VERIFY_E_CERT_DOWNLOAD, "oversize body"},
        {"https://s3.amazonaws.com/echo.api/san.pem", OUTBOUND_OK, 200, "chain_wrong_san.pem", NULL, VERIFY_E_CERT_SAN, "wrong SAN"},
        {"https://s3.amazonaws.com/echo.api/cn.pem", OUTBOUND_OK, 200, "chain_cn_only.pem", NULL, VERIFY_E_CERT_SAN, "SAN only in CN"},
        {"https://s3.amazonaws.com/echo.api/exp.pem", OUTBOUND_OK, 200, "chain_expired.pem", NULL, VERIFY_E_CERT_EXPIRED, "expired"},
        {"https://s3.amazonaws.com/echo.api/nyv.pem", OUTBOUND_OK, 200, "chain_not_yet_valid.pem", NULL, VERIFY_E_CERT_EXPIRED, "not yet valid"},
        {"https://s3.amazonaws.com/echo.api/self.pem", OUTBOUND_OK, 200, "chain_self_signed.pem", NULL, VERIFY_E_CERT_CHAIN, "self-signed"},
        {"https://s3.amazonaws.com/echo.api/untr.pem", OUTBOUND_OK, 200, "chain_untrusted_root.pem", NULL, VERIFY_E_CERT_CHAIN, "untrusted root"},
        {"https://s3.amazonaws.com/echo.api/noint.pem", OUTBOUND_OK, 200, "chain_missing_inter.pem", NULL, VERIFY_E_CERT_CHAIN, "missing intermediate"},
        {"https://s3.amazonaws.com/echo.api/weak.pem", OUTBOUND_OK, 200, "chain_weak_key.pem", NULL, VERIFY_E_CERT_KEY, "RSA-1024 key"},
    };
    make("IntentRequest", 0, SKILL, "good.key");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result a, b;
        int k = n_dls;
        verify_call_t *ca = start(vt, cases[i].url, sigb64, &a);
        verify_call_t *cb = start(vt, cases[i].url, sigb64, &b);
        ok(ca && cb && n_dls == k + 1, "%s: two requests, one download", cases[i].name);
        complete(k, cases[i].err, cases[i].status, cases[i].file, cases[i].raw, cases[i].raw ? strlen(cases[i].raw) : 0);
        ok(a.called == 1 && a.st == cases[i].want && b.called == 1 && b.st == cases[i].want, "  both get %s",
           verify_status_name(cases[i].want));
        if (a.st != cases[i].want)
            printf("#   got %s\n", verify_status_name(a.st));
        expect_now(vt, cases[i].url, sigb64, cases[i].want, "  next request within the backoff: no download");
    }
    /* backoff expiry for one of them */
    clock_ms += VERIFY_FAIL_BACKOFF_MS + 1;
    make("IntentRequest", 0, SKILL, "good.key");
    {
        struct result a;
        int k = n_dls;
        verify_call_t *ca = start(vt, "https://s3.amazonaws.com/echo.api/down.pem", sigb64, &a);
        ok(ca != NULL && n_dls == k + 1, "after 30 s a failed URL is tried again");
        complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
        ok(a.called == 1 && a.st == VERIFY_OK, "  and now succeeds");
    }
    /* downloader cannot start */
    fail_start = 1;
    expect_now(vt, "https://s3.amazonaws.com/echo.api/nostart.pem", sigb64, VERIFY_E_CERT_DOWNLOAD,
               "download cannot start");
    fail_start = 0;

    /* ---- cancellation ---- */
    {
        struct result a, b;
        int k = n_dls;
        verify_call_t *ca = start(vt, "https://s3.amazonaws.com/echo.api/cancel.pem", sigb64, &a);
        verify_call_t *cb = start(vt, "https://s3.amazonaws.com/echo.api/cancel.pem", sigb64, &b);
        verify_cancel(ca);
        complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
        ok(a.called == 0 && b.called == 1 && b.st == VERIFY_OK, "a cancelled call gets no callback; the other does");
        (void)cb;
    }

    {
        struct result a, b, c;
        int k = n_dls;
        memset(&a, 0, sizeof(a));
        verify_input_t in = {.cert_url = "https://s3.amazonaws.com/echo.api/re.pem", .cert_url_len = 40,
                             .signature = sigb64, .signature_len = strlen(sigb64),
                             .body = (const uint8_t *)body, .body_len = body_len};
        verify_call_t *ca = verify_start(vt, &in, on_result_cancel, &a);
        verify_call_t *cb = start(vt, in.cert_url, sigb64, &b);
        verify_call_t *cc = start(vt, in.cert_url, sigb64, &c);
        to_cancel = cb;
        complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
        ok(ca && cb && cc && a.called == 1 && b.called == 0 && c.called == 1 && c.st == VERIFY_OK,
           "a callback cancelling another waiter of the same download is safe");
    }

    /* ---- LRU bound ---- */
    {
        verify_stats_t st0, st1;
        verify_thread_stats(vt, &st0);
        int all_ok = 1;
        for (int i = 0; i < VERIFY_CACHE_ENTRIES + 4; i++) {
            char u[128];
            snprintf(u, sizeof(u), "https://s3.amazonaws.com/echo.api/lru-%d.pem", i);
            struct result a;
            int k = n_dls;
            if (start(vt, u, sigb64, &a) == NULL)
                all_ok = 0;
            complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
            all_ok &= a.called == 1 && a.st == VERIFY_OK;
        }
        verify_thread_stats(vt, &st1);
        ok(all_ok, "%d distinct URLs each downloaded and verified", VERIFY_CACHE_ENTRIES + 4);
        ok(st1.evictions - st0.evictions >= 4, "  older entries evicted (%llu)",
           (unsigned long long)(st1.evictions - st0.evictions));
        char u[128];
        snprintf(u, sizeof(u), "https://s3.amazonaws.com/echo.api/lru-%d.pem", VERIFY_CACHE_ENTRIES + 3);
        expect_now(vt, u, sigb64, VERIFY_OK, "  most recent URL still cached");
        struct result a;
        int k = n_dls;
        verify_call_t *c0 = start(vt, "https://s3.amazonaws.com/echo.api/lru-0.pem", sigb64, &a);
        ok(c0 != NULL && n_dls == k + 1, "  oldest URL was evicted: downloaded again");
        complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
    }
    /* every slot downloading: a new URL is refused, not queued without bound */
    {
        struct result rs[VERIFY_CACHE_ENTRIES];
        int k = n_dls;
        for (int i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
            char u[128];
            snprintf(u, sizeof(u), "https://s3.amazonaws.com/echo.api/busy-%d.pem", i);
            start(vt, u, sigb64, &rs[i]);
        }
        ok(n_dls == k + VERIFY_CACHE_ENTRIES, "%d downloads in flight", VERIFY_CACHE_ENTRIES);
        expect_now(vt, "https://s3.amazonaws.com/echo.api/busy-x.pem", sigb64, VERIFY_E_CERT_DOWNLOAD,
                   "no free cache slot: refused");
        /* free the thread with downloads and waiters pending: no callbacks,
         * downloads cancelled, nothing leaked (ASan) */
        verify_thread_free(vt);
        int cancelled = 0, called = 0;
        for (int i = 0; i < VERIFY_CACHE_ENTRIES; i++) {
            cancelled += dls[k + i].cancelled;
            called += rs[i].called;
        }
        ok(cancelled == VERIFY_CACHE_ENTRIES && called == 0, "thread free cancels downloads, drops callbacks");
    }
    /* waiter bound */
    {
        vt = verify_thread_new_with_fetcher(&f);
        verify_thread_set_clock(vt, test_clock, NULL);
        static struct result rs[VERIFY_MAX_WAITERS + 1];
        int k = n_dls;
        for (int i = 0; i <= VERIFY_MAX_WAITERS; i++)
            start(vt, URL, sigb64, &rs[i]);
        ok(rs[VERIFY_MAX_WAITERS].called == 1 && rs[VERIFY_MAX_WAITERS].st == VERIFY_E_CERT_DOWNLOAD,
           "waiter %d on one download refused", VERIFY_MAX_WAITERS + 1);
        complete(k, OUTBOUND_OK, 200, "chain_good.pem", NULL, 0);
        int good = 0;
        for (int i = 0; i < VERIFY_MAX_WAITERS; i++)
            good += rs[i].called == 1 && rs[i].st == VERIFY_OK;
        is_int(good, VERIFY_MAX_WAITERS, "  the %d queued ones verified", VERIFY_MAX_WAITERS);
        verify_thread_free(vt);
    }
    verify_global_cleanup();

    /* status names */
    is_str(verify_status_name(VERIFY_E_BAD_URL), "VERIFY_E_BAD_URL", "status name");
    is_str(verify_status_name(VERIFY_E_SIGNATURE_MISMATCH), "VERIFY_E_SIGNATURE_MISMATCH", "status name");
    is_str(verify_status_name((verify_status_t)999), "VERIFY_E_UNKNOWN", "out-of-range status name");
    int named = 1;
    for (int s = 0; s < VERIFY_STATUS_COUNT_; s++)
        named &= verify_status_name((verify_status_t)s) != NULL && strncmp(verify_status_name((verify_status_t)s), "VERIFY_", 7) == 0;
    ok(named, "every status has a name");
    return done_testing();
}
