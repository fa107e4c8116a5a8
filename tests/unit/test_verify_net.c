/* test_verify_net.c - the verification module's asynchronous download path
 * for real: a uv loop, the outbound client (TLS verified against the test
 * tls_root.pem, --connect-to s3.amazonaws.com:443 -> a local fake S3 written
 * in Python) and verify_thread_new(). Cases: good chain (then cached), shared
 * download, 404, 200 with junk, oversize body, redirect not followed, slow
 * host (3 s timeout), bad chains, and the host down. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "binday/alexa/verify.h"
#include "pki_helper.h"
#include "tap.h"

static const char *SKILL = "amzn1.ask.skill.net-test";
static char body[2048];
static size_t body_len;
static char sigb64[1024];

static void make_request(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    body_len = (size_t)snprintf(body, sizeof(body),
                                "{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{\"applicationId\":\"%s\"}}},"
                                "\"request\":{\"type\":\"IntentRequest\",\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\"}}",
                                SKILL, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    unsigned char sig[512];
    size_t sl = pki_sign("good.key", body, body_len, sig, sizeof(sig));
    EVP_EncodeBlock((unsigned char *)sigb64, sig, (int)sl);
}

struct result {
    int called;
    verify_status_t st;
};

static uv_loop_t loop;

static void on_result(void *ud, verify_status_t st, json_t *env, const char *type)
{
    struct result *r = ud;
    (void)type;
    r->called++;
    r->st = st;
    /* make the loop's current iteration return: a call can complete in the timer
     * phase of a UV_RUN_ONCE iteration, which would then block in epoll with
     * nothing left to wake it (seen under CPU load) */
    uv_stop(&loop);
    json_decref(env);
}

static verify_thread_t *vt;

