/* skill.c - owns the conversation: what a resident hears for each request.
 *
 * Flow for questions about collections: read the device address (and, for a
 * launch greeting, the given name) from Amazon's APIs on this thread's loop,
 * match it to a property, read the calendar, and phrase the answer. When the
 * address matches several properties the skill asks which one once, and
 * remembers the choice (choice.h). Permission problems get a plain
 * explanation and, where the resident can fix them, a consent card.
 *
 * Speech rules (docs/skill.md): name the colour and the kind, use natural
 * dates, say when a collection is not on the usual day and why, mention active
 * notices, and remind that bins go out by 6:30 when the collection is
 * tomorrow. Every piece of data goes through speech_buf_text (SSML-escaped).
 */
#include "binday/skill/skill.h"
#include "binday/json/jsonmem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/alexa/alexa_api.h"
#include "binday/alexa/alexa_request.h"
#include "binday/alexa/alexa_response.h"
#include "binday/skill/choice.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/transcript.h"
#include "binday/util/date.h"
#include "binday/mail/linkmail.h"
#include "binday/util/log.h"
#include "binday/data/lookup.h"
#include "binday/mail/mailer.h"
#include "binday/skill/speech.h"
#include "binday/util/strbuf.h"
#include <time.h>

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
    struct skill_call *calls;
};

typedef enum { Q_LAUNCH, Q_NEXT, Q_BIN, Q_WHEN, Q_UPCOMING, Q_EMAIL } question_t;

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
    uv_timer_t *progressive_timer; /* closed (and freed) in call_free */
    int waiting;
    alexa_api_status_t addr_status, name_status;
    alexa_address_t addr;
    char given_name[ALEXA_API_MAX_TEXT];
    alexa_api_call_t *email_call; /* Q_EMAIL: the address to send the link to */
    alexa_api_status_t email_status;
    char email[ALEXA_API_MAX_TEXT + 1];
    struct skill_call *next, *prev;
};

/* ---- small helpers ---------------------------------------------------------------- */

static int today_of(const skill_thread_t *st)
{
    return st->conf->fixed_today ? st->conf->fixed_today : date_today_london();
}

static void finish(struct skill_call *c, alexa_response_t *r);
/* emailed link (defined with the email section below) */
#define EMAIL_OFFER "Shall I email you the link to your collection calendar?"
static json_t *email_offer(struct skill_call *c, speech_buf_t *sp);
static void answer_email(struct skill_call *c, const lookup_result_t *res);
static int email_trouble(struct skill_call *c);
static void email_start(struct skill_call *c);

static void say(speech_buf_t *sp, const char *text)
{
    speech_buf_text(sp, text, strlen(text));
}

static void title_case(char *dst, size_t n, const char *src, size_t len)
{
    size_t o = 0;
    int start = 1;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[o++] = (char)(start ? toupper(ch) : tolower(ch));
        start = !isalnum(ch) && ch != '\'';
    }
    dst[o] = 0;
}

static void card_from(speech_buf_t *sp, char *card, size_t n)
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
        say(sp, "Remember to put your bins out by 6:30 in the morning. ");
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

static void answer_simple(struct skill_call *c, const char *ssml, const char *reprompt, int end)
{
    char card[2000];
    speech_buf_t sp;
    speech_buf_init(&sp);
    speech_buf_markup(&sp, ssml);
    card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = reprompt;
    r.card_title = "Breckland bins";
    r.card_content = card;
    r.should_end_session = end ? ALEXA_END_TRUE : ALEXA_END_FALSE;
    finish(c, &r);
}

/* A 403 showed a permission is gone: what was derived from it goes too
 * (privacy.h), exactly as when a skill event says so. */
static void privacy_permission_gone(struct skill_call *c, unsigned what, const char *reason)
{
    char err[300];
    if (c->st->conf->privacy && c->user[0] && strcmp(c->user, "-") != 0)
        privacy_erase(c->st->conf->privacy, c->user, what, reason, NULL, err, sizeof(err));
}

static void answer_permission(struct skill_call *c)
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
    privacy_permission_gone(c, PRIVACY_ERASE_ADDRESS, "address_permission_missing");
    finish(c, &r);
}

