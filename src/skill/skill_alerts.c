/* skill_alerts.c - owns the conversation side of the evening-before alert
 * (issue 18; docs/alerts.md): "tell me the night before" subscribes the
 * resident's property and asks for the notifications permission with a
 * consent card; "stop the bin alerts" erases the subscription. Sending is
 * src/alerts/. */
#include "skill_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alerts/alertsub.h"
#include "binday/privacy/privacy.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

#define PERM_NOTIFICATIONS_CARD "alexa::devices:all:notifications:write"

int skill_alerts_intent(struct skill_call *c)
{
    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    if (!strcmp(in, "AlertOptOutIntent")) {
        if (c->user[0] && strcmp(c->user, "-") != 0)
            privacy_erase_submit(c->st->conf->privacy, c->user, PRIVACY_ERASE_ALERTS, "alerts_opt_out");
        skill_answer_simple(c, "All right, I've stopped the evening-before notifications.", NULL, 1);
        return 0;
    }
    if (!c->st->conf->alerts) {
        skill_answer_simple(c, "Sorry, I can't send notifications at the moment. You can ask me any time when your "
                               "next collection is.",
                            NULL, 1);
        return 0;
    }
    c->q = Q_ALERT;
    return skill_start_lookup(c) == 0;
}

void skill_answer_alert(struct skill_call *c, const lookup_result_t *res)
{
    if (res->uprn == 0) { /* postcode-only match: no one property's calendar to follow */
        skill_answer_simple(c, "Sorry, I can only send collection notifications when I can find your exact address. "
                               "Please check the address of this device in the Alexa app.",
                            NULL, 1);
        return;
    }
    alertsub_t *s = xcalloc(1, sizeof(*s));
    int ok = c->rq.user_id && strlen(c->rq.user_id) <= ALERTSUB_MAX_USER && c->rq.api_endpoint &&
             strlen(c->rq.api_endpoint) <= ALERTSUB_MAX_ENDPOINT && alexa_api_endpoint_ok(c->rq.api_endpoint);
    if (ok) {
        snprintf(s->user_hex, sizeof(s->user_hex), "%s", c->user);
        snprintf(s->user_id, sizeof(s->user_id), "%s", c->rq.user_id);
        snprintf(s->endpoint, sizeof(s->endpoint), "%s", c->rq.api_endpoint);
        s->uprn = res->uprn;
        ok = alertsub_put_submit(c->st->conf->privacy, s) == 0;
    }
    memset(s, 0, sizeof(*s));
    free(s);
    if (!ok) {
        skill_answer_simple(c, "Sorry, I couldn't set up the notifications just now. Please try again later.", NULL, 1);
        return;
    }
    log_info("skill.alert_opt_in", "user=%s permission=%s", c->user,
             c->rq.granted_scopes & ALEXA_PERM_NOTIFICATIONS ? "granted" : "asked");
    if (c->rq.granted_scopes & ALEXA_PERM_NOTIFICATIONS) {
        skill_answer_simple(c, "Done. The evening before each collection, I'll send you a notification saying which "
                               "bins go out. To stop them, say: stop the bin alerts.",
                            NULL, 1);
        return;
    }
    /* alexa.md §5: say what is needed and where, with a consent card */
    alexa_response_t r = {0};
    static const char *perms[] = {PERM_NOTIFICATIONS_CARD};
    r.ssml = "All right. The evening before each collection, I'll send you a notification saying which bins go out. "
             "First I need your permission to send you notifications: I've sent a card to your Alexa app where you "
             "can allow it.";
    r.permissions = perms;
    r.n_permissions = 1;
    r.should_end_session = ALEXA_END_TRUE;
    skill_finish(c, &r);
}
