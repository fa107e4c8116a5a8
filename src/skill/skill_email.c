/* skill_email.c - owns the emailed calendar link (issue 6; docs/email.md):
 * the offer after an answer, EmailLinkIntent and yes to the offer, reading the
 * resident's email from Amazon, and queueing the message (linkmail.h).
 */
#include "skill_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "binday/mail/linkmail.h"
#include "binday/mail/mailer.h"
#include "binday/privacy/privacy.h"
#include "binday/util/log.h"

/* After an answer, when email is configured: offer the link at most once
 * per session, and not at all once it was sent or declined (issue 16: the
 * offer ended every answer). The flags live in c->attrs, which carries them
 * to every later turn of the session. */
int skill_email_offer(struct skill_call *c, speech_buf_t *sp)
{
    if (c->st->conf->mail == NULL || !mailer_enabled() || c->q == Q_LAUNCH || c->q == Q_EMAIL)
        return 0;
    if (json_is_true(json_object_get(c->attrs, "email_offered")) ||
        json_is_true(json_object_get(c->attrs, "email_done")))
        return 0;
    skill_say(sp, EMAIL_OFFER);
    json_object_set_new(c->attrs, "pending", json_string("email_offer"));
    json_object_set_new(c->attrs, "email_offered", json_true());
    return 1;
}

/* EmailLinkIntent, or yes to the offer: read the address and the email
 * (fresh, in parallel), then answer_email. Returns 1 when asynchronous. */
int skill_email_intent(struct skill_call *c)
{
    if (c->st->conf->mail == NULL || !mailer_enabled()) {
        skill_answer_simple(c, "Sorry, I can't send emails at the moment. You'll find your collection days on Breckland "
                         "Council's website, breckland dot gov dot uk, under bins and recycling.",
                      NULL, 1);
        return 0;
    }
    c->q = Q_EMAIL;
    json_object_set_new(c->attrs, "email_done", json_true());
    return skill_start_lookup(c) == 0;
}

static void on_email(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->email_call = NULL;
    c->email_status = res->status;
    if (res->status == ALEXA_API_OK && res->text)
        snprintf(c->email, sizeof(c->email), "%s", res->text);
    c->waiting--;
    skill_maybe_answer(c);
    /* when the email is the last answer to come back, nothing else frees the call */
    skill_free_if_answered(c);
}

void skill_email_start(struct skill_call *c)
{
    char err[200];
    c->email_status = ALEXA_API_UNAVAILABLE;
    c->email_call = alexa_api_email(c->st->ob, c->rq.api_endpoint, c->rq.api_token, on_email, c, err, sizeof(err));
    if (c->email_call)
        c->waiting++;
    else
        log_warn("skill.email_api", "user=%s refused=\"%s\"", c->user, err);
}

/* The email could not be read: say why (and send the card when the resident
 * can fix it). Returns 1 when answered. */
int skill_email_trouble(struct skill_call *c)
{
    switch (c->email_status) {
    case ALEXA_API_OK:
        return 0;
    case ALEXA_API_PERMISSION_MISSING: {
        /* the email permission is gone: so is anything queued with the address */
        skill_permission_gone(c, PRIVACY_ERASE_EMAIL, "email_permission_missing");
        alexa_response_t r = {0};
        static const char *perms[] = {PERM_EMAIL_CARD};
        r.ssml = "To email you the link, I need your permission to use your email address. I've sent a card to your "
                 "Alexa app where you can allow it.";
        r.permissions = perms;
        r.n_permissions = 1;
        r.should_end_session = ALEXA_END_TRUE;
        skill_finish(c, &r);
        return 1;
    }
    case ALEXA_API_NOT_SET:
        skill_answer_simple(c, "There's no email address on your Amazon account, so I can't send you the link. You can "
                         "add one in your Amazon account settings.",
                      NULL, 1);
        return 1;
    default:
        log_warn("skill.email_api", "user=%s status=%s", c->user, alexa_api_status_name(c->email_status));
        skill_answer_simple(c, "Sorry, I couldn't read your email address from Amazon just now. Please try again in a "
                         "moment.",
                      NULL, 1);
        return 1;
    }
}

static void on_email_queued(void *ud, int rc, outbox_verdict_t v, const char *id, const char *err);
static void say_email_outcome(struct skill_call *c, linkmail_status_t st, const char *id);

void skill_answer_email(struct skill_call *c, const lookup_result_t *res)
{
    const linkmail_conf_t *mc = c->st->conf->mail;
    if (res->uprn == 0) { /* postcode-only match: no one property to make a feed for */
        skill_answer_simple(c, "Sorry, I can only send a calendar link when I can find your exact address. Please check "
                         "the address of this device in the Alexa app.",
                      NULL, 1);
        return;
    }
    /* "it's on its way" only once the message is durable in the outbox: the
     * write goes to the store writer and the answer waits for its commit */
    linkmail_status_t st = linkmail_submit(mc, writer_port_here(), res, res->uprn, c->user, c->email, c->today,
                                           (long long)time(NULL), on_email_queued, c, &c->mail_job);
    memset(c->email, 0, sizeof(c->email)); /* handed to the outbox; not kept here */
    if (st == LINKMAIL_PENDING)
        c->waiting++;
    else
        say_email_outcome(c, st, NULL);
}

static void on_email_queued(void *ud, int rc, outbox_verdict_t v, const char *id, const char *err)
{
    struct skill_call *c = ud;
    c->mail_job = NULL;
    c->waiting--;
    if (rc != 0)
        log_error("mail.queue", "error=\"%s\"", err);
    say_email_outcome(c, linkmail_status_of(rc, v), id);
    skill_free_if_answered(c);
}

static void say_email_outcome(struct skill_call *c, linkmail_status_t st, const char *id)
{
    switch (st) {
    case LINKMAIL_QUEUED:
        log_info("skill.email_queued", "user=%s id=%s", c->user, id ? id : "-");
        mailer_wake();
        skill_answer_simple(c, "Done \xe2\x80\x94 check your inbox. I've emailed you the link to your collection calendar.",
                      NULL, 1);
        return;
    case LINKMAIL_USER_CAPPED:
        log_info("skill.email_capped", "user=%s cap=user", c->user);
        skill_answer_simple(c, "I've already sent you the link a few times today, so I haven't sent another. Please check "
                         "your inbox, or ask me again tomorrow.",
                      NULL, 1);
        return;
    case LINKMAIL_GLOBAL_CAPPED:
    case LINKMAIL_BUSY: /* the store writer's queue is full: nothing was queued */
        log_warn("skill.email_capped", "user=%s cap=%s", c->user, st == LINKMAIL_BUSY ? "writer_busy" : "global");
        skill_answer_simple(c, "Sorry, I can't send emails just now. Please try again later.", NULL, 1);
        return;
    case LINKMAIL_BAD_ADDRESS:
        log_info("skill.email_refused", "user=%s reason=unusable_address", c->user);
        skill_answer_simple(c, "Sorry, I can't send email to the address on your Amazon account. Please check it in your "
                         "Amazon account settings.",
                      NULL, 1);
        return;
    default:
        skill_answer_simple(c, "Sorry, something went wrong sending the link. Please try again later.", NULL, 1);
        return;
    }
}
