/* verify_bench.c - CPU cost of Alexa request verification on this machine:
 * the whole verify_start sequence on a cached chain (URL, base64, envelope
 * parse, window, skill id, dates of the path, RSA-2048 verify), its RSA part
 * alone, and the CPU part of a cache miss (PEM parse + path verification;
 * the network time of a miss is measured by the tests' elapsed_us logs).
 * Usage: verify_bench PKI_DIR [ITERATIONS] */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/alexa/certchain.h"
#include "binday/alexa/envelope.h"
#include "binday/util/log.h"
#include "binday/alexa/verify.h"

static char dir[512];

static unsigned char *readf(const char *name, size_t *len)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) {
        perror(p);
        exit(1);
    }
    unsigned char *b = malloc(1 << 20);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static outbound_cb pending_cb;
static void *pending_ud;
static int handle;
static void *fstart(void *fud, const outbound_req_t *req, outbound_cb cb, void *ud)
{
    (void)fud;
    (void)req;
    pending_cb = cb;
    pending_ud = ud;
    return &handle;
}
static void fcancel(void *fud, void *h)
{
    (void)fud;
    (void)h;
}

static int n_ok;
static void on_res(void *ud, verify_status_t st, json_t *env, const char *type)
{
    (void)ud;
    (void)type;
    n_ok += st == VERIFY_OK;
    json_decref(env);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: verify_bench PKI_DIR [ITERATIONS]\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s", argv[1]);
    int iters = argc > 2 ? atoi(argv[2]) : 20000;
    log_set_level(LOG_ERROR);

    /* a realistic ~2.7 KB envelope, including a long apiAccessToken */
    char token[1400];
    memset(token, 'x', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    static char body[8192];
    int bl = snprintf(body, sizeof(body),
                      "{\"version\":\"1.0\",\"session\":{\"new\":false,\"sessionId\":\"amzn1.echo-api.session.0000\","
                      "\"application\":{\"applicationId\":\"amzn1.ask.skill.bench\"},\"attributes\":{},"
                      "\"user\":{\"userId\":\"amzn1.ask.account.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}},"
                      "\"context\":{\"System\":{\"application\":{\"applicationId\":\"amzn1.ask.skill.bench\"},"
                      "\"user\":{\"userId\":\"amzn1.ask.account.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                      "\"permissions\":{\"consentToken\":\"%s\"}},\"device\":{\"deviceId\":\"amzn1.ask.device.BBBB\","
                      "\"supportedInterfaces\":{}},\"apiEndpoint\":\"https://api.eu.amazonalexa.com\","
                      "\"apiAccessToken\":\"%s\"}},\"request\":{\"type\":\"IntentRequest\",\"requestId\":"
                      "\"amzn1.echo-api.request.0000\",\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"locale\":\"en-GB\","
                      "\"intent\":{\"name\":\"NextCollection\",\"confirmationStatus\":\"NONE\",\"slots\":{\"bin\":"
                      "{\"name\":\"bin\",\"value\":\"recycling\",\"confirmationStatus\":\"NONE\"}}}}}",
                      "short", token, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);

    /* sign it */
    size_t kl;
    unsigned char *kp = readf("good.key", &kl);
    BIO *kb = BIO_new_mem_buf(kp, (int)kl);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    unsigned char sig[512];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(md, sig, &sl, (unsigned char *)body, (size_t)bl);
    char sigb64[1024];
    EVP_EncodeBlock((unsigned char *)sigb64, sig, (int)sl);

    char ca[700], err[256];
    snprintf(ca, sizeof(ca), "%s/root.pem", dir);
    const char *ids[] = {"amzn1.ask.skill.bench"};
    verify_conf_t vc = {.alexa_ca_file = ca, .skill_ids = ids, .n_skill_ids = 1};
    if (verify_global_init(&vc, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    verify_fetcher_t f = {.start = fstart, .cancel = fcancel};
    verify_thread_t *vt = verify_thread_new_with_fetcher(&f);
    verify_input_t in = {.cert_url = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
                         .cert_url_len = strlen("https://s3.amazonaws.com/echo.api/echo-api-cert.pem"),
                         .signature = sigb64, .signature_len = strlen(sigb64),
                         .body = (const uint8_t *)body, .body_len = (size_t)bl};
    /* warm the cache: the first request downloads (scripted) */
    verify_start(vt, &in, on_res, NULL);
    size_t pl;
    unsigned char *pem = readf("chain_good.pem", &pl);
    outbound_res_t res = {.err = OUTBOUND_OK, .status = 200, .body = pem, .body_len = pl};
    pending_cb(&res, pending_ud);
    if (n_ok != 1) {
        fprintf(stderr, "warm-up verification failed\n");
        return 1;
    }

    n_ok = 0;
    double t0 = now();
    for (int i = 0; i < iters; i++)
        verify_start(vt, &in, on_res, NULL);
    double full = (now() - t0) / iters * 1e6;
    if (n_ok != iters) {
        fprintf(stderr, "only %d of %d verified\n", n_ok, iters);
        return 1;
    }

    certchain_t *c = NULL;
    certchain_parse(pem, pl, &c);
    X509_STORE *store = certchain_store_new(ca, err, sizeof(err));
    certchain_verify(c, store, time(NULL));
    t0 = now();
    for (int i = 0; i < iters; i++)
        if (certchain_verify_signature(c, sig, sl, (const uint8_t *)body, (size_t)bl) != VERIFY_OK)
            return 1;
    double rsa = (now() - t0) / iters * 1e6;

    t0 = now();
    for (int i = 0; i < iters; i++) {
        envelope_t env;
        if (envelope_parse((const uint8_t *)body, (size_t)bl, &env) != VERIFY_OK)
            return 1;
        json_decref(env.root);
    }
    double jparse = (now() - t0) / iters * 1e6;

    t0 = now();
    for (int i = 0; i < iters; i++)
        if (certchain_check_dates(c, time(NULL)) != VERIFY_OK)
            return 1;
    double dates = (now() - t0) / iters * 1e6;

    int miss_iters = iters / 10 > 0 ? iters / 10 : 1;
    t0 = now();
    for (int i = 0; i < miss_iters; i++) {
        certchain_t *m = NULL;
        certchain_parse(pem, pl, &m);
        if (certchain_verify(m, store, time(NULL)) != VERIFY_OK)
            return 1;
        certchain_free(m);
    }
    double miss = (now() - t0) / miss_iters * 1e6;

    printf("body_bytes=%d iterations=%d\n", bl, iters);
    printf("verify_start_cached_us=%.1f (%.0f verifications/s on one thread)\n", full, 1e6 / full);
    printf("rsa2048_sha256_verify_us=%.1f (%.0f/s)\n", rsa, 1e6 / rsa);
    printf("envelope_parse_us=%.1f (envelope_parse: jsonload of the body, docs/jsonload.md)\n", jparse);
    printf("dates_recheck_us=%.1f (notBefore/notAfter of the 3-cert path, every use)\n", dates);
    printf("cache_miss_cpu_us=%.1f (PEM parse + chain verification, excluding the download)\n", miss);

    certchain_free(c);
    X509_STORE_free(store);
    verify_thread_free(vt);
    verify_global_cleanup();
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(kb);
    free(kp);
    free(pem);
    return 0;
}