static void answer_api_trouble(struct skill_call *c, alexa_api_status_t s)
{
    if (s == ALEXA_API_DEPLOYMENT_ERROR) {
        answer_simple(c, "Sorry, Breckland bins isn't set up properly to read addresses at the moment. Please try "
                         "again later.",
                      NULL, 1);
        return;
    }
    answer_simple(c, "Sorry, I couldn't read your address from Amazon just now. Please ask me again in a moment.",
                  "You can ask again: when is my next collection?", 0);
}

static void answer_ambiguous(struct skill_call *c, const lookup_result_t *res)
{
    speech_buf_t sp;
    speech_buf_init(&sp);
    json_t *cands = json_array();
    char labels[SKILL_MAX_CHOICES][120];
    const char *items[SKILL_MAX_CHOICES];
    size_t n = res->n_candidates < SKILL_MAX_CHOICES ? res->n_candidates : SKILL_MAX_CHOICES;
    for (size_t i = 0; i < n; i++) {
        const rec_str_t *a = &res->candidates[i].address;
        size_t cut = a->n;
        for (size_t k = 0; k < a->n; k++)
            if (a->p[k] == ',') {
                cut = k;
                break;
            }
        title_case(labels[i], sizeof(labels[i]), a->p, cut);
        items[i] = labels[i];
        char u[24];
        snprintf(u, sizeof(u), "%llu", (unsigned long long)res->candidates[i].uprn);
        json_array_append_new(cands, json_pack("{s:s,s:s}", "uprn", u, "label", labels[i]));
    }
    char list[1500];
    speech_join(list, sizeof(list), items, n);
    /* join with "or" rather than "and" */
    char *and = strstr(list, " and ");
    if (and && n > 1) {
        char tail[1500];
        snprintf(tail, sizeof(tail), "%s", and + 5);
        snprintf(and, sizeof(list) - (size_t)(and - list), " or %s", tail);
    }
    speech_buf_textf(&sp, "Your address matches more than one property: %s. Which one is yours?", list);
    json_t *attrs = json_pack("{s:s,s:o,s:s,s:s,s:i,s:i}", "pending", "choose_property", "candidates", cands,
                              "question", c->q == Q_BIN ? "bin" : c->q == Q_WHEN ? "when"
                                                          : c->q == Q_UPCOMING ? "upcoming"
                                                          : c->q == Q_EMAIL ? "email" : "next",
                              "bin", c->bin, "first", c->range_first, "last", c->range_last);
    char reprompt[1700];
    snprintf(reprompt, sizeof(reprompt), "Which property is yours: %.1500s?", list);
    char card[2000];
    card_from(&sp, card, sizeof(card));
    speech_buf_t rp;
    speech_buf_init(&rp);
    say(&rp, reprompt);
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = rp.s;
    r.card_title = "Which property?";
    r.card_content = card;
    r.session_attributes = attrs;
    r.should_end_session = ALEXA_END_FALSE;
    finish(c, &r);
    json_decref(attrs);
}

