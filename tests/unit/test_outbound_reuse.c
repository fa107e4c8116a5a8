/* test_outbound_reuse.c - what makes outbound calls cheap, and that it changes no
 * behaviour: kept-alive connections are reused (the counts fail if keep-alive
 * breaks); a reused call object carries nothing of its previous call (method,
 * body); a connection the server closed while pooled is replaced, and a request
 * that races the server's close is retried on another connection; chunked and
 * close-delimited bodies; TLS verification refuses a wrong CA, a wrong host
 * name and an expired certificate, and --upstream-ca is the only trust when
 * given; connect and total timeouts; the per-host connection cap (calls wait,
 * and can be cancelled while waiting or in flight). Against the real local
 * HTTPS fixture (tests/integration/https_fixture.py). */
#include <dirent.h>
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
    outbound_err_t err;
    long status;
    size_t body_len;
    uint64_t elapsed_us;
    char errtext[160];
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
    out->body_len = r->body_len;
    out->elapsed_us = r->elapsed_us;
    snprintf(out->errtext, sizeof(out->errtext), "%s", r->errtext ? r->errtext : "");
    size_t n = r->body_len < sizeof(out->body) - 1 ? r->body_len : sizeof(out->body) - 1;
    memcpy(out->body, r->body, n);
    out->body[n] = 0;
}

