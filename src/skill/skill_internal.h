/* skill_internal.h - what the conversation's own files share (private to
 * src/skill/; not installed, not for other subsystems).
 *
 * The conversation is split by concern:
 *   skill.c         dispatch: request type and intent routing, a call's life
 *                   (create, finish, free), the turn's transcript
 *   skill_address.c reading the device address (and given name) from Amazon,
 *                   matching it to a property, remembered choices
 *   skill_answers.c the spoken answers about collections and the common replies
 *   skill_choose.c  the "which one is yours?" dialogue for ambiguous addresses
 *   skill_email.c   EmailLinkIntent, the offer, and queueing the emailed link
 *   skill_material.c MaterialIntent: "where does glass go?" (materials.h)
 *   skill_apl.c     the Echo Show visual (APL RenderDocument) of an answer
 *   skill_alerts.c  AlertOptInIntent / AlertOptOutIntent: the evening-before alert
 *
 * Kept beside the sources rather than in include/binday/: nothing outside
 * src/skill/ may depend on struct skill_call, and the sources include it as
 * "skill_internal.h" (their own directory), so no -I flag is needed.
 */
#ifndef BINDAY_SKILL_INTERNAL_H
#define BINDAY_SKILL_INTERNAL_H

#include <h2o/linklist.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "binday/alexa/alexa_api.h"
#include "binday/alexa/alexa_request.h"
#include "binday/alexa/alexa_response.h"
#include "binday/data/lookup.h"
#include "binday/data/writer.h"
#include "binday/skill/skill.h"
#include "binday/skill/speech.h"
#include "binday/util/secret.h"

#define SKILL_DAYS 60        /* how far ahead answers look */
#define SKILL_MAX_CHOICES 6  /* candidates offered in a "which one?" question */
#define SKILL_UPCOMING 3     /* dates listed for "what are my next collections" */
#define PERM_ADDRESS_CARD "read::alexa:device:all:address"
#define PERM_EMAIL_CARD "alexa::profile:email:read"
/* If Amazon's APIs have not answered by then, say "just a moment" (a
 * progressive response) so the resident isn't left in silence. */
#define SKILL_PROGRESSIVE_MS 1000

struct skill_thread {
    const skill_conf_t *conf;
    outbound_t *ob;
    store_reader_t *reader;
    lookup_result_t *res; /* ~100 KB scratch, reused */
    h2o_linklist_t calls; /* every call not yet freed (struct skill_call.link) */
};

typedef enum { Q_LAUNCH, Q_NEXT, Q_BIN, Q_WHEN, Q_UPCOMING, Q_EMAIL, Q_ALERT } question_t;

struct skill_call {
    skill_thread_t *st;
    json_t *env;
    alexa_request_t rq;
    skill_done_cb cb;
    void *ud;
    question_t q;
    char bin[24];            /* Q_BIN: service id */
    uint64_t chosen_uprn;    /* the resident's answer to "which one is yours?" */
    int range_first, range_last; /* Q_WHEN */
    int today;
    char user[SECRET_HEX_LEN + 1];
    alexa_api_call_t *addr_call, *name_call, *progressive_call;
    uv_timer_t *progressive_timer; /* closed (and freed) in skill_call_free */
    int waiting;
    alexa_api_status_t addr_status, name_status;
    alexa_address_t addr;
    char given_name[ALEXA_API_MAX_TEXT];
    alexa_api_call_t *email_call; /* Q_EMAIL: the address to send the link to */
    alexa_api_status_t email_status;
    char email[ALEXA_API_MAX_TEXT + 1];
    writer_job_t *mail_job; /* Q_EMAIL: the outbox write, until it is durable */
    h2o_linklist_t link; /* in st->calls */
};

#define EMAIL_OFFER "Shall I email you the link to your collection calendar?"

/* skill.c: the answer goes to the caller's callback (exactly once per call);
 * the turn is recorded first. */
void skill_finish(struct skill_call *c, alexa_response_t *r);
/* Cancels the call's API calls and timer, unlinks and frees it. */
void skill_call_free(struct skill_call *c);

/* skill_answers.c */
void skill_say(speech_buf_t *sp, const char *text);
/* The card's plain text from the speech so far (SSML stripped). */
void skill_card_from(speech_buf_t *sp, char *card, size_t n);
void skill_answer_simple(struct skill_call *c, const char *ssml, const char *reprompt, int end);
/* A 403 showed a permission is gone: erase what was derived from it (privacy.h). */
void skill_permission_gone(struct skill_call *c, unsigned what, const char *reason);
void skill_answer_permission(struct skill_call *c);
void skill_answer_api_trouble(struct skill_call *c, alexa_api_status_t s);
void skill_answer_collections(struct skill_call *c, const lookup_result_t *res);

/* skill_address.c */
/* Start the API calls the question needs. Returns 0 when the answer will come
 * asynchronously, -1 when it was given already. */
int skill_start_lookup(struct skill_call *c);
/* Answer once every API call has come back (c->waiting == 0). */
void skill_maybe_answer(struct skill_call *c);
/* Every API callback ends with this: frees the call once it has answered
 * and nothing is in flight (the endpoint has forgotten it by then). */
void skill_free_if_answered(struct skill_call *c);

/* skill_choose.c */
void skill_answer_ambiguous(struct skill_call *c, const lookup_result_t *res);
/* ChooseAddressIntent: 0 when a candidate was picked (c->chosen_uprn and the
 * question restored; start the lookup), -1 when it asked again. */
int skill_handle_choose(struct skill_call *c);

/* skill_email.c */
/* The offer after an answer: the session attributes to send (caller decrefs),
 * or NULL when not offered. */
json_t *skill_email_offer(struct skill_call *c, speech_buf_t *sp);
/* EmailLinkIntent or yes to the offer. Returns 1 when asynchronous. */
int skill_email_intent(struct skill_call *c);
void skill_email_start(struct skill_call *c);
/* Returns 1 when the email could not be read and that was answered. */
int skill_email_trouble(struct skill_call *c);
void skill_answer_email(struct skill_call *c, const lookup_result_t *res);

/* skill_apl.c: the RenderDocument directive (a new array for
 * alexa_response_t.directives; the caller decrefs) for a collections answer,
 * or NULL when the device has no screen. */
json_t *skill_apl_collections(const struct skill_call *c, const lookup_result_t *res);

/* skill_material.c: MaterialIntent, answered synchronously. */
void skill_answer_material(struct skill_call *c);

/* skill_alerts.c (docs/alerts.md) */
/* AlertOptInIntent / AlertOptOutIntent. Returns 1 when asynchronous. */
int skill_alerts_intent(struct skill_call *c);
/* The property is known: subscribe, and ask for the permission when needed. */
void skill_answer_alert(struct skill_call *c, const lookup_result_t *res);

#endif