/* Phrase the answer to c->q from a lookup that found the property. */
static void answer_collections(struct skill_call *c, const lookup_result_t *res)
{
    speech_buf_t sp;
    speech_buf_init(&sp);
    int today = c->today;
    if (c->q == Q_LAUNCH) {
        if (c->name_status == ALEXA_API_OK && c->given_name[0])
            speech_buf_textf(&sp, "Hello %s. ", c->given_name);
        else
            say(&sp, "Hello. ");
    }
    if (res->match == AM_POSTCODE)
        speech_buf_textf(&sp, "I couldn't find your exact address, but every property in %s has the same "
                              "collections, so here they are. ",
                         res->postcode);
    else if (res->match == AM_BUILDING)
        say(&sp, "These are the collections for your building. ");

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
                say(&sp, "You don't have a garden waste collection. The brown bin for garden waste is "
                                     "a subscription service: you can sign up for it on Breckland Council's "
                                     "website, and collections start once your subscription begins. ");
            else
                say(&sp, "I can't find a collection of that bin for your address in the next few "
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
                say(&sp, "Remember to put it out by 6:30 in the morning. ");
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
            say(&sp, "There are no collections then. ");
            if (next >= 0) {
                say(&sp, "Your next one is ");
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
            say(&sp, "I can't find any collections for your address in the next few weeks. ");
    } else { /* Q_NEXT, Q_LAUNCH */
        int d = first_date_from(res, today);
        if (d < 0) {
            say(&sp, "I can't find any collections for your address in the next few weeks. ");
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
        say(&sp, "You can also ask about a particular bin, or which bin goes out this week. What "
                             "would you like to know?");
    json_t *offer = email_offer(c, &sp);
    if (offer)
        keep_open = 1;
    char card[4000];
    card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = offer ? EMAIL_OFFER : keep_open ? "You can ask when your next collection is, or say stop." : NULL;
    r.card_title = "Your bin collections";
    r.card_content = card;
    r.session_attributes = offer;
    r.should_end_session = keep_open ? ALEXA_END_FALSE : ALEXA_END_TRUE;
    finish(c, &r);
    json_decref(offer);
}

/* ---- address lookup ------------------------------------------------------------ */

static void set_line(const char *s, const uint8_t **p, size_t *n)
{
    *p = (const uint8_t *)s;
    *n = s ? strlen(s) : 0;
}

static void answer_from_address(struct skill_call *c)
{
    skill_thread_t *st = c->st;
    const alexa_address_t *a = &c->addr;
    addrmatch_input_t in;
    memset(&in, 0, sizeof(in));
    set_line(a->address_line1, &in.line[0], &in.line_len[0]);
    set_line(a->address_line2, &in.line[1], &in.line_len[1]);
    set_line(a->address_line3, &in.line[2], &in.line_len[2]);
    set_line(a->city, &in.city, &in.city_len);
    set_line(a->postal_code, &in.postcode, &in.postcode_len);
    set_line(a->country_code, &in.country, &in.country_len);

    char err[256], ah[SECRET_HEX_LEN + 1];
    int remember = 0;
    lookup_result_t *res = st->res;
    MDB_txn *txn;
    int rc = store_reader_begin(st->reader, &txn, err, sizeof(err));
    if (rc == 0) {
        rc = lookup_address_txn(store_reader_store(st->reader), txn, &in, c->today, SKILL_DAYS, res, err,
                                sizeof(err));
        if (rc == 0 && res->match == AM_AMBIGUOUS) {
            uint64_t uprn = 0;
            choice_address_digest(st->conf->user_key, a, ah, sizeof(ah));
            /* a fresh answer counts only if it is one of this address's candidates */
            for (size_t i = 0; c->chosen_uprn && i < res->n_candidates; i++)
                if (res->candidates[i].uprn == c->chosen_uprn)
                    uprn = c->chosen_uprn, remember = 1;
            if (uprn == 0 && choice_get(st->conf->privacy, txn, c->user, ah, &uprn) != 0)
                uprn = 0;
            if (uprn != 0)
                rc = lookup_uprn_txn(store_reader_store(st->reader), txn, uprn, c->today, SKILL_DAYS, res, err,
                                     sizeof(err));
        }
        store_reader_end(st->reader);
    }
    if (rc == 0 && remember) {
        char werr[200];
        if (choice_put(st->conf->privacy, c->user, ah, c->chosen_uprn, werr, sizeof(werr)) != 0)
            log_error("skill.remember_choice", "user=%s error=\"%s\"", c->user, werr);
        else
            log_info("skill.remember_choice", "user=%s", c->user);
    }
    if (rc != 0) {
        log_error("skill.lookup", "error=\"%s\"", err);
        answer_simple(c, "Sorry, something went wrong looking up your collections. Please try again later.", NULL, 1);
        return;
    }
    log_info("skill.match", "user=%s match=%s", c->user, addrmatch_kind_name(res->match));
    switch (res->match) {
    case AM_EXACT:
    case AM_BUILDING:
    case AM_POSTCODE:
        if (c->q == Q_EMAIL)
            answer_email(c, res);
        else
            answer_collections(c, res);
        return;
    case AM_AMBIGUOUS:
        answer_ambiguous(c, res);
        return;
    case AM_OUTSIDE:
        answer_simple(c, "Your device's address isn't in Breckland, so I can't tell you its bin collections. The "
                         "council for that area will have its collection days on its own website.",
                      NULL, 1);
        return;
    case AM_NONE:
    default:
        if (res->postcode[0]) {
            speech_buf_t sp;
            speech_buf_init(&sp);
            speech_buf_textf(&sp, "I couldn't find your address in %s in Breckland's address list. Please check the "
                                  "address of this device in the Alexa app, or see Breckland Council's website for "
                                  "your collection days.",
                             res->postcode);
            answer_simple(c, sp.s, NULL, 1);
        } else {
            answer_simple(c, "Your device's address has no postcode I recognise. Please check the address of this "
                             "device in the Alexa app: open Devices, choose this device, and set its location.",
                          NULL, 1);
        }
        return;
    }
}

static void maybe_answer(struct skill_call *c)
{
    if (c->waiting > 0)
        return;
    if (c->q == Q_EMAIL && email_trouble(c))
        return;
    switch (c->addr_status) {
    case ALEXA_API_OK:
        answer_from_address(c);
        return;
    case ALEXA_API_NOT_SET:
        answer_simple(c, "This device doesn't have an address set. In the Alexa app, open Devices, choose this "
                         "device, and add its address under Device Location. Then ask me again.",
                      NULL, 1);
        return;
    case ALEXA_API_PERMISSION_MISSING:
        answer_permission(c);
        return;
    default:
        log_warn("skill.address_api", "user=%s status=%s", c->user, alexa_api_status_name(c->addr_status));
        answer_api_trouble(c, c->addr_status);
        return;
    }
}

static void call_free(struct skill_call *c);

/* An asynchronous call is over once it has answered: the endpoint forgets its
 * handle when the answer arrives, so nothing else would free it (every
 * answered request stayed on st->calls until the thread stopped: ~11 KB per
 * request, found by make bench). */
static void free_if_answered(struct skill_call *c)
{
    if (c->cb == NULL && c->waiting <= 0)
        call_free(c);
}

static void on_address(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->addr_call = NULL;
    c->addr_status = res->status;
    if (res->status == ALEXA_API_OK && res->address)
        alexa_address_copy(&c->addr, res->address);
    c->waiting--;
    maybe_answer(c);
    free_if_answered(c);
}

static void on_given_name(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->name_call = NULL;
    c->name_status = res->status;
    if (res->status == ALEXA_API_OK && res->text)
        snprintf(c->given_name, sizeof(c->given_name), "%s", res->text);
    c->waiting--;
    maybe_answer(c);
    free_if_answered(c);
}

static void on_progressive_sent(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->progressive_call = NULL;
    if (res->status != ALEXA_API_OK)
        log_info("skill.progressive", "result=%s", alexa_api_status_name(res->status));
}

static void on_progressive_timer(uv_timer_t *t)
{
    struct skill_call *c = t->data;
    if (c->waiting <= 0 || c->progressive_call || c->rq.request_id == NULL)
        return;
    char err[200];
    c->progressive_call = alexa_api_progressive(c->st->ob, c->rq.api_endpoint, c->rq.api_token, c->rq.request_id,
                                                "<speak>Just a moment while I look that up.</speak>",
                                                on_progressive_sent, c, err, sizeof(err));
}

/* Start the API calls the question needs. Returns 0 when the answer will come
 * asynchronously, -1 when it was given already. */
static int start_lookup(struct skill_call *c)
{
    skill_thread_t *st = c->st;
    char err[200];
    c->addr_status = ALEXA_API_UNAVAILABLE;
    c->name_status = ALEXA_API_UNAVAILABLE;
    c->waiting = 1;
    c->addr_call = alexa_api_address(st->ob, c->rq.api_endpoint, c->rq.api_token, c->rq.device_id, on_address, c,
                                     err, sizeof(err));
    if (c->addr_call == NULL) {
        log_warn("skill.address_api", "user=%s refused=\"%s\"", c->user, err);
        c->waiting = 0;
        c->addr_status = ALEXA_API_REFUSED;
        maybe_answer(c);
        return -1;
    }
    c->progressive_timer = malloc(sizeof(*c->progressive_timer));
    if (c->progressive_timer == NULL)
        abort();
    uv_timer_init(outbound_loop(st->ob), c->progressive_timer);
    c->progressive_timer->data = c;
    uv_timer_start(c->progressive_timer, on_progressive_timer, SKILL_PROGRESSIVE_MS, 0);
    if (c->q == Q_EMAIL)
        email_start(c);
    if (c->q == Q_LAUNCH) {
        c->name_call = alexa_api_given_name(st->ob, c->rq.api_endpoint, c->rq.api_token, on_given_name, c, err,
                                            sizeof(err));
        if (c->name_call)
            c->waiting++;
    }
    return 0;
}

/* ---- the follow-up answer to "which one is yours?" ----------------------------- */

static int word_number(const char *w)
{
    static const char *words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                  "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                  "sixteen", "seventeen", "eighteen", "nineteen", "twenty"};
    for (int i = 0; i < (int)(sizeof(words) / sizeof(words[0])); i++)
        if (strcmp(w, words[i]) == 0)
            return i;
    static const char *ords[] = {"first", "second", "third", "fourth", "fifth", "sixth"};
    for (int i = 0; i < 6; i++)
        if (strcmp(w, ords[i]) == 0)
            return -(i + 1);
    return -100;
}

/* Tokens of a label or an utterance: lower-case words and numbers ("12a" stays one). */
static size_t tokens(const char *s, char tok[][24], size_t max)
{
    size_t n = 0, l = 0;
    for (const char *p = s;; p++) {
        if (*p && isalnum((unsigned char)*p)) {
            if (l < 23)
                tok[n][l++] = (char)tolower((unsigned char)*p);
            continue;
        }
        if (l) {
            tok[n][l] = 0;
            int num = word_number(tok[n]);
            if (num >= 0)
                snprintf(tok[n], 24, "%d", num);
            if (++n == max)
                break;
            l = 0;
        }
        if (!*p)
            break;
    }
    return n;
}

/* Which candidate did the resident name? index, or -1 when unclear. */
static int pick_candidate(const char *said, json_t *cands)
{
    char ut[16][24];
    size_t un = tokens(said, ut, 16);
    size_t n = json_array_size(cands);
    /* "the second one" */
    for (size_t i = 0; i < un; i++) {
        int w = word_number(ut[i]);
        if (w <= -1 && w >= -6 && (size_t)(-w) <= n)
            return -w - 1;
    }
    int best = -1, best_score = 0, tie = 0;
    for (size_t i = 0; i < n; i++) {
        const char *label = json_string_value(json_object_get(json_array_get(cands, i), "label"));
        if (!label)
            continue;
        char lt[16][24];
        size_t ln = tokens(label, lt, 16);
        int score = 0, numbers_ok = 1;
        for (size_t a = 0; a < un; a++) {
            int found = 0;
            for (size_t b = 0; b < ln; b++)
                found |= strcmp(ut[a], lt[b]) == 0;
            if (found)
                score += isdigit((unsigned char)ut[a][0]) ? 3 : 1;
            else if (isdigit((unsigned char)ut[a][0]))
                numbers_ok = 0;
        }
        if (!numbers_ok)
            continue;
        if (score > best_score) {
            best = (int)i;
            best_score = score;
            tie = 0;
        } else if (score == best_score && score > 0) {
            tie = 1;
        }
    }
    return tie ? -1 : best;
}

static int handle_choose(struct skill_call *c)
{
    json_t *attrs = c->rq.session_attributes;
    json_t *cands = json_object_get(attrs, "candidates");
    alexa_slot_t slot;
    const char *said = NULL;
    if (alexa_request_slot(&c->rq, "Property", &slot))
        said = alexa_slot_best(&slot);
    int pick = (said && json_is_array(cands)) ? pick_candidate(said, cands) : -1;
    if (pick < 0) {
        /* ask again, keeping the question */
        speech_buf_t sp;
        speech_buf_init(&sp);
        const char *items[SKILL_MAX_CHOICES];
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(cands) && n < SKILL_MAX_CHOICES; i++) {
            const char *l = json_string_value(json_object_get(json_array_get(cands, i), "label"));
            if (l)
                items[n++] = l;
        }
        char list[1500];
        speech_join(list, sizeof(list), items, n);
        speech_buf_textf(&sp, "Sorry, I didn't catch which one. Is it %s?", list);
        alexa_response_t r = {0};
        r.ssml = sp.s;
        r.reprompt_ssml = sp.s;
        r.session_attributes = attrs;
        r.should_end_session = ALEXA_END_FALSE;
        finish(c, &r);
        return -1;
    }
    const char *u = json_string_value(json_object_get(json_array_get(cands, (size_t)pick), "uprn"));
    c->chosen_uprn = u ? strtoull(u, NULL, 10) : 0;
    const char *q = json_string_value(json_object_get(attrs, "question"));
    c->q = q && !strcmp(q, "email") ? Q_EMAIL : q && !strcmp(q, "bin") ? Q_BIN : q && !strcmp(q, "when") ? Q_WHEN : q && !strcmp(q, "upcoming") ? Q_UPCOMING
                                                                                                        : Q_NEXT;
    snprintf(c->bin, sizeof(c->bin), "%s", json_string_value(json_object_get(attrs, "bin")) ?: "");
    c->range_first = (int)json_integer_value(json_object_get(attrs, "first"));
    c->range_last = (int)json_integer_value(json_object_get(attrs, "last"));
    /* The address is read again (Amazon's rule: fresh on every request); the
     * choice is checked against it and remembered in answer_from_address. */
    return 0;
}

/* ---- emailed link (issue 6; docs/email.md) -------------------------------------- */

/* After an answer, when email is configured: offer the link once per session. */
static json_t *email_offer(struct skill_call *c, speech_buf_t *sp)
{
    if (c->st->conf->mail == NULL || !mailer_enabled() || c->q == Q_LAUNCH || c->q == Q_EMAIL)
        return NULL;
    if (json_is_true(json_object_get(c->rq.session_attributes, "email_offered")))
        return NULL;
    say(sp, EMAIL_OFFER);
    return json_pack("{s:s,s:b}", "pending", "email_offer", "email_offered", 1);
}

/* EmailLinkIntent, or yes to the offer: read the address and the email
 * (fresh, in parallel), then answer_email. Returns 1 when asynchronous. */
static int email_intent(struct skill_call *c)
{
    if (c->st->conf->mail == NULL || !mailer_enabled()) {
        answer_simple(c, "Sorry, I can't send emails at the moment. You'll find your collection days on Breckland "
                         "Council's website, breckland dot gov dot uk, under bins and recycling.",
                      NULL, 1);
        return 0;
    }
    c->q = Q_EMAIL;
    return start_lookup(c) == 0;
}

static void on_email(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->email_call = NULL;
    c->email_status = res->status;
    if (res->status == ALEXA_API_OK && res->text)
        snprintf(c->email, sizeof(c->email), "%s", res->text);
    c->waiting--;
    maybe_answer(c);
}

static void email_start(struct skill_call *c)
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
static int email_trouble(struct skill_call *c)
{
    switch (c->email_status) {
    case ALEXA_API_OK:
        return 0;
    case ALEXA_API_PERMISSION_MISSING: {
        /* the email permission is gone: so is anything queued with the address */
        privacy_permission_gone(c, PRIVACY_ERASE_EMAIL, "email_permission_missing");
        alexa_response_t r = {0};
        static const char *perms[] = {PERM_EMAIL_CARD};
        r.ssml = "To email you the link, I need your permission to use your email address. I've sent a card to your "
                 "Alexa app where you can allow it.";
        r.permissions = perms;
        r.n_permissions = 1;
        r.should_end_session = ALEXA_END_TRUE;
        finish(c, &r);
        return 1;
    }
    case ALEXA_API_NOT_SET:
        answer_simple(c, "There's no email address on your Amazon account, so I can't send you the link. You can "
                         "add one in your Amazon account settings.",
                      NULL, 1);
        return 1;
    default:
        log_warn("skill.email_api", "user=%s status=%s", c->user, alexa_api_status_name(c->email_status));
        answer_simple(c, "Sorry, I couldn't read your email address from Amazon just now. Please try again in a "
                         "moment.",
                      NULL, 1);
        return 1;
    }
}

static void answer_email(struct skill_call *c, const lookup_result_t *res)
{
    const linkmail_conf_t *mc = c->st->conf->mail;
    if (res->uprn == 0) { /* postcode-only match: no one property to make a feed for */
        answer_simple(c, "Sorry, I can only send a calendar link when I can find your exact address. Please check "
                         "the address of this device in the Alexa app.",
                      NULL, 1);
        return;
    }
    char id[OUTBOX_ID_MAX];
    linkmail_status_t st = linkmail_queue(mc, res, res->uprn, c->user, c->email, c->today, (long long)time(NULL), id);
    memset(c->email, 0, sizeof(c->email)); /* handed to the outbox; not kept here */
    switch (st) {
    case LINKMAIL_QUEUED:
        log_info("skill.email_queued", "user=%s id=%s", c->user, id);
        mailer_wake();
        answer_simple(c, "Done \xe2\x80\x94 check your inbox. I've emailed you the link to your collection calendar.",
                      NULL, 1);
        return;
    case LINKMAIL_USER_CAPPED:
        log_info("skill.email_capped", "user=%s cap=user", c->user);
        answer_simple(c, "I've already sent you the link a few times today, so I haven't sent another. Please check "
                         "your inbox, or ask me again tomorrow.",
                      NULL, 1);
        return;
    case LINKMAIL_GLOBAL_CAPPED:
        log_warn("skill.email_capped", "user=%s cap=global", c->user);
        answer_simple(c, "Sorry, I can't send emails just now. Please try again later.", NULL, 1);
        return;
    case LINKMAIL_BAD_ADDRESS:
        log_info("skill.email_refused", "user=%s reason=unusable_address", c->user);
        answer_simple(c, "Sorry, I can't send email to the address on your Amazon account. Please check it in your "
                         "Amazon account settings.",
                      NULL, 1);
        return;
    default:
        answer_simple(c, "Sorry, something went wrong sending the link. Please try again later.", NULL, 1);
        return;
    }
}

/* ---- request dispatch ---------------------------------------------------------- */

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
                           c->rq.type == ALEXA_REQ_INTENT ? c->rq.intent_name : NULL, c->rq.slots, said};
    if (c->st->conf->transcripts)
        transcript_enqueue(c->st->conf->transcripts, c->user, &t); /* a drop is logged there */
    else if (transcript_write(c->st->conf->privacy, c->user, &t, err, sizeof(err)) != 0)
        log_error("skill.transcript", "user=%s error=\"%s\"", c->user, err);
}

