/* test_verify_threads.c - the threading design: one verify_thread_t per
 * thread (no locks), sharing only the read-only global trust store and skill
 * ids. Four threads each download (scripted) and then verify on their own
 * cache concurrently; run under TSan too (see docs/verification.md). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "binday/alexa/verify.h"
#include "pki_helper.h"
#include "tap.h"

#define THREADS 4
#define ROUNDS 300

static const char *SKILL = "amzn1.ask.skill.threads";
static const char *URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem";
static char body[1024];
static size_t body_len;
static char sigb64[1024];
static unsigned char *pem;
static size_t pem_len;

struct fake {
    outbound_cb cb;
    void *ud;
    int started;
};

static void *fstart(void *fud, const outbound_req_t *req, outbound_cb cb, void *ud)
{
    struct fake *f = fud;
    (void)req;
    f->cb = cb;
    f->ud = ud;
    f->started++;
    return f;
}

static void fcancel(void *fud, void *h)
{
    (void)fud;
    (void)h;
}

struct tres {
    int ok, bad, downloads;
};

static void on_res(void *ud, verify_status_t st, json_t *env, const char *type)
{
    struct tres *r = ud;
    (void)type;
    if (st == VERIFY_OK)
        r->ok++;
    else
        r->bad++;
    json_decref(env);
}

static void *worker(void *arg)
{
    struct tres *r = arg;
    struct fake f = {0};
    verify_fetcher_t fe = {.start = fstart, .cancel = fcancel, .fud = &f};
    verify_thread_t *vt = verify_thread_new_with_fetcher(&fe);
    verify_input_t in = {.cert_url = URL, .cert_url_len = strlen(URL), .signature = sigb64,
                         .signature_len = strlen(sigb64), .body = (const uint8_t *)body, .body_len = body_len};
    if (verify_start(vt, &in, on_res, r) != NULL && f.cb) {
        outbound_res_t res = {.err = OUTBOUND_OK, .status = 200, .body = pem, .body_len = pem_len};
        f.cb(&res, f.ud);
    }
    for (int i = 0; i < ROUNDS; i++)
        verify_start(vt, &in, on_res, r);
    r->downloads = f.started;
    verify_thread_free(vt);
    return NULL;
}

int main(void)
{
    char err[256];
    pki_dir();
    const char *ids[] = {SKILL};
    verify_conf_t vc = {.alexa_ca_file = pki_path("root.pem"), .skill_ids = ids, .n_skill_ids = 1};
    is_int(verify_global_init(&vc, err, sizeof(err)), 0, "global init");
    pem = pki_read("chain_good.pem", &pem_len);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    body_len = (size_t)snprintf(body, sizeof(body),
                                "{\"context\":{\"System\":{\"application\":{\"applicationId\":\"%s\"}}},"
                                "\"request\":{\"type\":\"IntentRequest\",\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\"}}",
                                SKILL, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    unsigned char sig[512];
    size_t sl = pki_sign("good.key", body, body_len, sig, sizeof(sig));
    EVP_EncodeBlock((unsigned char *)sigb64, sig, (int)sl);

    pthread_t th[THREADS];
    struct tres rs[THREADS];
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, &rs[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        is_int(rs[i].ok, ROUNDS + 1, "thread %d: every request verified", i);
        is_int(rs[i].bad, 0, "thread %d: no failure", i);
        is_int(rs[i].downloads, 1, "thread %d: its own cache downloaded once", i);
    }
    free(pem);
    verify_global_cleanup();
    return done_testing();
}
