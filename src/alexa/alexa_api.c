/* alexa_api.c - asynchronous calls to Amazon's Customer Profile, Device
 * Address and Progressive Response APIs through the outbound client (see
 * alexa_api.h). Owns the per-call state, the bearer token's short life
 * (copied into one header, wiped when the call ends) and the logging. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa/alexa_api.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"

typedef enum { KIND_GIVEN_NAME, KIND_EMAIL, KIND_ADDRESS, KIND_PROGRESSIVE } call_kind_t;

static const char *const kind_names[] = {"given_name", "email", "address", "progressive"};

/* ---- metrics (docs/metrics.md): by API and result (alexa_api_status_t order) ---- */
static const char *const result_labels[] = {"ok",        "not_set",     "permission_missing", "deployment_error",
                                            "bad_token", "throttled",   "unavailable",        "refused"};
_Static_assert(ALEXA_API_REFUSED + 1 == sizeof(result_labels) / sizeof(result_labels[0]), "one label per result");
METRICS_DEFINE(m_calls, METRICS_COUNTER, "binday_amazon_api_calls_total",
               "Calls to Amazon's Customer Profile, Device Address and Progressive Response APIs, by API and result",
               "api", kind_names, 4, "result", result_labels, 8, NULL, 0)
METRICS_DEFINE(m_latency, METRICS_HISTOGRAM, "binday_amazon_api_duration_seconds",
               "Time from starting a call to Amazon's APIs to its answer (or failure), by API", "api", kind_names, 4,
               NULL, NULL, 1, metrics_latency_bounds_us, METRICS_LATENCY_BUCKETS)

struct alexa_api_call {
    outbound_call_t *oc;
    call_kind_t kind;
    alexa_api_cb cb;
    void *ud;
    char *url;
    char *auth;  /* "Authorization: Bearer ..." - wiped before free */
    char *body;  /* POST body or NULL */
};

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", msg);
}

static void call_free(struct alexa_api_call *c)
{
    if (c->auth) {
        explicit_bzero(c->auth, strlen(c->auth));
        free(c->auth);
    }
    free(c->url);
    free(c->body);
    free(c);
}

static void on_done(const outbound_res_t *res, void *ud)
{
    struct alexa_api_call *c = ud;
    alexa_api_result_t r = {0};
    char text[ALEXA_API_MAX_TEXT + 1];
    alexa_address_t *addr = NULL;

    r.http_status = res->err == OUTBOUND_OK ? res->status : 0;
    r.net_err = res->err;
    r.elapsed_us = res->elapsed_us;
    r.status = alexa_api_classify(res->err, res->status, res->body, res->body_len);
    if (c->kind == KIND_PROGRESSIVE && res->err == OUTBOUND_OK && res->status >= 200 && res->status < 300)
        r.status = ALEXA_API_OK; /* 204 is the normal answer here */
    else if (r.status == ALEXA_API_OK && c->kind == KIND_ADDRESS) {
        addr = malloc(sizeof(*addr));
        if (addr == NULL || alexa_api_parse_address(res->body, res->body_len, addr) != 0) {
            r.status = ALEXA_API_UNAVAILABLE;
            log_warn("alexa_api_bad_body", "api=%s status=%ld len=%zu", kind_names[c->kind], r.http_status,
                     res->body_len);
        } else {
            r.address = addr;
        }
    } else if (r.status == ALEXA_API_OK && (c->kind == KIND_GIVEN_NAME || c->kind == KIND_EMAIL)) {
        int pr = alexa_api_parse_string(res->body, res->body_len, text, sizeof(text));
        if (pr == 0) {
            r.text = text;
        } else if (pr == 1) {
            r.status = ALEXA_API_NOT_SET;
        } else {
            r.status = ALEXA_API_UNAVAILABLE;
            log_warn("alexa_api_bad_body", "api=%s status=%ld len=%zu", kind_names[c->kind], r.http_status,
                     res->body_len);
        }
    }

    metrics_inc(&m_calls, c->kind, r.status);
    metrics_observe(&m_latency, c->kind, 0, r.elapsed_us);
    if (r.status == ALEXA_API_DEPLOYMENT_ERROR)
        log_error("alexa_api_deployment_error",
                  "api=%s status=%ld msg=\"permission cannot be requested: check skill.json permissions and "
                  "redeploy the skill package\"",
                  kind_names[c->kind], r.http_status);
    else if (r.status == ALEXA_API_OK || r.status == ALEXA_API_NOT_SET || r.status == ALEXA_API_PERMISSION_MISSING)
        log_info("alexa_api", "api=%s result=%s status=%ld ms=%llu", kind_names[c->kind],
                 alexa_api_status_name(r.status), r.http_status, (unsigned long long)(r.elapsed_us / 1000));
    else
        log_warn("alexa_api", "api=%s result=%s status=%ld net=%s ms=%llu", kind_names[c->kind],
                 alexa_api_status_name(r.status), r.http_status, outbound_strerror(res->err),
                 (unsigned long long)(r.elapsed_us / 1000));

    /* the token is not needed any more: wipe it before running user code */
    alexa_api_cb cb = c->cb;
    void *cud = c->ud;
    call_free(c);
    cb(&r, cud);
    if (addr)
        explicit_bzero(addr, sizeof(*addr));
    free(addr);
    explicit_bzero(text, sizeof(text));
}

