/* alexa_endpoint.c - owns POST /alexa: every request is verified (verify.h)
 * before its JSON is used; verified skill requests go to the conversation
 * (skill.h), verified skill events update what we keep about the user.
 *
 * One request's asynchronous steps (certificate download, Amazon API calls,
 * a skill event's commit by the store writer) are bounded by the server's
 * handler timeout; if the request goes away first, on_gone cancels whichever
 * step is running. */
#include "binday/skill/alexa_endpoint.h"

#include <string.h>

#include "binday/alexa/alexa_request.h"
#include "binday/alexa/alexa_response.h"
#include "binday/alexa/envelope.h"
#include "binday/util/log.h"
#include "binday/privacy/privacy.h"

struct ctx {
    h2o_req_t *req;
    alexa_endpoint_thread_t *at;
    server_pending_t *pending;
    verify_call_t *vcall;
    skill_call_t *scall;
    writer_job_t *wjob; /* a skill event being committed */
    char type_name[64]; /* copied: rq.type_name points into the envelope */
    char user[SECRET_HEX_LEN + 1];
    unsigned perms;
    int done;
};

static void on_gone(void *ud)
{
    struct ctx *c = ud;
    c->done = 1;
    if (c->vcall) {
        verify_cancel(c->vcall);
        c->vcall = NULL;
    }
    if (c->scall) {
        skill_cancel(c->scall);
        c->scall = NULL;
    }
    if (c->wjob) { /* it still commits; only the answer is gone (the 503 went out) */
        writer_abandon(c->wjob);
        c->wjob = NULL;
    }
}

static void respond(struct ctx *c, int status, const char *body, size_t len)
{
    if (c->done)
        return;
    c->done = 1;
    server_pending_end(c->pending);
    server_send(c->req, status, "application/json;charset=UTF-8", body, len);
}

static void on_answer(void *ud, int status, char *body, size_t len)
{
    struct ctx *c = ud;
    c->scall = NULL;
    respond(c, status, body, len);
    free(body);
}

static void respond_empty(struct ctx *c)
{
    size_t len;
    char *body = alexa_response_empty(&len);
    respond(c, 200, body, len);
    free(body);
}

/* The event is committed (rc 0) or failed: only now is it acknowledged. */
static void on_event_done(void *ud, int rc, int applied, unsigned erased)
{
    struct ctx *c = ud;
    c->wjob = NULL;
    if (rc != 0) {
        /* not stored: a 5xx makes Amazon deliver it again */
        log_error("skill.event", "type=%s user=%s error=\"write failed (%d)\"", c->type_name, c->user, rc);
        respond(c, 503, "{\"error\":\"event not stored, try again\"}", 39);
        return;
    }
    log_info("skill.event", "type=%s user=%s permissions=%u applied=%d erase=%u", c->type_name, c->user, c->perms,
             applied, erased);
    respond_empty(c);
}

/* ProactiveSubscriptionChanged (docs/alerts.md): an empty list means the
 * user turned our notifications off: their alert subscription goes at once.
 * A non-empty list changes nothing (the property comes from the opt-in
 * dialogue). The erasure goes to the store writer; only a refusal (queue
 * full) is answered 503, so Amazon delivers the event again. */
static void handle_proactive_subscription(struct ctx *c, const alexa_request_t *rq)
{
    int rc = 0;
    if (rq->proactive_subscriptions == 0)
        rc = privacy_erase_submit(c->at->conf->privacy, c->user, PRIVACY_ERASE_ALERTS, "proactive_unsubscribed");
    log_info("skill.event", "type=%s user=%s subscriptions=%d", rq->type_name, c->user, rq->proactive_subscriptions);
    if (rc == WRITER_FULL || rc == WRITER_STOPPED) {
        c->req->http1_is_persistent = 0;
        respond(c, 503, "{\"error\":\"busy, try again\"}", 27);
        return;
    }
    respond_empty(c);
}

/* Skill events: the user's consent changed. What we derived from a permission
 * goes with it; disabling takes everything. Applied in timestamp order per
 * user (privacy.h, docs/privacy.md).
 *
 * Amazon redelivers an event that did not get a 2xx, so 200 means "stored":
 * the event's write goes to the store writer and the answer waits for its
 * commit, asynchronously (the loop serves other requests meanwhile; past the
 * handler timeout the server's 503 goes out and the write still lands). When
 * the writer's queue is full the event is refused with 503 at once, and
 * Amazon's retry brings it back. Events we cannot parse or do not handle are
 * acknowledged at once: a retry would not change them. */