static verify_call_t *start(const char *url, struct result *r)
{
    memset(r, 0, sizeof(*r));
    verify_input_t in = {.cert_url = url, .cert_url_len = strlen(url), .signature = sigb64,
                         .signature_len = strlen(sigb64), .body = (const uint8_t *)body, .body_len = body_len};
    return verify_start(vt, &in, on_result, r);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Run the loop until every result in rs[0..n) has been called (bounded). */
static void wait_all(struct result *rs, int n)
{
    double t0 = now_s();
    for (;;) {
        int done = 1;
        for (int i = 0; i < n; i++)
            done &= rs[i].called > 0;
        if (done || now_s() - t0 > 20)
            return;
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static void one(const char *name, const char *url, verify_status_t want)
{
    struct result r;
    double t0 = now_s();
    verify_call_t *c = start(url, &r);
    if (c != NULL)
        wait_all(&r, 1);
    ok(r.called == 1 && r.st == want, "%s -> %s (%.2f s)", name, verify_status_name(want), now_s() - t0);
    if (r.called == 1 && r.st != want)
        printf("#   got %s\n", verify_status_name(r.st));
}

/* GET /__stats through the outbound client: hits of one path on the fake S3 */
static int hits_of;
static char hits_path[128];
static int stats_done;
static void on_stats(const outbound_res_t *res, void *ud)
{
    (void)ud;
    stats_done = 1;
    uv_stop(&loop); /* see on_result */
    hits_of = -1;
    if (res->err != OUTBOUND_OK || res->status != 200)
        return;
    json_t *j = json_loadb((const char *)res->body, res->body_len, 0, NULL);
    json_t *v = json_object_get(j, hits_path);
    hits_of = v ? (int)json_integer_value(v) : 0;
    json_decref(j);
}

static int server_hits(outbound_t *ob, const char *path)
{
    snprintf(hits_path, sizeof(hits_path), "%s", path);
    outbound_req_t req = {.method = "GET", .url = "https://s3.amazonaws.com/__stats"};
    stats_done = 0;
    if (outbound_start(ob, &req, on_stats, NULL) == NULL)
        return -1;
    double t0 = now_s();
    while (!stats_done && now_s() - t0 < 10)
        uv_run(&loop, UV_RUN_ONCE);
    return hits_of;
}

int main(void)
{
    char err[512];
    const char *dir = pki_dir();
    signal(SIGPIPE, SIG_IGN);

    /* the fake S3 (it also makes the s3.amazonaws.com server cert) */
    char port_file[400];
    snprintf(port_file, sizeof(port_file), "%s/s3.port", dir);
    const char *root = getenv("BINDAY_ROOT");
    char script[600];
    snprintf(script, sizeof(script), "%s/tests/integration/fake_s3.py", root ? root : ".");
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", script, "--pki", dir, "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 600 && port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            usleep(50000);
    }
    if (!ok(port > 0, "fake S3 listening")) {
        kill(pid, SIGKILL);
        return done_testing();
    }

    char rule[128];
    snprintf(rule, sizeof(rule), "s3.amazonaws.com:443:127.0.0.1:%d", port);
    const char *rules[] = {rule};
    outbound_global_conf_t oc = {.ca_file = pki_path("tls_root.pem"), .connect_to = rules, .n_connect_to = 1};
    is_int(outbound_global_init(&oc, err, sizeof(err)), 0, "outbound init");
    const char *ids[] = {SKILL};
    verify_conf_t vc = {.alexa_ca_file = pki_path("root.pem"), .skill_ids = ids, .n_skill_ids = 1};
    is_int(verify_global_init(&vc, err, sizeof(err)), 0, "verify init");
    uv_loop_init(&loop);
    outbound_t *ob = outbound_new(&loop);
    vt = verify_thread_new(ob);
    make_request();

    /* good chain: one download shared by three concurrent requests */
    {
        struct result rs[3];
        const char *u = "https://s3.amazonaws.com/echo.api/chain_good.pem";
        verify_call_t *c0 = start(u, &rs[0]);
        verify_call_t *c1 = start("https://S3.AMAZONAWS.COM:443/echo.api/x/../chain_good.pem", &rs[1]);
        verify_call_t *c2 = start(u, &rs[2]);
        ok(c0 && c1 && c2, "three requests wait on the download");
        wait_all(rs, 3);
        ok(rs[0].st == VERIFY_OK && rs[1].st == VERIFY_OK && rs[2].st == VERIFY_OK && rs[0].called == 1,
           "all three verified");
        is_int(server_hits(ob, "/echo.api/chain_good.pem"), 1, "the chain was downloaded once");
        struct result r;
        ok(start(u, &r) == NULL && r.called == 1 && r.st == VERIFY_OK, "next request answered from the cache");
        is_int(server_hits(ob, "/echo.api/chain_good.pem"), 1, "  without a download");
        is_int(server_hits(ob, "/echo.api/x/../chain_good.pem"), 0, "the un-normalized path was never fetched");
    }
    one("404", "https://s3.amazonaws.com/echo.api/missing.pem", VERIFY_E_CERT_DOWNLOAD);
    one("200 with junk", "https://s3.amazonaws.com/echo.api/junk.pem", VERIFY_E_CERT_PARSE);
    one("oversize body", "https://s3.amazonaws.com/echo.api/big.pem", VERIFY_E_CERT_DOWNLOAD);
    one("redirect not followed", "https://s3.amazonaws.com/echo.api/redirect.pem", VERIFY_E_CERT_DOWNLOAD);
    one("wrong SAN", "https://s3.amazonaws.com/echo.api/chain_wrong_san.pem", VERIFY_E_CERT_SAN);
    one("SAN only in the CN", "https://s3.amazonaws.com/echo.api/chain_cn_only.pem", VERIFY_E_CERT_SAN);
    one("expired", "https://s3.amazonaws.com/echo.api/chain_expired.pem", VERIFY_E_CERT_EXPIRED);
    one("not yet valid", "https://s3.amazonaws.com/echo.api/chain_not_yet_valid.pem", VERIFY_E_CERT_EXPIRED);
    one("self-signed", "https://s3.amazonaws.com/echo.api/chain_self_signed.pem", VERIFY_E_CERT_CHAIN);
    one("untrusted root", "https://s3.amazonaws.com/echo.api/chain_untrusted_root.pem", VERIFY_E_CERT_CHAIN);
    one("missing intermediate", "https://s3.amazonaws.com/echo.api/chain_missing_inter.pem", VERIFY_E_CERT_CHAIN);
    {
        double t0 = now_s();
        one("slow host (3 s timeout)", "https://s3.amazonaws.com/echo.api/slow.pem", VERIFY_E_CERT_DOWNLOAD);
        double dt = now_s() - t0;
        ok(dt >= 2.5 && dt < 5.5, "  gave up after about 3 s (%.2f s)", dt);
    }
    /* the storm case: a failed URL is not downloaded again during the backoff */
    one("404 again within the backoff", "https://s3.amazonaws.com/echo.api/missing.pem", VERIFY_E_CERT_DOWNLOAD);
    is_int(server_hits(ob, "/echo.api/missing.pem"), 1, "  one download for two failed requests");

    /* host down */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    pid = 0;
    one("host down", "https://s3.amazonaws.com/echo.api/chain_good2.pem", VERIFY_E_CERT_DOWNLOAD);

    verify_thread_free(vt);
    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "loop closes with nothing left open");
    verify_global_cleanup();
    outbound_global_cleanup();
    return done_testing();
}
