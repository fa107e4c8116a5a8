/* test_outbound_reuse.c - what makes outbound calls cheap, and that it changes no
 * behaviour: connections, easy handles and socket watches are reused; a reused
 * handle carries nothing of its previous call (method, body); a connection the
 * server closed while cached is replaced without the loop spinning on it; TLS
 * verification through the shared trust store still refuses a wrong CA and a
 * wrong host name, and --upstream-ca is the only trust when given. Against the
 * real local HTTPS fixture (tests/integration/https_fixture.py). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "binday/outbound.h"
#include "fixture.h"
#include "tap.h"

static uv_loop_t loop;
static outbound_t *ob;

struct result {
    int done;
    outbound_err_t err;
    long status;
    char body[2048];
};

static void on_done(const outbound_res_t *r, void *ud)
{
    struct result *out = ud;
    out->done++;
    /* make the loop's current iteration return: a call can complete in the timer
     * phase of a UV_RUN_ONCE iteration, which would then block in epoll with
     * nothing left to wake it (seen under CPU load) */
    uv_stop(&loop);
    out->err = r->err;
    out->status = r->status;
    size_t n = r->body_len < sizeof(out->body) - 1 ? r->body_len : sizeof(out->body) - 1;
    memcpy(out->body, r->body, n);
    out->body[n] = 0;
}