static alexa_api_call_t *start(outbound_t *ob, call_kind_t kind, char *url, const char *token, char *body,
                               alexa_api_cb cb, void *ud, char *err, size_t err_size)
{
    struct alexa_api_call *c = calloc(1, sizeof(*c));
    static const char pre[] = "Authorization: Bearer ";
    size_t tn = strlen(token);
    if (c == NULL || (c->auth = malloc(sizeof(pre) + tn)) == NULL) {
        free(c);
        free(url);
        free(body);
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    memcpy(c->auth, pre, sizeof(pre) - 1);
    memcpy(c->auth + sizeof(pre) - 1, token, tn + 1);
    c->kind = kind;
    c->cb = cb;
    c->ud = ud;
    c->url = url;
    c->body = body;
    const char *headers[3];
    size_t nh = 0;
    headers[nh++] = c->auth;
    headers[nh++] = "Accept: application/json";
    if (body)
        headers[nh++] = "Content-Type: application/json";
    outbound_req_t req = {
        .method = body ? "POST" : "GET",
        .url = url,
        .headers = headers,
        .n_headers = nh,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .connect_timeout_ms = ALEXA_API_CONNECT_TIMEOUT_MS,
        .timeout_ms = ALEXA_API_TIMEOUT_MS,
        .max_bytes = ALEXA_API_MAX_BODY,
    };
    c->oc = outbound_start(ob, &req, on_done, c);
    if (c->oc == NULL) {
        call_free(c);
        set_err(err, err_size, "outbound client refused the request");
        return NULL;
    }
    return c;
}

static bool check(const char *endpoint, const char *token, char *err, size_t err_size)
{
    if (!alexa_api_endpoint_ok(endpoint)) {
        set_err(err, err_size, "apiEndpoint is not an Amazon API host");
        return false;
    }
    if (!alexa_api_token_ok(token)) {
        set_err(err, err_size, "apiAccessToken missing or malformed");
        return false;
    }
    return true;
}

static char *join_url(const char *endpoint, const char *path)
{
    size_t en = strlen(endpoint);
    if (en > 0 && endpoint[en - 1] == '/')
        en--;
    size_t pn = strlen(path);
    char *u = malloc(en + pn + 1);
    if (u) {
        memcpy(u, endpoint, en);
        memcpy(u + en, path, pn + 1);
    }
    return u;
}

static alexa_api_call_t *profile(outbound_t *ob, call_kind_t kind, const char *path, const char *endpoint,
                                 const char *token, alexa_api_cb cb, void *ud, char *err, size_t err_size)
{
    if (!check(endpoint, token, err, err_size))
        return NULL;
    char *url = join_url(endpoint, path);
    if (url == NULL) {
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    return start(ob, kind, url, token, NULL, cb, ud, err, err_size);
}

alexa_api_call_t *alexa_api_given_name(outbound_t *ob, const char *endpoint, const char *token, alexa_api_cb cb,
                                       void *ud, char *err, size_t err_size)
{
    return profile(ob, KIND_GIVEN_NAME, "/v2/accounts/~current/settings/Profile.givenName", endpoint, token, cb, ud,
                   err, err_size);
}

alexa_api_call_t *alexa_api_email(outbound_t *ob, const char *endpoint, const char *token, alexa_api_cb cb,
                                  void *ud, char *err, size_t err_size)
{
    return profile(ob, KIND_EMAIL, "/v2/accounts/~current/settings/Profile.email", endpoint, token, cb, ud, err,
                   err_size);
}

alexa_api_call_t *alexa_api_address(outbound_t *ob, const char *endpoint, const char *token,
                                    const char *device_id, alexa_api_cb cb, void *ud, char *err, size_t err_size)
{
    if (!check(endpoint, token, err, err_size))
        return NULL;
    size_t cap = strlen(endpoint) + 3 * ALEXA_API_MAX_DEVICE_ID + 64;
    char *url = malloc(cap);
    if (url == NULL) {
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    if (alexa_api_address_url(url, cap, endpoint, device_id) != 0) {
        free(url);
        set_err(err, err_size, "deviceId missing or too long");
        return NULL;
    }
    return start(ob, KIND_ADDRESS, url, token, NULL, cb, ud, err, err_size);
}

alexa_api_call_t *alexa_api_progressive(outbound_t *ob, const char *endpoint, const char *token,
                                        const char *request_id, const char *ssml, alexa_api_cb cb, void *ud,
                                        char *err, size_t err_size)
{
    if (!check(endpoint, token, err, err_size))
        return NULL;
    if (request_id == NULL || ssml == NULL) {
        set_err(err, err_size, "requestId and speech are required");
        return NULL;
    }
    json_t *j = json_pack("{s:{s:s}, s:{s:s, s:s}}", "header", "requestId", request_id, "directive", "type",
                          "VoicePlayer.Speak", "speech", ssml);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body == NULL) {
        set_err(err, err_size, "invalid requestId or speech");
        return NULL;
    }
    char *url = join_url(endpoint, "/v1/directives");
    if (url == NULL) {
        free(body);
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    return start(ob, KIND_PROGRESSIVE, url, token, body, cb, ud, err, err_size);
}

void alexa_api_cancel(alexa_api_call_t *call)
{
    if (call == NULL)
        return;
    outbound_cancel(call->oc);
    call_free(call);
}
