/* skill.c - owns the conversation's dispatch: what kind of request came in,
 * which intent, and the life of one call (created in skill_handle, answered
 * once through skill_finish, freed in skill_call_free).
 *
 * Flow for questions about collections: read the device address (and, for a
 * launch greeting, the given name) from Amazon's APIs on this thread's loop
 * (skill_address.c), match it to a property, read the calendar, and phrase
 * the answer (skill_answers.c). When the address matches several properties
 * the skill asks which one once, and remembers the choice (skill_choose.c,
 * choice.h). The emailed link is skill_email.c. Permission problems get a
 * plain explanation and, where the resident can fix them, a consent card.
 */
#include "binday/skill/skill.h"
#include "skill_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/privacy/privacy.h"
#include "binday/privacy/transcript.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

static int today_of(const skill_thread_t *st)
{
    return st->conf->fixed_today ? st->conf->fixed_today : date_today_london();
}

/* The turn's transcript (transcript.h); a failure is logged, never heard. */
static void record_turn(struct skill_call *c, const alexa_response_t *r)
{
    if (c->st->conf->privacy == NULL || !c->user[0] || strcmp(c->user, "-") == 0)
        return;
    char said[2048] = "", err[300];
    if (r->ssml)
        speech_strip_ssml(said, sizeof(said), r->ssml, strlen(r->ssml));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    transcript_turn_t t = {(int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, c->rq.type_name,
                           c->rq.type == ALEXA_REQ_INTENT ? c->rq.intent_name : NULL, c->rq.slots, said,
                           c->given_name};
    if (c->st->conf->transcripts)
        transcript_enqueue(c->st->conf->transcripts, c->user, &t); /* a drop is logged there */
    else if (transcript_write(c->st->conf->privacy, c->user, &t, err, sizeof(err)) != 0)
        log_error("skill.transcript", "user=%s error=\"%s\"", c->user, err);
}

void skill_finish(struct skill_call *c, alexa_response_t *r)
{
    char err[200];
    size_t len = 0;
    record_turn(c, r);
    char *body = alexa_response_build(r, &len, err, sizeof(err));
    if (body == NULL && r->directives) {
        /* the visual is extra: an answer that only fits without it is said without it */
        log_warn("skill.response", "error=\"%s\" note=\"sent without directives\"", err);
        alexa_response_t bare = *r;
        bare.directives = NULL;
        body = alexa_response_build(&bare, &len, err, sizeof(err));
    }
    if (body == NULL) {
        log_error("skill.response", "error=\"%s\"", err);
        alexa_response_t fallback = {0};
        fallback.ssml = "Sorry, something went wrong. Please try again.";
        fallback.should_end_session = ALEXA_END_TRUE;
        body = alexa_response_build(&fallback, &len, err, sizeof(err));
        if (body == NULL) /* a fixed short answer: only memory can fail it */
            xalloc_die("fallback response", 0);
    }
    skill_done_cb cb = c->cb;
    void *ud = c->ud;
    c->cb = NULL;
    cb(ud, 200, body, len);
}

static void timer_free(uv_handle_t *h)
{
    free(h);
}

void skill_call_free(struct skill_call *c)
{
    if (c->progressive_timer) {
        uv_timer_stop(c->progressive_timer);
        uv_close((uv_handle_t *)c->progressive_timer, timer_free);
    }
    if (c->progressive_call)
        alexa_api_cancel(c->progressive_call);
    if (c->addr_call)
        alexa_api_cancel(c->addr_call);
    if (c->name_call)
        alexa_api_cancel(c->name_call);
    if (c->email_call)
        alexa_api_cancel(c->email_call);
    if (c->mail_job) /* the message is still queued; only the answer is gone */
        writer_abandon(c->mail_job);
    memset(c->email, 0, sizeof(c->email));
    h2o_linklist_unlink(&c->link);
    json_decref(c->env);
    free(c);
}

skill_thread_t *skill_thread_new(const skill_conf_t *conf, outbound_t *ob)
{
    skill_thread_t *st = xcalloc(1, sizeof(*st));
    h2o_linklist_init_anchor(&st->calls);
    st->conf = conf;
    st->ob = ob;
    st->reader = store_reader_new(conf->store);
    st->res = xmalloc(sizeof(*st->res));
    if (st->reader == NULL) {
        skill_thread_free(st);
        return NULL;
    }
    return st;
}

void skill_thread_free(skill_thread_t *st)
{
    if (st == NULL)
        return;
    while (!h2o_linklist_is_empty(&st->calls))
        skill_call_free((struct skill_call *)((char *)st->calls.next - offsetof(struct skill_call, link)));
    if (st->reader)
        store_reader_free(st->reader);
    free(st->res);
    free(st);
}

void skill_cancel(skill_call_t *c)
{
    skill_call_free(c);
}

static void intent_question(struct skill_call *c)
{
    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    alexa_slot_t slot;
    if (strcmp(in, "BinTypeIntent") == 0) {
        c->q = Q_BIN;
        if (alexa_request_slot(&c->rq, "BinType", &slot) && slot.id)
            snprintf(c->bin, sizeof(c->bin), "%s", slot.id);
    } else if (strcmp(in, "WhichBinIntent") == 0) {
        c->q = Q_WHEN;
        /* default: the rest of this week, today to Sunday */
        int wd = date_weekday(c->today); /* 0 = Monday */
        c->range_first = c->today;
        c->range_last = c->today + (6 - wd);
        if (alexa_request_slot(&c->rq, "Date", &slot) && slot.value) {
            int f, l;
            if (alexa_date_parse((const uint8_t *)slot.value, strlen(slot.value), c->today, &f, &l) == 0) {
                c->range_first = f < c->today ? c->today : f;
                c->range_last = l - c->range_first > 13 ? c->range_first + 13 : l;
            }
        }
    } else if (strcmp(in, "UpcomingCollectionsIntent") == 0) {
        c->q = Q_UPCOMING;
    } else {
        c->q = Q_NEXT;
    }
}

/* CanFulfillIntentRequest: Alexa asks whether we could answer an intent (no
 * speech, no API calls). Our collection intents need the device address, so
 * they can only MAYBE be fulfilled until the resident grants it; a BinType we
 * don't collect cannot be fulfilled. */
static void answer_can_fulfill(struct skill_call *c)
{
    static const char *known[] = {"NextCollectionIntent", "BinTypeIntent", "WhichBinIntent",
                                  "UpcomingCollectionsIntent", "AMAZON.HelpIntent", "MaterialIntent"};
    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    int ours = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ours |= strcmp(in, known[i]) == 0;
    json_t *slots = json_object();
    /* help and materials need no address: those we can always answer */
    const char *verdict =
        ours ? (!strcmp(in, "AMAZON.HelpIntent") || !strcmp(in, "MaterialIntent") ? "YES" : "MAYBE") : "NO";
    const char *name;
    json_t *slot;
    json_object_foreach(c->rq.slots, name, slot)
    {
        alexa_slot_t s;
        int understood = alexa_request_slot(&c->rq, name, &s) && (s.id != NULL || (s.value && strcmp(name, "BinType")));
        json_object_set_new(slots, name, json_pack("{s:s,s:s}", "canUnderstand", understood ? "YES" : "NO",
                                                   "canFulfill", understood ? "YES" : "NO"));
        if (!understood && strcmp(name, "BinType") == 0)
            verdict = "NO";
    }
    json_t *o = json_pack("{s:s,s:{s:{s:s,s:o}}}", "version", "1.0", "response", "canFulfillIntent", "canFulfill",
                          verdict, "slots", slots);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL) /* jansson fails a dump of its own object only for memory */
        xalloc_die("canFulfillIntent response", 0);
    skill_done_cb cb = c->cb;
    c->cb = NULL;
    cb(c->ud, 200, body, strlen(body));
}