static void run_until(struct result *r)
{
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static struct result call(const char *method, const char *url, const char *body)
{
    struct result r = {0};
    outbound_req_t req = {.method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    if (outbound_start(ob, &req, on_done, &r) == NULL) {
        r.done = -1;
        return r;
    }
    run_until(&r);
    return r;
}

static outbound_stats_t stats(void)
{
    outbound_stats_t s;
    outbound_get_stats(ob, &s);
    return s;
}

static void on_timer(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Run the loop for ms milliseconds; returns how many loop iterations that took
 * (a handful when idle, thousands if something is polled in a busy loop). */
static int run_for(int ms)
{
    int fired = 0, iterations = 0;
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_timer, (uint64_t)ms, 0);
    while (!fired) {
        uv_run(&loop, UV_RUN_ONCE);
        iterations++;
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return iterations;
}

static const char *json_str(const char *body, const char *key)
{
    static char out[256];
    json_t *j = json_loads(body, 0, NULL);
    snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(j, key)) ?: "(none)");
    json_decref(j);
    return out;
}

static int init_global(const char *ca, const char *const *rules, size_t n)
{
    char err[256];
    outbound_global_conf_t gc = {.ca_file = ca, .connect_to = rules, .n_connect_to = n};
    return outbound_global_init(&gc, err, sizeof(err));
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
    /* the good port's certificate names api.test, localhost and 127.0.0.1 only */
    snprintf(rule3, sizeof(rule3), "wrongname.test:443:127.0.0.1:%d", fx.port_good);
    const char *rules[] = {rule1, rule2, rule3};

    /* trust anchors are loaded at start: a bad --upstream-ca is an error there */
    char err[256];
    outbound_global_conf_t missing = {.ca_file = "/nonexistent/ca.pem"};
    ok(outbound_global_init(&missing, err, sizeof(err)) == -1 && strstr(err, "/nonexistent/ca.pem") != NULL,
       "an unreadable CA file is refused at start: %s", err);
    char notpem[300];
    snprintf(notpem, sizeof(notpem), "%s/ports", fx.dir); /* exists, holds no certificate */
    outbound_global_conf_t empty = {.ca_file = notpem};
    ok(outbound_global_init(&empty, err, sizeof(err)) == -1, "a CA file without certificates is refused: %s", err);

    is_int(init_global(ca, rules, 3), 0, "global init with the fixture CA");
    uv_loop_init(&loop);
    ob = outbound_new(&loop);

    /* many sequential calls: one connection, one easy handle, one watch */
    int all_ok = 1;
    for (int i = 0; i < 20; i++) {
        struct result r = call("GET", "https://api.test/json", NULL);
        all_ok &= r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "{\"ok\": true}") == 0;
    }
    ok(all_ok, "20 sequential GETs succeed");
    outbound_stats_t s = stats();
    is_int((int)s.calls, 20, "20 calls counted");
    is_int((int)s.sockets_opened, 1, "one connection for 20 sequential calls");
    is_int((int)s.easy_created, 1, "one easy handle for 20 sequential calls");
    is_int((int)s.polls_created, 1, "one socket watch for 20 sequential calls");
    is_int((int)s.idle_calls, 1, "the easy handle waits in the free list");
    is_int((int)s.sockets_tracked, 1, "the cached connection keeps its watch");

    /* a reused handle forgets its previous call's method and body */
    struct result r = call("POST", "https://api.test/echo", "{\"a\":1}");
    is_str(json_str(r.body, "method"), "POST", "POST on a reused handle");
    is_str(json_str(r.body, "body"), "{\"a\":1}", "its body arrives");
    r = call("GET", "https://api.test/echo", NULL);
    is_str(json_str(r.body, "method"), "GET", "GET after POST is a GET");
    is_str(json_str(r.body, "body"), "", "... and sends no body");
    r = call("HEAD", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200 && r.body[0] == 0, "HEAD: status, no body");
    r = call("GET", "https://api.test/json", NULL);
    is_str(r.body, "{\"ok\": true}", "GET after HEAD gets the body again");
    r = call("PUT", "https://api.test/echo", "x=1");
    is_str(json_str(r.body, "method"), "PUT", "PUT on a reused handle");
    r = call("POST", "https://api.test/echo", "");
    is_str(json_str(r.body, "method"), "POST", "POST after PUT is a POST again");
    is_str(json_str(r.body, "body"), "", "... with its own (empty) body");
    s = stats();
    ok(s.easy_created == 1 && s.sockets_opened == 1, "still one handle and one connection after 6 more calls");

    /* the server closes the cached connection while it is idle */
    r = call("GET", "https://api.test/close-later/100", NULL);
    is_str(r.body, "bye later", "answer before the server-side close");
    outbound_stats_t before = stats();
    int iterations = run_for(400);
    s = stats();
    ok(s.idle_wakeups == before.idle_wakeups + 1, "the close of an idle connection wakes us once");
    ok(iterations < 50, "no busy loop on the dead cached connection (%d loop iterations in 400 ms)", iterations);
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "the next call succeeds");
    s = stats();
    is_int((int)(s.sockets_opened - before.sockets_opened), 1, "... on a new connection");
    ok(s.sockets_closed >= before.sockets_closed + 1, "the dead one was closed by curl (through our callback)");
    is_int((int)s.sockets_tracked, 1, "only the new connection is watched");
    is_int((int)s.stale_watches, 0, "no watch ever outlived its socket");

    /* cancel, then the handle serves the next call */
    int called = 0;
    struct result never = {0};
    outbound_req_t slow = {.method = "GET", .url = "https://api.test/slow/300"};
    outbound_call_t *c = outbound_start(ob, &slow, on_done, &never);
    run_for(50);
    outbound_cancel(c);
    before = stats();
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && never.done == 0 && called == 0, "call after a cancel succeeds; cancelled callback never ran");
    s = stats();
    is_int((int)(s.easy_created - before.easy_created), 0, "the cancelled call's handle is reused");

    /* TLS verification through the shared store */
    r = call("GET", "https://rogue.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "certificate from another CA refused");
    r = call("GET", "https://wrongname.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "certificate for another host name refused");
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "the right host still verifies afterwards");

    /* a burst: every call completes, the free list stays bounded (more calls in
     * flight than it keeps). Generous timeouts: the fixture is a Python server
     * doing 70 TLS handshakes at once, under ASan on a busy machine. */
    enum { BURST = 70 };
    static struct result many[BURST];
    memset(many, 0, sizeof(many));
    for (int i = 0; i < BURST; i++) {
        outbound_req_t q = {.method = "GET",
                            .url = "https://api.test/slow/100",
                            .connect_timeout_ms = 20000,
                            .timeout_ms = 30000};
        outbound_start(ob, &q, on_done, &many[i]);
    }
    int n_ok = 0;
    for (int i = 0; i < BURST; i++) {
        run_until(&many[i]);
        if (many[i].err == OUTBOUND_OK && many[i].status == 200)
            n_ok++;
        else
            printf("# call %d: %s status %ld\n", i, outbound_strerror(many[i].err), many[i].status);
    }
    is_int(n_ok, BURST, "%d concurrent calls all complete", BURST);
    s = stats();
    ok(s.idle_calls <= 64, "idle easy handles bounded (%zu kept)", s.idle_calls);
    ok(s.sockets_tracked >= 2 && s.sockets_tracked <= BURST + 1, "connections cached for reuse (%zu)",
       s.sockets_tracked);
    is_int((int)s.stale_watches, 0, "no stale watches after the burst");

    /* freeing with cached connections and idle handles: every handle closes */
    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "loop closes with no handle left open");
    outbound_global_cleanup();

    /* without --upstream-ca only the system trust applies: the fixture CA is not in it */
    is_int(init_global(NULL, rules, 3), 0, "global init with the system trust store");
    uv_loop_init(&loop);
    ob = outbound_new(&loop);
    r = call("GET", "https://api.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "the fixture's CA is not trusted by the system store");
    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "loop closes again");
    outbound_global_cleanup();

    /* the per-host connection cap: calls beyond it wait for a free connection
     * instead of opening (and handshaking) one each */
    {
        outbound_global_conf_t gc = {.ca_file = ca, .connect_to = rules, .n_connect_to = 3, .max_host_connections = 4};
        is_int(outbound_global_init(&gc, err, sizeof(err)), 0, "global init with at most 4 connections per host");
        uv_loop_init(&loop);
        ob = outbound_new(&loop);
        enum { N = 12 };
        static struct result capped[N];
        memset(capped, 0, sizeof(capped));
        for (int i = 0; i < N; i++) {
            outbound_req_t q = {.method = "GET",
                                .url = "https://api.test/slow/150",
                                .connect_timeout_ms = 20000,
                                .timeout_ms = 30000};
            outbound_start(ob, &q, on_done, &capped[i]);
        }
        int good = 0;
        for (int i = 0; i < N; i++) {
            run_until(&capped[i]);
            good += capped[i].err == OUTBOUND_OK && capped[i].status == 200;
        }
        is_int(good, N, "12 concurrent calls all complete through 4 connections");
        s = stats();
        ok(s.sockets_opened >= 1 && s.sockets_opened <= 4, "no more than 4 connections opened (%llu)",
           (unsigned long long)s.sockets_opened);
        outbound_free(ob);
        uv_run(&loop, UV_RUN_DEFAULT);
        is_int(uv_loop_close(&loop), 0, "loop closes after the capped run");
        outbound_global_cleanup();
    }

    fixture_stop(&fx);
    return done_testing();
}
