/* skill_answers.c - owns the spoken answers: collections for the property
 * found (next, a bin, a date range, upcoming), and the common replies (simple
 * answers, missing permission, Amazon API trouble).
 *
 * Speech rules (docs/skill.md): name the colour and the kind, use natural
 * dates, say when a collection is not on the usual day and why, mention active
 * notices, and remind that bins go out by 6:30 when the collection is
 * tomorrow. Every piece of data goes through speech_buf_text (SSML-escaped).
 */
#include "skill_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "binday/privacy/privacy.h"
#include "binday/util/strbuf.h"

void skill_say(speech_buf_t *sp, const char *text)
{
    speech_buf_text(sp, text, strlen(text));
}

void skill_card_from(speech_buf_t *sp, char *card, size_t n)
{
    speech_strip_ssml(card, n, sp->s, sp->len);
}

/* "the green bin for household rubbish", "the food caddy" from a collection.
 * The service's colour is what residents call the container ("green",
 * "food caddy"); its name says what goes in it. */
static void bin_phrase(const lookup_collection_t *col, char *dst, size_t n)
{
    char colour[48], purpose[96];
    rec_str_lower(colour, sizeof(colour), col->colour);
    rec_str_lower(purpose, sizeof(purpose), col->name);
    if (strstr(colour, "caddy") || strstr(colour, "bag") || strstr(colour, "box"))
        strbuf_concat(dst, n, "the ", colour); /* the container already says what it is */
    else
        speech_bin_phrase(dst, n, colour, "bin", purpose);
}

static int collections_on(const lookup_result_t *res, int date, size_t *idx, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n_collections && n < max; i++)
        if (res->collections[i].date == date)
            idx[n++] = i;
    return (int)n;
}

/* "That's not the usual day: it has moved from Monday because of the bank
 * holiday." for a collection moved off its original date. */
static void say_moved(speech_buf_t *sp, int today, const lookup_collection_t *col)
{
    char orig[96];
    speech_date_phrase(orig, sizeof(orig), today, col->original, SPEECH_DATE_SHORT);
    if (!strncmp(orig, "on ", 3))
        memmove(orig, orig + 3, strlen(orig + 3) + 1);
    if (col->reason.p)
        speech_buf_textf(sp, "That's not the usual day: it has moved from %s because of %.*s. ", orig,
                         (int)col->reason.n, col->reason.p);
    else
        speech_buf_textf(sp, "That's not the usual day: it has moved from %s. ", orig);
}

#define SKILL_MAX_BINS 16 /* collections of one date spoken at most */

/* The bins collected on one date, joined ("the green bin for household rubbish
 * and the food caddy") into list; their indexes into idx. Returns how many. */
static int bins_on(const lookup_result_t *res, int date, char *list, size_t list_size,
                   size_t idx[SKILL_MAX_BINS])
{
    int n = collections_on(res, date, idx, SKILL_MAX_BINS);
    char phrases[SKILL_MAX_BINS][160];
    const char *items[SKILL_MAX_BINS];
    for (int i = 0; i < n; i++) {
        bin_phrase(&res->collections[idx[i]], phrases[i], sizeof(phrases[i]));
        items[i] = phrases[i];
    }
    speech_join(list, list_size, items, (size_t)n);
    return n;
}

/* After naming a date's bins: say which moved (once per original date), and
 * remind about 6:30 when the date is tomorrow. */
static void say_date_notes(speech_buf_t *sp, const lookup_result_t *res, int today, int date, const size_t *idx,
                           int n)
{
    for (int i = 0; i < n; i++) {
        const lookup_collection_t *col = &res->collections[idx[i]];
        if (!col->changed || col->original == col->date)
            continue;
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= res->collections[idx[j]].changed && res->collections[idx[j]].original == col->original;
        if (!dup)
            say_moved(sp, today, col);
    }
    if (date == today + 1)
        skill_say(sp, "Remember to put your bins out by 6:30 in the morning. ");
}

/* Speak the collections of one date: "Tomorrow, Tuesday the 2nd of December:
 * the green bin for household rubbish and the food caddy." plus its notes. */
