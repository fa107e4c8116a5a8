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
#include <strings.h>

#define SKILL_MAX_BINS 16 /* collections of one date spoken at most */

#include "binday/data/holidays.h"
#include "binday/privacy/privacy.h"
#include "binday/util/date.h"
#include "binday/util/strbuf.h"

void skill_say(speech_buf_t *sp, const char *text)
{
    speech_buf_text(sp, text, strlen(text));
}

void skill_card_from(speech_buf_t *sp, char *card, size_t n)
{
    speech_strip_ssml(card, n, sp->s, sp->len);
}

/* How a collection's bin is said. The service's spoken_name is how residents
 * call it ("green bin", "food waste caddy"); when it does not already say
 * what goes in, the service's name follows ("the green bin for household
 * rubbish"). Without a spoken_name: colour and kind, as before issue 16. */
static void bin_phrase(const lookup_collection_t *col, char *dst, size_t n)
{
    char colour[48], purpose[96], spoken[96];
    rec_str_lower(colour, sizeof(colour), col->colour);
    rec_str_lower(purpose, sizeof(purpose), col->name);
    rec_str_lower(spoken, sizeof(spoken), col->spoken_name);
    if (spoken[0]) {
        /* does the spoken name say the kind? a word of 4+ letters of the
         * service's name in it, or a container that is its own kind */
        int says_kind = strstr(spoken, "caddy") || strstr(spoken, "bag") || strstr(spoken, "box");
        char w[96];
        for (const char *p = purpose; *p && !says_kind;) {
            size_t l = strcspn(p, " ,-");
            if (l >= 4 && l < sizeof(w)) {
                memcpy(w, p, l);
                w[l] = 0;
                says_kind = strstr(spoken, w) != NULL;
            }
            p += l;
            p += strspn(p, " ,-");
        }
        strbuf_concat(dst, n, "the ", spoken, says_kind || !purpose[0] ? "" : " for ", says_kind ? "" : purpose);
        return;
    }
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

/* "because of the Christmas Day bank holiday": the data's reason, naming
 * the bank holiday of that week when the reason is just "bank holiday". */
static void reason_phrase(const lookup_collection_t *col, char *dst, size_t n)
{
    dst[0] = 0;
    if (col->reason.p == NULL || col->reason.n == 0)
        return;
    char r[160];
    snprintf(r, sizeof(r), "%.*s", (int)col->reason.n, col->reason.p);
    if (strcasecmp(r, "bank holiday") == 0) {
        size_t nh;
        const holiday_t *h = holidays_builtin(&nh);
        int monday = col->original - date_weekday(col->original);
        const char *name = NULL;
        for (size_t i = 0; i < nh; i++)
            if (h[i].date >= monday && h[i].date <= col->original)
                name = h[i].name;
        if (name) {
            size_t l = strcspn(name, "(");
            while (l > 0 && name[l - 1] == ' ')
                l--;
            snprintf(dst, n, " because of the %.*s bank holiday", (int)l, name);
            return;
        }
        snprintf(dst, n, " because of the bank holiday");
        return;
    }
    snprintf(dst, n, " because of %s", r);
}

/* "That's not the usual day: it has moved from Friday the 25th of December
 * because of the Christmas Day bank holiday." for a collection moved off its
 * original date (always the full date: "moved from next Thursday" was misread). */
static void say_moved(speech_buf_t *sp, int today, const lookup_collection_t *col)
{
    char orig[96], why[200];
    speech_date_plain(orig, sizeof(orig), today, col->original);
    reason_phrase(col, why, sizeof(why));
    speech_buf_textf(sp, "That's not the usual day: it has moved from %s%s. ", orig, why);
}


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

/* Notices once per session (issue 16: repeated in every answer): the ids
 * said go into the session attributes. */
static void say_notices(struct skill_call *c, speech_buf_t *sp, const lookup_result_t *res)
{
    json_t *said = json_object_get(c->attrs, "notices_said");
    if (!json_is_array(said)) {
        said = json_array();
        json_object_set_new(c->attrs, "notices_said", said);
    }
    int spoken = 0;
    for (size_t i = 0; i < res->n_notices && spoken < 3; i++) {
        const lookup_notice_t *nt = &res->notices[i];
        int dup = 0;
        for (size_t k = 0; k < json_array_size(said) && !dup; k++) {
            const char *id = json_string_value(json_array_get(said, k));
            dup = id && strlen(id) == nt->notice_id.n && memcmp(id, nt->notice_id.p, nt->notice_id.n) == 0;
        }
        if (dup)
            continue;
        speech_buf_textf(sp, "Please note: %.*s ", (int)nt->message.n, nt->message.p);
        if (json_array_size(said) < LOOKUP_MAX_NOTICES)
            json_array_append_new(said, json_stringn(nt->notice_id.p, nt->notice_id.n));
        spoken++;
    }
    if (json_array_size(said) == 0)
        json_object_del(c->attrs, "notices_said");
}

/* Collections whose usual day is in [first, last] but which moved out of it
 * ("is it bin day tomorrow?" on Christmas Eve): "Your Friday collection has
 * moved to Saturday the 26th of December because of the Christmas Day bank
 * holiday: the green bin for household rubbish and the food caddy." Returns
 * how many dates were explained. */
static int say_moved_out(speech_buf_t *sp, const lookup_result_t *res, int today, int first, int last)
{
    int said = 0;
    for (size_t i = 0; i < res->n_collections; i++) {
        const lookup_collection_t *col = &res->collections[i];
        if (!col->changed || col->original < first || col->original > last ||
            (col->date >= first && col->date <= last))
            continue;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = res->collections[j].changed && res->collections[j].original == col->original &&
                  res->collections[j].date == col->date;
        if (dup)
            continue;
        /* every bin of that original date moved to that date */
        char phrases[SKILL_MAX_BINS][160];
        const char *items[SKILL_MAX_BINS];
        size_t n = 0;
        for (size_t j = i; j < res->n_collections && n < SKILL_MAX_BINS; j++) {
            const lookup_collection_t *o = &res->collections[j];
            if (o->changed && o->original == col->original && o->date == col->date) {
                bin_phrase(o, phrases[n], sizeof(phrases[n]));
                items[n] = phrases[n];
                n++;
            }
        }
        char list[1200], to[96], why[200];
        speech_join(list, sizeof(list), items, n);
        speech_date_phrase(to, sizeof(to), today, col->date, SPEECH_DATE_FULL);
        if (!strncmp(to, "on ", 3))
            memmove(to, to + 3, strlen(to + 3) + 1);
        reason_phrase(col, why, sizeof(why));
        speech_buf_textf(sp, "Your %s collection has moved to %s%s: %s. ", date_weekday_long(date_weekday(col->original)),
                         to, why, list);
        if (col->date == today + 1)
            skill_say(sp, "Remember to put your bins out by 6:30 in the morning. ");
        said++;
    }
    return said;
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

/* "tomorrow", "on Friday the 25th of December", "this week", "between
 * Monday the ... and Sunday the ..." for a range asked about. */
static void range_phrase(char *dst, size_t n, int today, int first, int last)
{
    if (first == last) {
        speech_date_phrase(dst, n, today, first, SPEECH_DATE_FULL);
        return;
    }
    int monday = today - date_weekday(today);
    if (first == today && last == monday + 6) {
        snprintf(dst, n, "for the rest of this week");
        return;
    }
    char a[96], b[96];
    speech_date_plain(a, sizeof(a), today, first);
    speech_date_plain(b, sizeof(b), today, last);
    strbuf_concat(dst, n, "between ", a, " and ", b);
}

/* The first collection of service `bin` on or after `from` (index), or -1. */
static long bin_from(const lookup_result_t *res, const char *bin, int from)
{
    for (size_t i = 0; i < res->n_collections; i++) {
        const lookup_collection_t *col = &res->collections[i];
        if (col->date >= from && col->service_id.n == strlen(bin) && memcmp(col->service_id.p, bin, col->service_id.n) == 0)
            return (long)i;
    }
    return -1;
}

static void say_bin(struct skill_call *c, speech_buf_t *sp, const lookup_result_t *res)
{
    int today = c->today;
    long at = bin_from(res, c->bin, today);
    if (c->bin_in_range && at >= 0) {
        /* "what about the brown bin?" after "is it bin day tomorrow?" */
        char phrase[160], range[200];
        bin_phrase(&res->collections[at], phrase, sizeof(phrase));
        range_phrase(range, sizeof(range), today, c->range_first, c->range_last);
        const lookup_collection_t *col = &res->collections[at];
        if (col->date <= c->range_last) {
            char when[96];
            speech_date_phrase(when, sizeof(when), today, col->date, SPEECH_DATE_FULL);
            phrase[0] = (char)toupper((unsigned char)phrase[0]);
            speech_buf_textf(sp, "Yes: %s is collected %s. ", phrase, when);
            if (col->changed && col->original != col->date)
                say_moved(sp, today, col);
            if (col->date == today + 1)
                skill_say(sp, "Remember to put it out by 6:30 in the morning. ");
            return;
        }
        char when[96];
        speech_date_phrase(when, sizeof(when), today, col->date, SPEECH_DATE_FULL);
        speech_buf_textf(sp, "No, %s isn't collected %s. It's next collected %s. ", phrase, range, when);
        if (col->changed && col->original != col->date && col->original >= c->range_first &&
            col->original <= c->range_last)
            say_moved(sp, today, col);
        return;
    }
    if (at < 0) {
        if (strcmp(c->bin, "garden") == 0)
            skill_say(sp, "You don't have a garden waste collection. The brown bin for garden waste is "
                          "a subscription service: you can sign up for it on Breckland Council's "
                          "website, and collections start once your subscription begins. ");
        else
            skill_say(sp, "I can't find a collection of that bin for your address in the next few "
                          "weeks. Please check Breckland Council's website. ");
        return;
    }
    const lookup_collection_t *col = &res->collections[at];
    char phrase[160], when[96];
    bin_phrase(col, phrase, sizeof(phrase));
    speech_date_phrase(when, sizeof(when), today, col->date, SPEECH_DATE_FULL);
    phrase[0] = (char)toupper((unsigned char)phrase[0]);
    speech_buf_textf(sp, "%s is next collected %s. ", phrase, when);
    if (col->changed && col->original != col->date)
        say_moved(sp, today, col);
    if (col->date == today + 1)
        skill_say(sp, "Remember to put it out by 6:30 in the morning. ");
}

static void say_next_after(speech_buf_t *sp, const lookup_result_t *res, int today, int after)
{
    int next = first_date_from(res, after + 1);
    if (next < 0)
        return;
    size_t idx[SKILL_MAX_BINS];
    char list[1200], when[96];
    bins_on(res, next, list, sizeof(list), idx);
    speech_date_phrase(when, sizeof(when), today, next, SPEECH_DATE_FULL);
    speech_buf_textf(sp, "Your next collection is %s: %s. ", when, list);
}

/* "Is it bin day?": yes with the bins, or no with why (a moved collection)
 * and the next one. Without a day: today, else tomorrow. */
static void say_binday(struct skill_call *c, speech_buf_t *sp, const lookup_result_t *res)
{
    int today = c->today;
    size_t idx[SKILL_MAX_BINS];
    if (!c->range_given) {
        int moved = 0;
        if (collections_on(res, today, idx, SKILL_MAX_BINS) > 0) {
            skill_say(sp, "Yes, it's bin day today. ");
            say_date(sp, res, today, today, 1);
        } else if (collections_on(res, today + 1, idx, SKILL_MAX_BINS) > 0) {
            skill_say(sp, "Not today, but tomorrow is. ");
            say_date(sp, res, today, today + 1, 1);
        } else {
            skill_say(sp, "No, it isn't bin day today or tomorrow. ");
            moved = say_moved_out(sp, res, today, today, today + 1);
            if (!moved)
                say_next_after(sp, res, today, today + 1);
        }
        return;
    }
    char range[200];
    range_phrase(range, sizeof(range), today, c->range_first, c->range_last);
    int any = 0;
    for (int d = c->range_first; d <= c->range_last; d++)
        if (collections_on(res, d, idx, SKILL_MAX_BINS) > 0) {
            if (!any)
                skill_say(sp, "Yes. ");
            say_date(sp, res, today, d, 1);
            any = 1;
        }
    if (!any) {
        speech_buf_textf(sp, "No, there's no collection %s. ", range);
        if (!say_moved_out(sp, res, today, c->range_first, c->range_last))
            say_next_after(sp, res, today, c->range_last);
    } else {
        say_moved_out(sp, res, today, c->range_first, c->range_last);
    }
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
        say_bin(c, &sp, res);
    } else if (c->q == Q_BINDAY) {
        say_binday(c, &sp, res);
    } else if (c->q == Q_WHEN) {
        int any = 0;
        for (int d = c->range_first; d <= c->range_last; d++) {
            size_t idx[SKILL_MAX_BINS];
            if (collections_on(res, d, idx, SKILL_MAX_BINS) > 0) {
                say_date(&sp, res, today, d, 1);
                any = 1;
            }
        }
        /* a usual day in the range whose collection moved out of it */
        int moved = say_moved_out(&sp, res, today, c->range_first, c->range_last);
        if (!any) {
            if (!moved)
                skill_say(&sp, "There are no collections then. ");
            int next = first_date_from(res, c->range_last + 1);
            if (next >= 0 && !moved) {
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
    say_notices(c, &sp, res);
    /* "what about the brown bin?" follows a question about these days */
    if (c->q == Q_WHEN || c->q == Q_BINDAY || (c->q == Q_BIN && c->bin_in_range))
        json_object_set_new(c->attrs, "last", json_pack("{s:i,s:i}", "first", c->range_first, "last", c->range_last));
    int keep_open = c->q == Q_LAUNCH;
    if (keep_open)
        skill_say(&sp, "You can also ask about a particular bin, or which bin goes out this week. What "
                       "would you like to know?");
    int offer = skill_email_offer(c, &sp);
    if (offer)
        keep_open = 1;
    char card[4000];
    skill_card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = offer ? EMAIL_OFFER : keep_open ? "You can ask when your next collection is, or say stop." : NULL;
    r.card_title = "Your bin collections";
    r.card_content = card;
    r.directives = skill_apl_collections(c, res); /* Echo Show: NULL without a screen */
    r.should_end_session = keep_open ? ALEXA_END_FALSE : ALEXA_END_TRUE;
    skill_finish(c, &r);
    json_decref(r.directives);
}