static const char *HELP = "Breckland bins tells you when your bins are collected. You can ask: when is my next "
                          "collection, when is the black bin, which bin goes out this week, what are my next "
                          "collections, or where does glass go. What would you like to know?";

skill_call_t *skill_handle(skill_thread_t *st, json_t *envelope, skill_done_cb cb, void *ud)
{
    struct skill_call *c = xcalloc(1, sizeof(*c));
    c->st = st;
    c->env = envelope;
    c->cb = cb;
    c->ud = ud;
    c->today = today_of(st);
    h2o_linklist_insert(st->calls.next, &c->link); /* at the head, as before */
    char err[200];
    if (alexa_request_parse(envelope, &c->rq, err, sizeof(err)) != 0) {
        log_warn("skill.request", "error=\"%s\"", err);
        skill_answer_simple(c, "Sorry, I didn't understand that request.", NULL, 1);
        skill_call_free(c);
        return NULL;
    }
    if (c->rq.user_id)
        privacy_user_hex(st->conf->privacy, c->rq.user_id, c->user, sizeof(c->user));
    else
        snprintf(c->user, sizeof(c->user), "-");

    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    int async = 0;
    switch (c->rq.type) {
    case ALEXA_REQ_LAUNCH:
        c->q = Q_LAUNCH;
        async = skill_start_lookup(c) == 0;
        break;
    case ALEXA_REQ_INTENT:
        if (!strcmp(in, "AMAZON.HelpIntent")) {
            skill_answer_simple(c, HELP, "What would you like to know about your bins?", 0);
        } else if (!strcmp(in, "AMAZON.StopIntent") || !strcmp(in, "AMAZON.CancelIntent") ||
                   !strcmp(in, "AMAZON.NavigateHomeIntent")) {
            skill_answer_simple(c, "Goodbye.", NULL, 1);
        } else if (!strcmp(in, "AMAZON.FallbackIntent")) {
            skill_answer_simple(c, "Sorry, I can't help with that. You can ask when your next collection is, or which bin "
                             "goes out this week.",
                          "What would you like to know about your bins?", 0);
        } else if (!strcmp(in, "AMAZON.YesIntent") || !strcmp(in, "AMAZON.NoIntent")) {
            const char *pending = json_string_value(json_object_get(c->rq.session_attributes, "pending"));
            if (pending && !strcmp(pending, "email_offer")) {
                if (!strcmp(in, "AMAZON.NoIntent"))
                    skill_answer_simple(c, "All right, I won't send it. Goodbye.", NULL, 1);
                else
                    async = skill_email_intent(c);
            } else if (pending && !strcmp(pending, "choose_property"))
                skill_answer_simple(c, "Please tell me which property is yours, for example: flat two.",
                              "Which property is yours?", 0);
            else if (!strcmp(in, "AMAZON.NoIntent"))
                skill_answer_simple(c, "All right. Goodbye.", NULL, 1);
            else
                skill_answer_simple(c, "You can ask when your next collection is, or which bin goes out this week.",
                              "What would you like to know?", 0);
        } else if (!strcmp(in, "EmailLinkIntent")) {
            async = skill_email_intent(c);
        } else if (!strcmp(in, "MaterialIntent")) {
            skill_answer_material(c);
        } else if (!strcmp(in, "AlertOptInIntent") || !strcmp(in, "AlertOptOutIntent")) {
            async = skill_alerts_intent(c);
        } else if (!strcmp(in, "ChooseAddressIntent")) {
            const char *pending = json_string_value(json_object_get(c->rq.session_attributes, "pending"));
            if (!pending || strcmp(pending, "choose_property") != 0) {
                skill_answer_simple(c, "Sorry, I wasn't asking about your address. You can ask when your next collection "
                                 "is.",
                              "What would you like to know?", 0);
            } else if (skill_handle_choose(c) == 0) {
                async = skill_start_lookup(c) == 0;
            }
        } else if (!strcmp(in, "NextCollectionIntent") || !strcmp(in, "BinTypeIntent") ||
                   !strcmp(in, "WhichBinIntent") || !strcmp(in, "UpcomingCollectionsIntent")) {
            intent_question(c);
            if (c->q == Q_BIN && !c->bin[0]) {
                skill_answer_simple(c, "Which bin do you mean? Breckland collects the green bin for household rubbish, the "
                                 "black bin for recycling, the brown bin for garden waste, and the food caddy.",
                              "Which bin: green, black, brown, or food?", 0);
            } else {
                async = skill_start_lookup(c) == 0;
            }
        } else {
            skill_answer_simple(c, "Sorry, I can't help with that. You can ask when your next collection is.",
                          "What would you like to know?", 0);
        }
        break;
    case ALEXA_REQ_CAN_FULFILL:
        answer_can_fulfill(c);
        break;
    case ALEXA_REQ_SESSION_ENDED: {
        size_t len;
        char *body = alexa_response_empty(&len);
        if (c->rq.error_type)
            log_warn("skill.session_ended", "reason=%s error_type=%s", c->rq.ended_reason ? c->rq.ended_reason : "-",
                     c->rq.error_type);
        c->cb = NULL;
        cb(ud, 200, body, len);
        break;
    }
    default:
        skill_answer_simple(c, "Sorry, I can't help with that here.", NULL, 1);
        break;
    }
    if (async)
        return c;
    skill_call_free(c);
    return NULL;
}