static void handle_event(struct ctx *c, json_t *env)
{
    alexa_request_t rq;
    char err[300];
    int64_t ts = 0;
    privacy_t *p = c->at->conf->privacy;
    snprintf(c->user, sizeof(c->user), "-");
    if (alexa_request_parse(env, &rq, err, sizeof(err)) == 0 && rq.user_id && rq.timestamp && p &&
        envelope_parse_timestamp((const uint8_t *)rq.timestamp, strlen(rq.timestamp), &ts) == 0) {
        privacy_user_hex(p, rq.user_id, c->user, sizeof(c->user));
        privacy_ev_t ev = PRIVACY_EV_PERMISSIONS;
        if (rq.type == ALEXA_REQ_SKILL_DISABLED)
            ev = PRIVACY_EV_DISABLED;
        else if (rq.type == ALEXA_REQ_SKILL_ENABLED)
            ev = PRIVACY_EV_ENABLED;
        else if (rq.type == ALEXA_REQ_PROACTIVE_SUBSCRIPTION_CHANGED) {
            handle_proactive_subscription(c, &rq);
            return;
        } else if (rq.type != ALEXA_REQ_PERMISSION_CHANGED && rq.type != ALEXA_REQ_PERMISSION_ACCEPTED) {
            log_info("skill.event", "type=%s user=%s note=ignored", rq.type_name, c->user);
            respond_empty(c);
            return;
        }
        snprintf(c->type_name, sizeof(c->type_name), "%s", rq.type_name);
        c->perms = rq.accepted_permissions;
        int rc = privacy_event_submit(p, c->at->port, c->user, ev, ts, rq.accepted_permissions, on_event_done, c,
                                      &c->wjob);
        if (rc == 0)
            return;
        log_warn("skill.event", "type=%s user=%s error=\"not queued: %s\" status=503", rq.type_name, c->user,
                 rc == WRITER_FULL ? "writer queue full" : "stopping");
        c->req->http1_is_persistent = 0;
        respond(c, 503, "{\"error\":\"busy, try again\"}", 27);
        return;
    }
    log_warn("skill.event", "error=\"unparseable event\"");
    respond_empty(c);
}

static void on_verified(void *ud, verify_status_t status, json_t *env, const char *type)
{
    struct ctx *c = ud;
    c->vcall = NULL;
    if (c->done) {
        json_decref(env);
        return;
    }
    if (status != VERIFY_OK) {
        static const char body[] = "{\"error\":\"request verification failed\"}";
        respond(c, 400, body, sizeof(body) - 1);
        return;
    }
    if (strncmp(type, "AlexaSkillEvent.", 16) == 0) {
        handle_event(c, env);
        json_decref(env);
        return;
    }
    c->scall = skill_handle(c->at->skill, env, on_answer, c);
}

/* The header's value, and whether it occurs more than once. */
static h2o_iovec_t header(h2o_req_t *req, const char *lower_name, int *dup)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, lower_name, strlen(lower_name), -1);
    if (i == -1)
        return h2o_iovec_init(NULL, 0);
    if (h2o_find_header_by_str(&req->headers, lower_name, strlen(lower_name), i) != -1)
        *dup = 1;
    return req->headers.entries[i].value;
}

int alexa_endpoint_handle(server_thread_t *t, h2o_req_t *req)
{
    struct ctx *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->req = req;
    c->at = t->app;
    int dup = 0;
    h2o_iovec_t url = header(req, "signaturecertchainurl", &dup), sig = header(req, "signature-256", &dup);
    verify_input_t in = {.cert_url = url.base,
                         .cert_url_len = url.len,
                         .signature = sig.base,
                         .signature_len = sig.len,
                         .body = (const uint8_t *)req->entity.base,
                         .body_len = req->entity.len,
                         .duplicate_header = dup};
    c->pending = server_pending_begin(req, on_gone, c);
    verify_call_t *v = verify_start(c->at->verify, &in, on_verified, c);
    if (!c->done && c->scall == NULL)
        c->vcall = v;
    return 0;
}
