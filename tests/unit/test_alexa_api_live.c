/* test_alexa_api_live.c - the Alexa API client against the fake Amazon cloud
 * (tests/integration/fake_amazon.py) over real TLS, through the real outbound
 * client with --connect-to style rules: every status classification, no body
 * on GET, the 2.5 s total timeout, progressive responses, cancellation, and
 * refusals that make no network call. Run from the repository root. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binday/alexa/alexa_api.h"
#include "binday/util/log.h"
#include "tap.h"

static char dir[] = "/tmp/binday_alexa_api_XXXXXX";
static pid_t fake_pid;

typedef struct {
    int done;
    alexa_api_result_t r;
    char text[ALEXA_API_MAX_TEXT + 1];
    alexa_address_t addr;
    int has_addr;
} slot_t;

static uv_loop_t *stop_loop; /* the test's loop, for uv_stop */

static void on_result(const alexa_api_result_t *r, void *ud)
{
    slot_t *s = ud;
    s->done++;
    /* make the loop's current iteration return: a call can complete in the timer
     * phase of a UV_RUN_ONCE iteration, which would then block in epoll with
     * nothing left to wake it (seen under CPU load) */
    if (stop_loop)
        uv_stop(stop_loop);
    s->r = *r;
    s->r.text = NULL;
    s->r.address = NULL;
    if (r->text)
        snprintf(s->text, sizeof(s->text), "%s", r->text);
    if (r->address) {
        alexa_address_copy(&s->addr, r->address);
        s->has_addr = 1;
    }
}

static void run_until(uv_loop_t *loop, slot_t *s, int n)
{
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            if (!s[i].done)
                all = 0;
        if (all)
            return;
        uv_run(loop, UV_RUN_ONCE);
    }
}