static void finish(struct skill_call *c, alexa_response_t *r)
{
    char err[200];
    size_t len = 0;
    record_turn(c, r);
    char *body = alexa_response_build(r, &len, err, sizeof(err));
    if (body == NULL) {
        log_error("skill.response", "error=\"%s\"", err);
        alexa_response_t fallback = {0};
        fallback.ssml = "Sorry, something went wrong. Please try again.";
        fallback.should_end_session = ALEXA_END_TRUE;
        body = alexa_response_build(&fallback, &len, err, sizeof(err));
        if (body == NULL)
            abort();
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

static void call_free(struct skill_call *c)
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
    memset(c->email, 0, sizeof(c->email));
    if (c->prev)
        c->prev->next = c->next;
    else
        c->st->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    json_decref(c->env);
    free(c);
}

skill_thread_t *skill_thread_new(const skill_conf_t *conf, outbound_t *ob)
{
    skill_thread_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->conf = conf;
    st->ob = ob;
    st->reader = store_reader_new(conf->store);
    st->res = malloc(sizeof(*st->res));
    if (st->reader == NULL || st->res == NULL) {
        skill_thread_free(st);
        return NULL;
    }
    return st;
}

void skill_thread_free(skill_thread_t *st)
{
    if (st == NULL)
        return;
    while (st->calls)
        call_free(st->calls);
    if (st->reader)
        store_reader_free(st->reader);
    free(st->res);
    free(st);
}

void skill_cancel(skill_call_t *c)
{
    call_free(c);
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
                                  "UpcomingCollectionsIntent", "AMAZON.HelpIntent"};
    const char *in = c->rq.intent_name ? c->rq.intent_name : "";
    int ours = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ours |= strcmp(in, known[i]) == 0;
    json_t *slots = json_object();
    const char *verdict = ours ? (strcmp(in, "AMAZON.HelpIntent") == 0 ? "YES" : "MAYBE") : "NO";
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
    char *body = jsonmem_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL)
        abort();
    skill_done_cb cb = c->cb;
    c->cb = NULL;
    cb(c->ud, 200, body, strlen(body));
}