static void say_date(speech_buf_t *sp, const lookup_result_t *res, int today, int date, int full)
{
    size_t idx[SKILL_MAX_BINS];
    char list[1200], when[96];
    int n = bins_on(res, date, list, sizeof(list), idx);
    speech_date_phrase(when, sizeof(when), today, date, full ? SPEECH_DATE_FULL : SPEECH_DATE_SHORT);
    if (when[0] && !strncmp(when, "on ", 3))
        memmove(when, when + 3, strlen(when + 3) + 1);
    when[0] = (char)toupper((unsigned char)when[0]);
    speech_buf_textf(sp, "%s: %s. ", when, list);
    say_date_notes(sp, res, today, date, idx, n);
}

static void say_notices(speech_buf_t *sp, const lookup_result_t *res)
{
    for (size_t i = 0; i < res->n_notices && i < 3; i++)
        speech_buf_textf(sp, "Please note: %.*s ", (int)res->notices[i].message.n, res->notices[i].message.p);
}

static int first_date_from(const lookup_result_t *res, int from)
{
    for (size_t i = 0; i < res->n_collections; i++)
        if (res->collections[i].date >= from)
            return res->collections[i].date;
    return -1;
}

/* ---- answers ------------------------------------------------------------------ */

void skill_answer_simple(struct skill_call *c, const char *ssml, const char *reprompt, int end)
{
    char card[2000];
    speech_buf_t sp;
    speech_buf_init(&sp);
    speech_buf_markup(&sp, ssml);
    skill_card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = reprompt;
    r.card_title = "Breckland bins";
    r.card_content = card;
    r.should_end_session = end ? ALEXA_END_TRUE : ALEXA_END_FALSE;
    skill_finish(c, &r);
}

/* A 403 showed a permission is gone: what was derived from it goes too
 * (privacy.h), exactly as when a skill event says so. */
void skill_permission_gone(struct skill_call *c, unsigned what, const char *reason)
{
    if (c->st->conf->privacy && c->user[0] && strcmp(c->user, "-") != 0)
        privacy_erase_submit(c->st->conf->privacy, c->user, what, reason); /* on the store writer; logged there */
}

void skill_answer_permission(struct skill_call *c)
{
    alexa_response_t r = {0};
    static const char *perms[] = {PERM_ADDRESS_CARD};
    r.ssml = "To tell you your collection days, I need to know your address. I've sent a card to your Alexa "
             "app: please allow Breckland bins to use your device address. You'll find it under Skills, Your "
             "Skills, Breckland bins, Permissions.";
    r.permissions = perms;
    r.n_permissions = 1;
    r.should_end_session = ALEXA_END_TRUE;
    /* a permission that went away also takes what we derived from it */
    skill_permission_gone(c, PRIVACY_ERASE_ADDRESS, "address_permission_missing");
    skill_finish(c, &r);
}

void skill_answer_api_trouble(struct skill_call *c, alexa_api_status_t s)
{
    if (s == ALEXA_API_DEPLOYMENT_ERROR) {
        skill_answer_simple(c, "Sorry, Breckland bins isn't set up properly to read addresses at the moment. Please try "
                         "again later.",
                      NULL, 1);
        return;
    }
    skill_answer_simple(c, "Sorry, I couldn't read your address from Amazon just now. Please ask me again in a moment.",
                  "You can ask again: when is my next collection?", 0);
}