static int start_fake(void)
{
    char cmd[512], pf[300];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/integration/fake_amazon.py --make-certs %s/certs >/dev/null",
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(pf, sizeof(pf), "%s/port", dir);
    fake_pid = fork();
    if (fake_pid == 0) {
        char cert[300], key[300];
        snprintf(cert, sizeof(cert), "%s/certs/server.pem", dir);
        snprintf(key, sizeof(key), "%s/certs/server.key", dir);
        execl("/usr/bin/python3", "python3", "tests/integration/fake_amazon.py", "--cert", cert, "--key", key,
              "--port", "0", "--port-file", pf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(pf, "r");
        if (f) {
            int port = 0;
            int n = fscanf(f, "%d", &port);
            fclose(f);
            if (n == 1 && port > 0)
                return port;
        }
        usleep(25000);
    }
    return -1;
}

int main(void)
{
    char err[256];
    if (mkdtemp(dir) == NULL)
        return 1;
    int port = start_fake();
    ok(port > 0, "fake Amazon started");
    if (port <= 0)
        return done_testing();

    char ca[300], rule_eu[128], rule_na[128];
    snprintf(ca, sizeof(ca), "%s/certs/ca.pem", dir);
    snprintf(rule_eu, sizeof(rule_eu), "api.eu.amazonalexa.com:443:127.0.0.1:%d", port);
    snprintf(rule_na, sizeof(rule_na), "api.amazonalexa.com:443:127.0.0.1:%d", port);
    const char *rules[] = {rule_eu, rule_na};
    outbound_global_conf_t gc = {.ca_file = ca, .connect_to = rules, .n_connect_to = 2};
    is_int(outbound_global_init(&gc, err, sizeof(err)), 0, "outbound global init");
    log_set_level(LOG_ERROR); /* keep the TAP output readable */

    uv_loop_t loop;
    uv_loop_init(&loop);
    stop_loop = &loop;
    outbound_t *ob = outbound_new(&loop);
    const char *eu = "https://api.eu.amazonalexa.com";

    /* every scenario, concurrently */
    static const struct {
        const char *token;
        int kind; /* 0 given name, 1 email, 2 address */
        alexa_api_status_t want;
        long http;
    } cases[] = {
        {"tok-granted", 0, ALEXA_API_OK, 200},
        {"tok-granted", 1, ALEXA_API_OK, 200},
        {"tok-granted", 2, ALEXA_API_OK, 200},
        {"tok-403", 2, ALEXA_API_PERMISSION_MISSING, 403},
        {"tok-403-plain", 0, ALEXA_API_PERMISSION_MISSING, 403},
        {"tok-forbidden", 1, ALEXA_API_DEPLOYMENT_ERROR, 403},
        {"tok-204", 0, ALEXA_API_NOT_SET, 204},
        {"tok-204", 2, ALEXA_API_NOT_SET, 204},
        {"tok-401", 1, ALEXA_API_BAD_TOKEN, 401},
        {"tok-429", 2, ALEXA_API_THROTTLED, 429},
        {"tok-500", 0, ALEXA_API_UNAVAILABLE, 500},
        {"tok-503", 2, ALEXA_API_UNAVAILABLE, 503},
        {"tok-html", 0, ALEXA_API_UNAVAILABLE, 200},
        {"tok-nulls", 2, ALEXA_API_OK, 200},
        {"tok-20146", 2, ALEXA_API_OK, 200},
        {"tok-noemail", 1, ALEXA_API_PERMISSION_MISSING, 403},
        {"tok-slow-300ms", 2, ALEXA_API_OK, 200},
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    static slot_t s[N];
    for (size_t i = 0; i < N; i++) {
        alexa_api_call_t *c;
        if (cases[i].kind == 0)
            c = alexa_api_given_name(ob, eu, cases[i].token, on_result, &s[i], err, sizeof(err));
        else if (cases[i].kind == 1)
            c = alexa_api_email(ob, eu, cases[i].token, on_result, &s[i], err, sizeof(err));
        else
            c = alexa_api_address(ob, eu, cases[i].token, "amzn1.ask.device.A/B+C", on_result, &s[i], err,
                                  sizeof(err));
        ok(c != NULL, "started %s kind %d", cases[i].token, cases[i].kind);
    }
    run_until(&loop, s, N);
    for (size_t i = 0; i < N; i++) {
        ok(s[i].done == 1, "%s kind %d: callback once", cases[i].token, cases[i].kind);
        is_int(s[i].r.status, cases[i].want, "%s kind %d: %s", cases[i].token, cases[i].kind,
               alexa_api_status_name(cases[i].want));
        is_int(s[i].r.http_status, cases[i].http, "%s kind %d: HTTP status kept", cases[i].token, cases[i].kind);
    }
    is_str(s[0].text, "Jane", "given name text");
    is_str(s[1].text, "jane@example.com", "email text");
    ok(s[2].has_addr && strcmp(s[2].addr.postal_code, "NR19 1AA") == 0 && s[2].addr.address_line2 == NULL,
       "address parsed (granted; also proves the GET carried no body)");
    ok(s[13].has_addr && s[13].addr.postal_code == NULL && s[13].addr.address_line1 == NULL, "all-null address");
    ok(s[14].has_addr && strcmp(s[14].addr.postal_code, "20146") == 0 && strcmp(s[14].addr.country_code, "US") == 0,
       "US test address");

    /* the NA endpoint with a trailing slash works the same */
    slot_t na = {0};
    ok(alexa_api_given_name(ob, "https://api.amazonalexa.com/", "tok-granted", on_result, &na, err, sizeof(err)) != NULL,
       "NA endpoint started");
    run_until(&loop, &na, 1);
    is_str(na.text, "Jane", "NA endpoint answered");

    /* progressive response */
    slot_t pr = {0};
    ok(alexa_api_progressive(ob, eu, "tok-granted", "amzn1.echo-api.request.1", "<speak>Just a moment.</speak>",
                             on_result, &pr, err, sizeof(err)) != NULL,
       "progressive response started");
    run_until(&loop, &pr, 1);
    ok(pr.r.status == ALEXA_API_OK && pr.r.http_status == 204, "progressive response accepted (204)");
    slot_t pr2 = {0};
    alexa_api_progressive(ob, eu, "tok-429", "r", "<speak>x</speak>", on_result, &pr2, err, sizeof(err));
    run_until(&loop, &pr2, 1);
    is_int(pr2.r.status, ALEXA_API_THROTTLED, "progressive response throttled");

    /* refusals: no call made, no callback */
    size_t before = outbound_pending(ob);
    slot_t never = {0};
    ok(alexa_api_given_name(ob, "https://evil.example.com", "tok-granted", on_result, &never, err, sizeof(err)) == NULL,
       "foreign endpoint refused");
    ok(strstr(err, "Amazon") != NULL, "with a reason");
    ok(alexa_api_email(ob, eu, "tok\r\nX-Injected: 1", on_result, &never, err, sizeof(err)) == NULL &&
           strstr(err, "tok") == NULL,
       "token with CR/LF refused; the reason does not echo it");
    ok(alexa_api_address(ob, eu, "tok-granted", "", on_result, &never, err, sizeof(err)) == NULL,
       "empty device id refused");
    ok(alexa_api_progressive(ob, eu, "tok-granted", NULL, "<speak/>", on_result, &never, err, sizeof(err)) == NULL,
       "progressive without request id refused");
    ok(outbound_pending(ob) == before, "no network call for refusals");

    /* cancellation: the callback never runs */
    slot_t cancelled = {0}, after = {0};
    alexa_api_call_t *c = alexa_api_address(ob, eu, "tok-slow-400ms", "d", on_result, &cancelled, err, sizeof(err));
    ok(c != NULL, "slow call started");
    alexa_api_cancel(c);
    alexa_api_given_name(ob, eu, "tok-slow-600ms", on_result, &after, err, sizeof(err));
    run_until(&loop, &after, 1);
    is_int(cancelled.done, 0, "cancelled call's callback did not run");
    is_int(after.r.status, ALEXA_API_OK, "a later call still works");

    /* total timeout: 2.5 s */
    slot_t slow = {0};
    alexa_api_given_name(ob, eu, "tok-slow-4000ms", on_result, &slow, err, sizeof(err));
    run_until(&loop, &slow, 1);
    is_int(slow.r.status, ALEXA_API_UNAVAILABLE, "too slow -> unavailable");
    is_int(slow.r.net_err, OUTBOUND_E_TIMEOUT, "as a timeout");
    ok(slow.r.elapsed_us >= 2400000 && slow.r.elapsed_us < 3500000, "after about 2.5 s (%llu ms)",
       (unsigned long long)(slow.r.elapsed_us / 1000));
    is_int(slow.r.http_status, 0, "no HTTP status");

    outbound_free(ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "loop closes with nothing left open");
    outbound_global_cleanup();

    kill(fake_pid, SIGTERM);
    waitpid(fake_pid, NULL, 0);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
