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
    if (r->session_attributes == NULL && c->attrs && json_object_size(c->attrs) > 0)
        r->session_attributes = c->attrs; /* what lasts the session goes back every turn */
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
    json_decref(c->attrs);
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
    } else if (strcmp(in, "IsItBinDayIntent") == 0) {
        /* no day named: today, and tomorrow when today has none (asked in
         * the evening it means tomorrow's bins) */
        c->q = Q_BINDAY;
        c->range_first = c->today;
        c->range_last = c->today + 1;
        if (alexa_request_slot(&c->rq, "Date", &slot) && slot.value) {
            int f, l;
            if (alexa_date_parse((const uint8_t *)slot.value, strlen(slot.value), c->today, &f, &l) == 0) {
                c->range_first = f < c->today ? c->today : f;
                c->range_last = l - c->range_first > 13 ? c->range_first + 13 : l;
                c->range_given = 1;
            }
        }
    } else if (strcmp(in, "WhatAboutBinIntent") == 0) {
        /* "what about the brown bin?" after a question about some days:
         * that bin on those days; otherwise its next collection */
        c->q = Q_BIN;
        if (alexa_request_slot(&c->rq, "BinType", &slot) && slot.id)
            snprintf(c->bin, sizeof(c->bin), "%s", slot.id);
        json_t *last = json_object_get(c->attrs, "last");
        if (json_is_integer(json_object_get(last, "first")) && json_is_integer(json_object_get(last, "last"))) {
            int f = (int)json_integer_value(json_object_get(last, "first"));
            int l = (int)json_integer_value(json_object_get(last, "last"));
            if (f >= c->today && l >= f && l - f <= 13) {
                c->bin_in_range = 1;
                c->range_first = f;
                c->range_last = l;
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
                                  "UpcomingCollectionsIntent", "IsItBinDayIntent", "AMAZON.HelpIntent",
                                  "MaterialIntent"};
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
                          "collection, when is the black bin, is it bin day tomorrow, which bin goes out this week, "
                          "what are my next collections or where does glass go. What would you like to know?";

/* What lasts the session, copied from the attributes Alexa sent back. */
static json_t *lasting_attrs(json_t *in)
{
    static const char *keep[] = {"email_offered", "email_done", "notices_said", "last"};
    json_t *o = json_object();
    for (size_t i = 0; json_is_object(in) && i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *v = json_object_get(in, keep[i]);
        if (v)
            json_object_set(o, keep[i], v);
    }
    return o;
}

static int collection_intent(const char *in)
{
    static const char *q[] = {"NextCollectionIntent", "BinTypeIntent", "WhichBinIntent", "UpcomingCollectionsIntent",
                              "IsItBinDayIntent", "WhatAboutBinIntent"};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        if (strcmp(in, q[i]) == 0)
            return 1;
    return 0;
}

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

    c->attrs = lasting_attrs(c->rq.session_attributes);
    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    int async = 0;
    /* the address question outlives help, yes, no and other intents: they
     * hear it again (a question about collections asks it again itself) */
    int choosing = c->rq.type == ALEXA_REQ_INTENT && skill_choose_pending(c);
    switch (c->rq.type) {
    case ALEXA_REQ_LAUNCH:
        c->q = Q_LAUNCH;
        async = skill_start_lookup(c) == 0;
        break;
    case ALEXA_REQ_INTENT:
        if (choosing && !strcmp(in, "AMAZON.HelpIntent")) {
            skill_choose_reask(c, "To tell you your collections I need to know which property is yours.", 0);
        } else if (choosing && (!strcmp(in, "AMAZON.YesIntent") || !strcmp(in, "AMAZON.NoIntent"))) {
            skill_choose_reask(c, "I need to know which property is yours first.", 0);
        } else if (choosing && !strcmp(in, "AMAZON.FallbackIntent")) {
            skill_choose_reask(c, "Sorry, I didn't catch that.", 1);
        } else if (choosing && strcmp(in, "ChooseAddressIntent") && strcmp(in, "EmailLinkIntent") &&
                   strcmp(in, "MaterialIntent") && /* needs no address: answered */
                   !collection_intent(in) && strcmp(in, "AMAZON.StopIntent") && strcmp(in, "AMAZON.CancelIntent") &&
                   strcmp(in, "AMAZON.NavigateHomeIntent")) {
            skill_choose_reask(c, NULL, 0);
        } else if (!strcmp(in, "AMAZON.HelpIntent")) {
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
                /* declined: not offered again this session */
                json_object_set_new(c->attrs, "email_done", json_true());
                if (!strcmp(in, "AMAZON.NoIntent"))
                    skill_answer_simple(c, "All right, I won't send it. Goodbye.", NULL, 1);
                else
                    async = skill_email_intent(c);
            } else if (!strcmp(in, "AMAZON.NoIntent"))
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
            if (!choosing) {
                skill_answer_simple(c, "Sorry, I wasn't asking about your address. You can ask when your next collection "
                                 "is.",
                              "What would you like to know?", 0);
            } else if (skill_handle_choose(c) == 0) {
                async = skill_start_lookup(c) == 0;
            }
        } else if (collection_intent(in)) {
            intent_question(c);
            if (c->q == Q_BIN && !c->bin[0]) {
                skill_answer_simple(c, "Which bin do you mean: the green bin for household rubbish, the black bin for "
                                       "recycling, the brown bin for garden waste or the food caddy?",
                                    "Which bin: green, black, brown or food?", 0);
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