static const char *HELP = "Breckland bins tells you when your bins are collected. You can ask: when is my next "
                          "collection, when is the black bin, which bin goes out this week, or what are my next "
                          "collections. What would you like to know?";

skill_call_t *skill_handle(skill_thread_t *st, json_t *envelope, skill_done_cb cb, void *ud)
{
    struct skill_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->st = st;
    c->env = envelope;
    c->cb = cb;
    c->ud = ud;
    c->today = today_of(st);
    c->next = st->calls;
    if (c->next)
        c->next->prev = c;
    st->calls = c;
    char err[200];
    if (alexa_request_parse(envelope, &c->rq, err, sizeof(err)) != 0) {
        log_warn("skill.request", "error=\"%s\"", err);
        answer_simple(c, "Sorry, I didn't understand that request.", NULL, 1);
        call_free(c);
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
        async = start_lookup(c) == 0;
        break;
    case ALEXA_REQ_INTENT:
        if (!strcmp(in, "AMAZON.HelpIntent")) {
            answer_simple(c, HELP, "What would you like to know about your bins?", 0);
        } else if (!strcmp(in, "AMAZON.StopIntent") || !strcmp(in, "AMAZON.CancelIntent") ||
                   !strcmp(in, "AMAZON.NavigateHomeIntent")) {
            answer_simple(c, "Goodbye.", NULL, 1);
        } else if (!strcmp(in, "AMAZON.FallbackIntent")) {
            answer_simple(c, "Sorry, I can't help with that. You can ask when your next collection is, or which bin "
                             "goes out this week.",
                          "What would you like to know about your bins?", 0);
        } else if (!strcmp(in, "AMAZON.YesIntent") || !strcmp(in, "AMAZON.NoIntent")) {
            const char *pending = json_string_value(json_object_get(c->rq.session_attributes, "pending"));
            if (pending && !strcmp(pending, "email_offer")) {
                if (!strcmp(in, "AMAZON.NoIntent"))
                    answer_simple(c, "All right, I won't send it. Goodbye.", NULL, 1);
                else
                    async = email_intent(c);
            } else if (pending && !strcmp(pending, "choose_property"))
                answer_simple(c, "Please tell me which property is yours, for example: flat two.",
                              "Which property is yours?", 0);
            else if (!strcmp(in, "AMAZON.NoIntent"))
                answer_simple(c, "All right. Goodbye.", NULL, 1);
            else
                answer_simple(c, "You can ask when your next collection is, or which bin goes out this week.",
                              "What would you like to know?", 0);
        } else if (!strcmp(in, "EmailLinkIntent")) {
            async = email_intent(c);
        } else if (!strcmp(in, "ChooseAddressIntent")) {
            const char *pending = json_string_value(json_object_get(c->rq.session_attributes, "pending"));
            if (!pending || strcmp(pending, "choose_property") != 0) {
                answer_simple(c, "Sorry, I wasn't asking about your address. You can ask when your next collection "
                                 "is.",
                              "What would you like to know?", 0);
            } else if (handle_choose(c) == 0) {
                async = start_lookup(c) == 0;
            }
        } else if (!strcmp(in, "NextCollectionIntent") || !strcmp(in, "BinTypeIntent") ||
                   !strcmp(in, "WhichBinIntent") || !strcmp(in, "UpcomingCollectionsIntent")) {
            intent_question(c);
            if (c->q == Q_BIN && !c->bin[0]) {
                answer_simple(c, "Which bin do you mean? Breckland collects the green bin for household rubbish, the "
                                 "black bin for recycling, the brown bin for garden waste, and the food caddy.",
                              "Which bin: green, black, brown, or food?", 0);
            } else {
                async = start_lookup(c) == 0;
            }
        } else {
            answer_simple(c, "Sorry, I can't help with that. You can ask when your next collection is.",
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
        answer_simple(c, "Sorry, I can't help with that here.", NULL, 1);
        break;
    }
    if (async)
        return c;
    call_free(c);
    return NULL;
}