static void run_until(struct result *r)
{
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static struct result call_ex(const char *method, const char *url, const char *body, long connect_ms, long total_ms,
                            size_t max)
{
    struct result r = {0};
    outbound_req_t req = {.method = method,
                          .url = url,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .connect_timeout_ms = connect_ms,
                          .timeout_ms = total_ms,
                          .max_bytes = max};
    if (outbound_start(ob, &req, on_done, &r) == NULL) {
        r.done = -1;
        return r;
    }
    run_until(&r);
    return r;
}

static struct result call(const char *method, const char *url, const char *body)
{
    return call_ex(method, url, body, 0, 0, 0);
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
/* Open file descriptors of this process (to see a socket really closed). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

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

/* A chain of calls, each started from the previous one's callback (what the
 * skill does: one API call after another). */
struct chain {
    int left, done, failed;
};

static void on_chain(const outbound_res_t *r, void *ud)
{
    struct chain *ch = ud;
    if (r->err != OUTBOUND_OK || r->status != 200)
        ch->failed++;
    if (--ch->left == 0) {
        ch->done = 1;
        uv_stop(&loop);
        return;
    }
    outbound_req_t q = {.method = "GET", .url = "https://api.test/json"};
    if (outbound_start(ob, &q, on_chain, ch) == NULL)
        ch->failed++;
}

/* A callback that cancels another call in flight (freeing its slot). */
static outbound_call_t *to_cancel;

static void on_done_cancel_other(const outbound_res_t *r, void *ud)
{
    on_done(r, ud);
    outbound_cancel(to_cancel);
}

/* A callback that frees the whole client while another call is in flight. */
struct freer {
    int called;
};

static void on_free_client(const outbound_res_t *r, void *ud)
{
    (void)r;
    ((struct freer *)ud)->called++;
    outbound_free(ob);
    ob = NULL;
    uv_stop(&loop);
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
    char ca[300], rule1[64], rule2[64], rule3[64], rule4[64], rule5[64];
    snprintf(ca, sizeof(ca), "%s/ca.pem", fx.dir);
    snprintf(rule1, sizeof(rule1), "api.test:443:127.0.0.1:%d", fx.port_good);
    snprintf(rule2, sizeof(rule2), "rogue.test:443:127.0.0.1:%d", fx.port_rogue);
    /* the good port's certificate names api.test, localhost and 127.0.0.1 only */
    snprintf(rule3, sizeof(rule3), "wrongname.test:443:127.0.0.1:%d", fx.port_good);
    snprintf(rule4, sizeof(rule4), "expired.test:443:127.0.0.1:%d", fx.port_expired);
    snprintf(rule5, sizeof(rule5), "silent.test:443:127.0.0.1:%d", fx.port_silent);
    const char *rules[] = {rule1, rule2, rule3, rule4, rule5};
    enum { NRULES = 5 };

    /* trust anchors are loaded at start: a bad --upstream-ca is an error there */
    char err[256];
    outbound_global_conf_t missing = {.ca_file = "/nonexistent/ca.pem"};
    ok(outbound_global_init(&missing, err, sizeof(err)) == -1 && strstr(err, "/nonexistent/ca.pem") != NULL,
       "an unreadable CA file is refused at start: %s", err);
    char notpem[300];
    snprintf(notpem, sizeof(notpem), "%s/ports", fx.dir); /* exists, holds no certificate */
    outbound_global_conf_t empty = {.ca_file = notpem};
    ok(outbound_global_init(&empty, err, sizeof(err)) == -1, "a CA file without certificates is refused: %s", err);
    const char *partial[] = {"api.test:443::8443"};
    outbound_global_conf_t bad_rule = {.connect_to = partial, .n_connect_to = 1};
    ok(outbound_global_init(&bad_rule, err, sizeof(err)) == -1 && strstr(err, "HOST:PORT") != NULL,
       "a --connect-to rule with an empty field is refused: %s", err);

    is_int(init_global(ca, rules, NRULES), 0, "global init with the fixture CA");
    uv_loop_init(&loop);
    ob = outbound_new(&loop);

    /* many sequential calls: one connection */
    int all_ok = 1;
    for (int i = 0; i < 20; i++) {
        struct result r = call("GET", "https://api.test/json", NULL);
        all_ok &= r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "{\"ok\": true}") == 0;
    }
    ok(all_ok, "20 sequential GETs succeed");
    outbound_stats_t s = stats();
    is_int((int)s.calls, 20, "20 calls counted");
    is_int((int)s.connections_opened, 1, "one connection for 20 sequential calls");
    is_int((int)s.connections_reused, 19, "... reused 19 times");
    is_int((int)s.idle_connections, 1, "the connection waits in the pool");
    is_int((int)s.hosts, 1, "one pool");
    is_int((int)s.dns_lookups, 0, "a --connect-to host needs no lookup");
    is_int((int)(s.in_flight + s.waiting), 0, "nothing in flight or waiting");

    /* a reused call object forgets its previous call's method and body */
    struct result r = call("POST", "https://api.test/echo", "{\"a\":1}");
    is_str(json_str(r.body, "method"), "POST", "POST after GETs");
    is_str(json_str(r.body, "body"), "{\"a\":1}", "its body arrives");
    r = call("GET", "https://api.test/echo", NULL);
    is_str(json_str(r.body, "method"), "GET", "GET after POST is a GET");
    is_str(json_str(r.body, "body"), "", "... and sends no body");
    r = call("HEAD", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200 && r.body[0] == 0, "HEAD: status, no body");
    r = call("GET", "https://api.test/json", NULL);
    is_str(r.body, "{\"ok\": true}", "GET after HEAD gets the body again (the connection is still in step)");
    r = call("PUT", "https://api.test/echo", "x=1");
    is_str(json_str(r.body, "method"), "PUT", "PUT");
    r = call("POST", "https://api.test/echo", "");
    is_str(json_str(r.body, "method"), "POST", "POST after PUT is a POST again");
    is_str(json_str(r.body, "body"), "", "... with its own (empty) body");
    r = call("GET", "https://API.Test:443/echo#frag", NULL);
    ok(r.err == OUTBOUND_OK && strstr(r.body, "\"Host\": \"api.test\"") != NULL,
       "host name case and the default port do not matter: %s", r.body);
    s = stats();
    ok(s.connections_opened == 1 && s.hosts == 1, "still one connection and one pool after 7 more calls");

    /* the next call started from a callback finds the connection back in the pool */
    outbound_stats_t b0 = stats();
    struct chain ch = {.left = 5};
    outbound_req_t first = {.method = "GET", .url = "https://api.test/json"};
    outbound_start(ob, &first, on_chain, &ch);
    while (!ch.done)
        uv_run(&loop, UV_RUN_ONCE);
    s = stats();
    ok(ch.failed == 0, "5 calls, each started from the previous callback, succeed");
    is_int((int)(s.connections_opened - b0.connections_opened), 0, "... all on the pooled connection");
    is_int((int)(s.connections_reused - b0.connections_reused), 5, "... reused 5 times");

    /* chunked and close-delimited bodies */
    r = call("GET", "https://api.test/chunked/40", NULL);
    int chunks_ok = r.err == OUTBOUND_OK && r.status == 200;
    char want[1024] = "";
    for (int i = 0; i < 40; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "chunk-%d;", i);
    is_str(r.body, want, "a chunked body arrives decoded");
    ok(chunks_ok, "... with status 200");
    outbound_stats_t before = stats();
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && s.connections_reused == before.connections_reused + 1,
       "the connection is kept after a chunked body");
    r = call_ex("GET", "https://api.test/chunked/500", NULL, 0, 0, 100);
    is_int(r.err, OUTBOUND_E_TOO_LARGE, "a chunked body over the cap is refused");
    before = stats();
    r = call("GET", "https://api.test/chunked-trailers", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "chunk extensions and trailers (%s)", outbound_strerror(r.err));
    is_str(r.body, "hello world", "... skipped: only the data in the body");
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && s.connections_reused == before.connections_reused + 1,
       "... and the connection is kept after the trailers");
    r = call("GET", "https://api.test/chunked-bad", NULL);
    ok(r.err == OUTBOUND_E_OTHER && strstr(r.errtext, "malformed") != NULL,
       "a chunk size that is not hex: malformed response (%s: %s)", outbound_strerror(r.err), r.errtext);
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "... and the next call succeeds");
    r = call("GET", "https://api.test/until-close/3000", NULL);
    ok(r.err == OUTBOUND_OK && r.body_len == 3000 && r.body[0] == 'u', "a close-delimited body arrives whole (%zu)",
       r.body_len);
    r = call_ex("GET", "https://api.test/until-close/5000", NULL, 0, 0, 1000);
    is_int(r.err, OUTBOUND_E_TOO_LARGE, "a close-delimited body over the cap is refused");
    r = call_ex("GET", "https://api.test/big/100000", NULL, 0, 0, 1000);
    is_int(r.err, OUTBOUND_E_TOO_LARGE, "a Content-Length over the cap is refused");
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "calls after refused bodies succeed");

    /* what a response allows: the connection is reused only after a clean,
     * framed response that does not say "close" and has nothing after it */
    r = call("GET", "https://api.test/json", NULL); /* one warm connection */
    before = stats();
    r = call("GET", "https://api.test/extra-byte", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "ok") == 0,
       "a response followed by a stray byte is delivered without the byte (%s, '%s')", outbound_strerror(r.err),
       r.body);
    s = stats();
    is_int((int)s.idle_connections, 0, "... and its connection is not kept");
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && r.status == 200, "the next call succeeds");
    is_int((int)(s.connections_opened - before.connections_opened), 1, "... on a new connection");

    before = stats();
    r = call("GET", "https://api.test/conn-close", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "closing") == 0, "a Connection: close response");
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && r.status == 200, "... then a call succeeds");
    is_int((int)(s.connections_reused - before.connections_reused), 1,
           "... not on the connection the server said it would close (kept open by the server)");
    is_int((int)(s.connections_opened - before.connections_opened), 1, "... but on a new one");

    r = call("GET", "https://api.test/continue", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "after continue") == 0,
       "a 100 Continue head is skipped: the final response is delivered (%ld, '%s')", r.status, r.body);
    before = stats();
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && s.connections_reused == before.connections_reused + 1,
       "... and the connection is reused after it");

    before = stats();
    r = call_ex("HEAD", "https://api.test/json", NULL, 0, 2000, 0);
    ok(r.err == OUTBOUND_OK && r.status == 200 && r.body_len == 0,
       "HEAD: Content-Length describes no body; no wait for one (%s)", outbound_strerror(r.err));
    r = call_ex("GET", "https://api.test/no-content", NULL, 0, 2000, 0);
    ok(r.err == OUTBOUND_OK && r.status == 204 && r.body_len == 0,
       "204 with a Content-Length: no body read (%s)", outbound_strerror(r.err));
    r = call("GET", "https://api.test/json", NULL);
    s = stats();
    ok(r.err == OUTBOUND_OK && r.status == 200 && strcmp(r.body, "{\"ok\": true}") == 0,
       "the next call on the same connection reads its own response");
    is_int((int)(s.connections_opened - before.connections_opened), 0, "... all three on one connection");
    is_int((int)(s.connections_reused - before.connections_reused), 3, "... reused each time");

    /* the server closes the pooled connection while it is idle */
    r = call("GET", "https://api.test/close-later/100", NULL);
    is_str(r.body, "bye later", "answer before the server-side close");
    before = stats();
    is_int((int)before.idle_connections, 1, "the connection waits in the idle list");
    int iterations = run_for(400);
    ok(iterations < 50, "no busy loop on the dead pooled connection (%d loop iterations in 400 ms)", iterations);
    is_int((int)stats().idle_connections, 0, "the server's close is noticed while idle: dropped from the list");
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "the next call succeeds");
    s = stats();
    is_int((int)(s.connections_opened - before.connections_opened), 1, "... on a new connection");
    is_int((int)(s.retries - before.retries), 0, "... found dead in the pool, not by a failed request");
    is_int((int)s.idle_connections, 1, "only the new connection is pooled");

    /* the server resets the pooled connection while it is idle: dropped, and
     * its socket closed. h2o 2.2.5 writes TLS close_notify with uv_write and
     * ignores its result; after a read error libuv refuses the write at once,
     * so without a quiet shutdown the socket was never closed nor freed. */
    r = call("GET", "https://api.test/reset-later/100", NULL);
    is_str(r.body, "reset later", "answer before the server-side reset");
    int fds = count_fds();
    run_for(400);
    is_int((int)stats().idle_connections, 0, "the reset is noticed while idle: dropped from the list");
    run_for(50);
    is_int(count_fds(), fds - 1, "... and its socket is closed");

    /* the request races the server's close: the pooled connection looks alive,
     * then closes without answering; the call is retried on a new connection */
    r = call("GET", "https://api.test/drop-next", NULL);
    is_str(r.body, "dropping the next one", "answer before the dropped request");
    before = stats();
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "a request the reused connection dropped is retried and succeeds (%s)",
       outbound_strerror(r.err));
    s = stats();
    is_int((int)(s.retries - before.retries), 1, "... one retry");
    is_int((int)(s.connections_opened - before.connections_opened), 1, "... on a new connection");
    r = call("GET", "https://api.test/drop-next", NULL);
    r = call("POST", "https://api.test/echo", "x");
    is_int(r.err, OUTBOUND_E_OTHER, "a POST is not sent twice: the dropped one fails");

    /* cancel in flight, then the next call */
    struct result never = {0};
    outbound_req_t slow = {.method = "GET", .url = "https://api.test/slow/300"};
    outbound_call_t *c = outbound_start(ob, &slow, on_done, &never);
    run_for(50);
    outbound_cancel(c);
    is_int((int)outbound_pending(ob), 0, "cancelled in flight: nothing pending");
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && never.done == 0, "call after a cancel succeeds; cancelled callback never ran");
    /* cancel while connecting (a new connection to another host) */
    outbound_req_t conn = {.method = "GET", .url = "https://silent.test/json"};
    c = outbound_start(ob, &conn, on_done, &never);
    run_for(20);
    outbound_cancel(c);
    run_for(20);
    ok(never.done == 0 && outbound_pending(ob) == 0, "cancelled while connecting: no callback");

    /* TLS verification */
    r = call("GET", "https://rogue.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "certificate from another CA refused");
    r = call("GET", "https://wrongname.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "certificate for another host name refused");
    ok(strstr(r.errtext, "hostname mismatch") != NULL, "... reason given: %s", r.errtext);
    r = call("GET", "https://expired.test/json", NULL);
    is_int(r.err, OUTBOUND_E_TLS, "expired certificate refused");
    ok(strstr(r.errtext, "expired") != NULL, "... reason given: %s", r.errtext);
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "the right host still verifies afterwards");

    /* timeouts: a server that accepts TCP and never speaks TLS (connect
     * timeout), and one that never answers the request (total timeout) */
    r = call_ex("GET", "https://silent.test/json", NULL, 300, 5000, 0);
    ok(r.err == OUTBOUND_E_TIMEOUT && r.elapsed_us >= 250000 && r.elapsed_us < 4000000,
       "a silent server: connect timeout after ~300 ms (%s, %llu us)", outbound_strerror(r.err),
       (unsigned long long)r.elapsed_us);
    r = call_ex("GET", "https://api.test/slow/5000", NULL, 0, 400, 0);
    ok(r.err == OUTBOUND_E_TIMEOUT && r.elapsed_us >= 350000 && r.elapsed_us < 4000000,
       "no answer: total timeout after ~400 ms (%s, %llu us)", outbound_strerror(r.err),
       (unsigned long long)r.elapsed_us);
    r = call("GET", "https://api.test/json", NULL);
    ok(r.err == OUTBOUND_OK, "calls after timeouts succeed");

    /* refused, and a name looked up (localhost: /etc/hosts, no network) */
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:1/json");
    r = call("GET", url, NULL);
    is_int(r.err, OUTBOUND_E_CONNECT, "refused port: connect error");
    before = stats();
    snprintf(url, sizeof(url), "https://localhost:%d/json", fx.port_good);
    r = call("GET", url, NULL);
    ok(r.err == OUTBOUND_OK && r.status == 200, "a host name resolved at call time works (%s)", outbound_strerror(r.err));
    r = call("GET", url, NULL);
    s = stats();
    is_int((int)(s.dns_lookups - before.dns_lookups), 1, "... looked up once for two calls");

    /* a burst: every call completes */
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
    ok(s.idle_connections >= 2 && s.idle_connections <= BURST + 2, "connections pooled for reuse (%zu)",
       s.idle_connections);

    /* freeing with pooled connections: every handle closes */
    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "loop closes with no handle left open");
    outbound_global_cleanup();

    /* without --upstream-ca only the system trust applies: the fixture CA is not in it */
    is_int(init_global(NULL, rules, NRULES), 0, "global init with the system trust store");
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
        outbound_global_conf_t gc = {.ca_file = ca, .connect_to = rules, .n_connect_to = NRULES, .max_host_connections = 4};
        is_int(outbound_global_init(&gc, err, sizeof(err)), 0, "global init with at most 4 connections per host");
        uv_loop_init(&loop);
        ob = outbound_new(&loop);
        enum { N = 12 };
        static struct result capped[N];
        memset(capped, 0, sizeof(capped));
        outbound_call_t *calls[N];
        for (int i = 0; i < N; i++) {
            outbound_req_t q = {.method = "GET",
                                .url = "https://api.test/slow/150",
                                .connect_timeout_ms = 20000,
                                .timeout_ms = 30000};
            calls[i] = outbound_start(ob, &q, on_done, &capped[i]);
        }
        s = stats();
        ok(s.in_flight == 4 && s.waiting == 8 && s.waited == 8, "4 in flight, 8 wait (%zu, %zu)", s.in_flight,
           s.waiting);
        outbound_cancel(calls[9]);  /* waiting */
        outbound_cancel(calls[1]);  /* in flight (connecting) */
        is_int((int)outbound_pending(ob), N - 2, "two cancelled");
        int good = 0;
        for (int i = 0; i < N; i++) {
            if (i == 9 || i == 1)
                continue;
            run_until(&capped[i]);
            good += capped[i].err == OUTBOUND_OK && capped[i].status == 200;
        }
        is_int(good, N - 2, "the other 10 calls all complete through 4 connections");
        ok(capped[1].done == 0 && capped[9].done == 0, "cancelled callbacks never ran");
        s = stats();
        ok(s.connections_opened >= 1 && s.connections_opened <= 4, "no more than 4 connections opened (%llu)",
           (unsigned long long)s.connections_opened);
        ok(s.connections_reused >= 6, "... reused by the waiting calls (%llu)", (unsigned long long)s.connections_reused);

        /* a call waiting for a slot times out within its own total */
        memset(capped, 0, sizeof(capped));
        for (int i = 0; i < 5; i++) {
            outbound_req_t q = {.method = "GET",
                                .url = i < 4 ? "https://api.test/slow/1500" : "https://api.test/json",
                                .timeout_ms = i < 4 ? 30000 : 300};
            outbound_start(ob, &q, on_done, &capped[i]);
        }
        run_until(&capped[4]);
        ok(capped[4].err == OUTBOUND_E_TIMEOUT && capped[0].done == 0,
           "a waiting call times out while the slots stay busy (%s)", outbound_strerror(capped[4].err));

        /* a slot freed by a cancel inside a callback goes to a waiting call at
         * once (not when some other call ends) */
        for (int i = 0; i < 4; i++)
            if (capped[i].done == 0)
                run_until(&capped[i]);

        /* a call that waited for a slot, then got a kept-alive connection,
         * keeps its deadline: the wait counts, and the timer (not restarted
         * when the due time is unchanged) still fires */
        {
            static struct result busy[4], late, fine;
            memset(busy, 0, sizeof(busy));
            memset(&late, 0, sizeof(late));
            memset(&fine, 0, sizeof(fine));
            outbound_req_t q400 = {.method = "GET", .url = "https://api.test/slow/400", .timeout_ms = 30000};
            outbound_req_t q1500 = {.method = "GET", .url = "https://api.test/slow/1500", .timeout_ms = 900};
            outbound_req_t q100 = {.method = "GET", .url = "https://api.test/slow/100", .timeout_ms = 900};
            for (int i = 0; i < 4; i++)
                outbound_start(ob, &q400, on_done, &busy[i]);
            outbound_start(ob, &q1500, on_done, &late); /* waits ~400 ms, then runs */
            outbound_start(ob, &q100, on_done, &fine);  /* likewise, done by ~500 ms */
            run_until(&late);
            run_until(&fine);
            for (int i = 0; i < 4; i++)
                run_until(&busy[i]);
            ok(late.err == OUTBOUND_E_TIMEOUT && late.elapsed_us >= 850000 && late.elapsed_us < 1400000,
               "a call that waited times out at its own total, the wait included (%s after %llu us)",
               outbound_strerror(late.err), (unsigned long long)late.elapsed_us);
            ok(fine.err == OUTBOUND_OK && fine.status == 200, "... and one that fits in its total completes (%s)",
               outbound_strerror(fine.err));
        }
        {
            static struct result a, b, c3, d, w1, w2;
            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            memset(&c3, 0, sizeof(c3));
            memset(&d, 0, sizeof(d));
            memset(&w1, 0, sizeof(w1));
            memset(&w2, 0, sizeof(w2));
            outbound_req_t fastish = {.method = "GET", .url = "https://api.test/slow/100", .timeout_ms = 10000};
            outbound_req_t slow15 = {.method = "GET", .url = "https://api.test/slow/1500", .timeout_ms = 10000};
            outbound_req_t quick = {.method = "GET", .url = "https://api.test/json", .timeout_ms = 800};
            outbound_start(ob, &fastish, on_done_cancel_other, &a);
            to_cancel = outbound_start(ob, &slow15, on_done, &b);
            outbound_start(ob, &slow15, on_done, &c3);
            outbound_start(ob, &slow15, on_done, &d);
            outbound_start(ob, &slow15, on_done, &w1); /* waits; gets a's slot */
            outbound_start(ob, &quick, on_done, &w2);  /* waits; gets b's slot when a's callback cancels b */
            run_until(&w2);
            ok(a.done == 1 && b.done == 0 && w2.err == OUTBOUND_OK,
               "the slot of a call cancelled from a callback goes to a waiting call at once (%s)",
               outbound_strerror(w2.err));
            run_until(&w1);
            run_until(&c3);
            run_until(&d);
            ok(w1.err == OUTBOUND_OK && c3.err == OUTBOUND_OK && d.err == OUTBOUND_OK, "... and the others complete");
        }

        /* a callback that frees the client while another call is in flight and
         * others wait: no other callback, nothing leaks (ASan) */
        {
            struct freer fr = {0};
            struct result other = {0}, waiting = {0};
            outbound_req_t q1 = {.method = "GET", .url = "https://api.test/json"};
            outbound_req_t q2 = {.method = "GET", .url = "https://api.test/slow/300"};
            for (int i = 0; i < 4; i++)
                if (capped[i].done == 0)
                    run_until(&capped[i]); /* the 1.5 s calls: slots free again */
            outbound_start(ob, &q1, on_free_client, &fr);
            outbound_start(ob, &q2, on_done, &other);
            outbound_start(ob, &q2, on_done, &other);
            outbound_start(ob, &q2, on_done, &other);
            outbound_start(ob, &q2, on_done, &waiting); /* the fifth waits */
            while (fr.called == 0)
                uv_run(&loop, UV_RUN_ONCE);
            uv_run(&loop, UV_RUN_DEFAULT);
            ok(fr.called == 1 && other.done == 0 && waiting.done == 0,
               "freeing from a callback: the other calls never call back");
            is_int(uv_loop_close(&loop), 0, "loop closes after a free from a callback");
            uv_loop_init(&loop);
            ob = outbound_new(&loop);
        }

        /* freeing with calls in flight and waiting: no callback, nothing left */
        outbound_req_t q = {.method = "GET", .url = "https://api.test/slow/200"};
        struct result late[6];
        memset(late, 0, sizeof(late));
        for (int i = 0; i < 6; i++) /* 4 in flight, 2 waiting */
            outbound_start(ob, &q, on_done, &late[i]);
        run_for(50);
        s = stats();
        ok(s.in_flight == 4 && s.waiting == 2, "4 in flight and 2 waiting before the free (%zu, %zu)", s.in_flight,
           s.waiting);
        outbound_free(ob);
        uv_run(&loop, UV_RUN_DEFAULT);
        int any = 0;
        for (int i = 0; i < 6; i++)
            any |= late[i].done;
        ok(!any, "free cancels calls in flight and waiting");
        is_int(uv_loop_close(&loop), 0, "loop closes after the capped run");
        outbound_global_cleanup();
    }

    fixture_stop(&fx);
    return done_testing();
}