void skill_answer_collections(struct skill_call *c, const lookup_result_t *res)
{
    speech_buf_t sp;
    speech_buf_init(&sp);
    int today = c->today;
    if (c->q == Q_LAUNCH) {
        if (c->name_status == ALEXA_API_OK && c->given_name[0])
            speech_buf_textf(&sp, "Hello %s. ", c->given_name);
        else
            skill_say(&sp, "Hello. ");
    }
    if (res->match == AM_POSTCODE)
        speech_buf_textf(&sp, "I couldn't find your exact address, but every property in %s has the same "
                              "collections, so here they are. ",
                         res->postcode);
    else if (res->match == AM_BUILDING)
        skill_say(&sp, "These are the collections for your building. ");

    if (c->q == Q_BIN) {
        int date = -1;
        size_t at = 0;
        for (size_t i = 0; i < res->n_collections; i++) {
            const lookup_collection_t *col = &res->collections[i];
            if (col->date >= today && col->service_id.n == strlen(c->bin) &&
                memcmp(col->service_id.p, c->bin, col->service_id.n) == 0) {
                date = col->date;
                at = i;
                break;
            }
        }
        if (date < 0) {
            if (strcmp(c->bin, "garden") == 0)
                skill_say(&sp, "You don't have a garden waste collection. The brown bin for garden waste is "
                                     "a subscription service: you can sign up for it on Breckland Council's "
                                     "website, and collections start once your subscription begins. ");
            else
                skill_say(&sp, "I can't find a collection of that bin for your address in the next few "
                                     "weeks. Please check Breckland Council's website. ");
        } else {
            char phrase[160], when[96];
            bin_phrase(&res->collections[at], phrase, sizeof(phrase));
            speech_date_phrase(when, sizeof(when), today, date, SPEECH_DATE_FULL);
            phrase[0] = (char)toupper((unsigned char)phrase[0]);
            speech_buf_textf(&sp, "%s is next collected %s. ", phrase, when);
            const lookup_collection_t *col = &res->collections[at];
            if (col->changed && col->original != col->date)
                say_moved(&sp, today, col);
            if (date == today + 1)
                skill_say(&sp, "Remember to put it out by 6:30 in the morning. ");
        }
    } else if (c->q == Q_WHEN) {
        int any = 0;
        for (int d = c->range_first; d <= c->range_last; d++) {
            size_t idx[8];
            if (collections_on(res, d, idx, 8) > 0) {
                say_date(&sp, res, today, d, 1);
                any = 1;
            }
        }
        if (!any) {
            int next = first_date_from(res, c->range_last + 1);
            skill_say(&sp, "There are no collections then. ");
            if (next >= 0) {
                skill_say(&sp, "Your next one is ");
                char when[96];
                speech_date_phrase(when, sizeof(when), today, next, SPEECH_DATE_FULL);
                speech_buf_textf(&sp, "%s. ", when);
            }
        }
    } else if (c->q == Q_UPCOMING) {
        int d = today, said = 0;
        while (said < SKILL_UPCOMING && (d = first_date_from(res, d)) >= 0) {
            say_date(&sp, res, today, d, said == 0);
            said++;
            d++;
        }
        if (!said)
            skill_say(&sp, "I can't find any collections for your address in the next few weeks. ");
    } else { /* Q_NEXT, Q_LAUNCH */
        int d = first_date_from(res, today);
        if (d < 0) {
            skill_say(&sp, "I can't find any collections for your address in the next few weeks. ");
        } else {
            size_t idx[SKILL_MAX_BINS];
            char list[1200], when[96];
            int n = bins_on(res, d, list, sizeof(list), idx);
            speech_date_phrase(when, sizeof(when), today, d, SPEECH_DATE_FULL);
            speech_buf_textf(&sp, "Your next collection is %s: %s. ", when, list);
            say_date_notes(&sp, res, today, d, idx, n);
        }
    }
    say_notices(&sp, res);
    int keep_open = c->q == Q_LAUNCH;
    if (keep_open)
        skill_say(&sp, "You can also ask about a particular bin, or which bin goes out this week. What "
                             "would you like to know?");
    json_t *offer = skill_email_offer(c, &sp);
    if (offer)
        keep_open = 1;
    char card[4000];
    skill_card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = offer ? EMAIL_OFFER : keep_open ? "You can ask when your next collection is, or say stop." : NULL;
    r.card_title = "Your bin collections";
    r.card_content = card;
    r.session_attributes = offer;
    r.directives = skill_apl_collections(c, res); /* Echo Show: NULL without a screen */
    r.should_end_session = keep_open ? ALEXA_END_FALSE : ALEXA_END_TRUE;
    skill_finish(c, &r);
    json_decref(r.directives);
    json_decref(offer);
}
