/* test_outbound.c - the async outbound client against a real local HTTPS server. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "binday/http/outbound.h"
#include "fixture.h"
#include "tap.h"

static uv_loop_t loop;
static outbound_t *ob;

struct result {
    int done;
    outbound_res_t res;
    char body[4096];
    char ctype[128];
};

static void on_done(const outbound_res_t *r, void *ud)
{
    struct result *out = ud;
    out->done++;
    /* make the loop's current iteration return: a call can complete in the timer
     * phase of a UV_RUN_ONCE iteration, which would then block in epoll with
     * nothing left to wake it (seen under CPU load) */
    uv_stop(&loop);
    out->res = *r;
    size_t n = r->body_len < sizeof(out->body) - 1 ? r->body_len : sizeof(out->body) - 1;
    memcpy(out->body, r->body, n);
    out->body[n] = 0;
    out->res.body = NULL;
    snprintf(out->ctype, sizeof(out->ctype), "%s", r->content_type ? r->content_type : "");
    out->res.content_type = NULL;
    out->res.errtext = NULL;
}

static void run_until(struct result *r)
{
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static struct result get(const char *url, long timeout_ms, size_t max)
{
    struct result r = {0};
    outbound_req_t req = {.method = "GET", .url = url, .timeout_ms = timeout_ms, .max_bytes = max};
    outbound_call_t *c = outbound_start(ob, &req, on_done, &r);
    if (c == NULL) {
        r.done = -1;
        return r;
    }
    run_until(&r);
    return r;
}

static void never(const outbound_res_t *r, void *ud)
{
    (void)r;
    *(int *)ud = 1;
}

int main(void)
{
    fixture_t fx = {0};
    if (!ok(fixture_start(&fx) == 0, "https fixture started"))
        return done_testing();
    char ca[300], rule1[64], rule2[64], rule3[64];
    snprintf(ca, sizeof(ca), "%s/ca.pem", fx.dir);
    snprintf(rule1, sizeof(rule1), "api.test:443:127.0.0.1:%d", fx.port_good);
    snprintf(rule2, sizeof(rule2), "rogue.test:443:127.0.0.1:%d", fx.port_rogue);
    snprintf(rule3, sizeof(rule3), "down.test:443:127.0.0.1:1");
    const char *rules[] = {rule1, rule2, rule3};
    char err[256];
    outbound_global_conf_t bad = {.connect_to = (const char *[]){"nonsense"}, .n_connect_to = 1};
    ok(outbound_global_init(&bad, err, sizeof(err)) == -1 && strstr(err, "HOST:PORT") != NULL,
       "a malformed --connect-to rule is refused: %s", err);
    outbound_global_conf_t gc = {.ca_file = ca, .connect_to = rules, .n_connect_to = 3};
    is_int(outbound_global_init(&gc, err, sizeof(err)), 0, "global init");
    uv_loop_init(&loop);
    ob = outbound_new(&loop);

    struct result r = get("https://api.test/json", 0, 0);
    is_int(r.res.err, OUTBOUND_OK, "GET via --connect-to succeeds");
    is_int(r.res.status, 200, "status 200");
    is_str(r.body, "{\"ok\": true}", "JSON body");
    is_str(r.ctype, "application/json", "content type reported");

    r = get("https://api.test/status/404", 0, 0);
    ok(r.res.err == OUTBOUND_OK && r.res.status == 404, "404 is a response, not an error");
    is_str(r.body, "status 404", "404 body kept");
    r = get("https://api.test/html403", 0, 0);
    ok(r.res.status == 403 && strstr(r.body, "<html>") != NULL, "non-JSON error body kept with its status");
    r = get("https://api.test/status/503", 0, 0);
    is_int(r.res.status, 503, "503 status kept");

    r = get("https://api.test/redirect", 0, 0);
    is_int(r.res.status, 302, "redirects are not followed");

    r = get("https://api.test/slow/3000", 300, 0);
    is_int(r.res.err, OUTBOUND_E_TIMEOUT, "total timeout reported");
    ok(r.res.status == 0, "no status on timeout");

    r = get("https://api.test/big/100000", 0, 1000);
    is_int(r.res.err, OUTBOUND_E_TOO_LARGE, "body over the cap refused");
    r = get("https://api.test/big/1000", 0, 1000);
    ok(r.res.err == OUTBOUND_OK && r.res.body_len == 1000, "body exactly at the cap accepted");

    r = get("https://rogue.test/json", 0, 0);
    is_int(r.res.err, OUTBOUND_E_TLS, "untrusted certificate refused");
    r = get("https://down.test/json", 0, 0);
    is_int(r.res.err, OUTBOUND_E_CONNECT, "connection refused reported");

    /* the certificate says api.test, so a name mismatch must fail even on the good port */
    r = get("https://localhost:1/json", 500, 0);
    ok(r.res.err != OUTBOUND_OK, "unreachable port fails");

    outbound_req_t bad_get = {.method = "GET", .url = "https://api.test/json", .body = "x", .body_len = 1};
    ok(outbound_start(ob, &bad_get, on_done, &r) == NULL, "GET with a body refused");
    const char *inj[] = {"X-A: b\r\nX-Injected: 1"};
    outbound_req_t bad_hdr = {.method = "GET", .url = "https://api.test/json", .headers = inj, .n_headers = 1};
    ok(outbound_start(ob, &bad_hdr, on_done, &r) == NULL, "header with CR/LF refused");
    outbound_req_t plain = {.method = "GET", .url = "http://api.test/json"};
    ok(outbound_start(ob, &plain, on_done, &r) == NULL, "plain http refused");

    const char *hdrs[] = {"Authorization: Bearer abc", "Content-Type: application/json"};
    struct result pr = {0};
    outbound_req_t post = {.method = "POST", .url = "https://api.test/echo", .headers = hdrs, .n_headers = 2,
                           .body = "{\"a\":1}", .body_len = 7};
    ok(outbound_start(ob, &post, on_done, &pr) != NULL, "POST started");
    run_until(&pr);
    json_t *echo = json_loads(pr.body, 0, NULL);
    is_str(json_string_value(json_object_get(echo, "method")), "POST", "POST arrives as POST");
    is_str(json_string_value(json_object_get(echo, "body")), "{\"a\":1}", "POST body arrives intact");
    is_str(json_string_value(json_object_get(json_object_get(echo, "headers"), "Authorization")), "Bearer abc",
           "headers arrive");
    ok(json_object_get(json_object_get(echo, "headers"), "Expect") == NULL, "no Expect: 100-continue");
    json_decref(echo);

    /* cancel: the callback never runs */
    int called = 0;
    outbound_req_t slow = {.method = "GET", .url = "https://api.test/slow/500"};
    outbound_call_t *c = outbound_start(ob, &slow, never, &called);
    is_int(outbound_pending(ob), 1, "one call pending");
    outbound_cancel(c);
    is_int(outbound_pending(ob), 0, "cancelled call is gone");
    r = get("https://api.test/slow/700", 0, 0); /* keep the loop busy past the cancelled one */
    is_int(called, 0, "cancelled callback not called");

    /* many at once on one loop */
    struct result many[20];
    memset(many, 0, sizeof(many));
    for (int i = 0; i < 20; i++) {
        outbound_req_t q = {.method = "GET", .url = "https://api.test/slow/100"};
        outbound_start(ob, &q, on_done, &many[i]);
    }
    int all = 1;
    for (int i = 0; i < 20; i++) {
        run_until(&many[i]);
        all &= many[i].res.err == OUTBOUND_OK && many[i].res.status == 200;
    }
    ok(all, "20 concurrent requests all complete");

    /* freeing with a call in flight: no callback, no leak */
    called = 0;
    outbound_start(ob, &slow, never, &called);
    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(called, 0, "free cancels pending calls");
    is_int(uv_loop_close(&loop), 0, "loop closes with no handle left open");
    outbound_global_cleanup();
    fixture_stop(&fx);
    return done_testing();
}
