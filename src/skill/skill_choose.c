/* skill_choose.c - owns the address dialogue (issue 16): deciding, inside
 * the lookup's read txn, whether the device address names one property, and
 * when it does not, which question to ask and how to read the answer.
 *
 * Shapes of a partial address and what the resident hears:
 *   a building whose flats have their own collections -> "Which flat is yours?"
 *   a street or a postcode only (or an address not found in a known
 *     postcode)                                   -> "What's your house number or name?"
 *   a few candidates                              -> "... A, B or C. Which one is yours?"
 *     with labels that tell them apart (the flat, then the building, then the street)
 *   a number that isn't there but near ones are   -> "I couldn't find number 14, but
 *     ("14" where 14A and 14B exist)                  there's 14A or 14B. Which one is yours?"
 * An answer is read by ordinal ("the second one"), by an offered label, or
 * else matched as an address: the answer's words in front of the device
 * address, against every property of the postcode (so any house on the
 * street can be named, not only those offered). The question and its tries
 * live in the session attributes ("pending": "choose_property", "address");
 * after two failed tries the resident hears the council's phone number and
 * website and the session ends kindly. A choice is remembered per (user,
 * device address) in choice.h and checked to be in the device's postcode
 * whenever it is used.
 */
#include "skill_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/store.h"
#include "binday/skill/answer.h"
#include "binday/skill/choice.h"
#include "binday/util/log.h"

#define MAX_TRIES 2 /* failed answers before the phone number and website */
#define MAX_ASKS 5  /* questions in one dialogue, whatever the answers */

/* s after what dst holds, cut to n bytes */
static void append(char *dst, size_t n, const char *s)
{
    size_t l = strlen(dst);
    if (l + 1 < n)
        snprintf(dst + l, n - l, "%s", s);
}

/* ---- labels --------------------------------------------------------------------- */

static void title_case(char *dst, size_t n, const char *src, size_t len)
{
    size_t o = 0;
    int start = 1;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        /* "14A" keeps its capital: a house number's suffix is read as a letter */
        int after_digit = i > 0 && isdigit((unsigned char)src[i - 1]);
        dst[o++] = (char)(start || after_digit ? toupper(ch) : tolower(ch));
        start = !isalnum(ch) && ch != '\'';
    }
    dst[o] = 0;
}

static void add_part(char *dst, size_t n, const char *sep, rec_str_t s)
{
    if (s.p == NULL || s.n == 0)
        return;
    char t[128];
    title_case(t, sizeof(t), s.p, s.n);
    if (dst[0])
        append(dst, n, sep);
    append(dst, n, t);
}

/* A property's label at a level of detail: 0 "Flat 3" / "12 High Street" /
 * "Rose Cottage"; 1 adds the building ("Flat 3 in Priory House"); 2 adds the
 * street ("Flat 3 in Priory House on Priory Road"). */
static void label_of(const addrmatch_cand_t *p, int level, char *dst, size_t n)
{
    dst[0] = 0;
    int numbered = p->paon.n && isdigit((unsigned char)p->paon.p[0]);
    if (p->saon.n) {
        /* "Flat 3 in Priory House", "Flat 2 at 12 High Street": no commas
         * inside a label, so a list of them still reads as a list */
        add_part(dst, n, ", ", p->saon);
        if (level >= 1)
            add_part(dst, n, numbered ? " at " : " in ", p->paon);
        if (level >= 1 && numbered)
            add_part(dst, n, " ", p->street);
        else if (level >= 2)
            add_part(dst, n, " on ", p->street);
    } else {
        add_part(dst, n, ", ", p->paon);
        if (numbered || level >= 1)
            add_part(dst, n, numbered ? " " : ", ", p->street);
        if (level >= 2)
            add_part(dst, n, ", ", p->locality);
    }
    if (!dst[0])
        snprintf(dst, n, "the property on %.*s", (int)(p->street.n > 80 ? 80 : p->street.n),
                 p->street.p ? p->street.p : "");
}

typedef struct options {
    size_t n;
    uint64_t uprn[SKILL_MAX_CHOICES];
    char label[SKILL_MAX_CHOICES][160];
} options_t;

/* Labels for the options, each raised to the level that tells it apart from
 * the others: never "Flat 3 or Flat 3". */
static void make_labels(options_t *o, const addrmatch_cand_t *const *p)
{
    int level[SKILL_MAX_CHOICES] = {0};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < o->n; i++)
            label_of(p[i], level[i], o->label[i], sizeof(o->label[i]));
        int dup = 0;
        for (size_t i = 0; i < o->n; i++)
            for (size_t j = 0; j < o->n; j++)
                if (i != j && strcasecmp(o->label[i], o->label[j]) == 0 && level[i] < 2) {
                    level[i]++;
                    dup = 1;
                    break;
                }
        if (!dup)
            break;
    }
}

static const addrmatch_cand_t *cand_by_uprn(const lookup_result_t *res, uint64_t uprn)
{
    for (size_t i = 0; i < res->n_cands; i++)
        if (res->cands[i].uprn == uprn)
            return &res->cands[i];
    return NULL;
}

/* ---- the question: saved, restored, asked ----------------------------------------- */

static const char *q_name(question_t q)
{
    return q == Q_BIN ? "bin" : q == Q_WHEN ? "when" : q == Q_UPCOMING ? "upcoming" : q == Q_EMAIL ? "email"
                              : q == Q_BINDAY ? "binday" : q == Q_LAUNCH ? "launch" : "next";
}

static question_t q_of(const char *s)
{
    static const struct {
        const char *n;
        question_t q;
    } t[] = {{"bin", Q_BIN}, {"when", Q_WHEN}, {"upcoming", Q_UPCOMING}, {"email", Q_EMAIL},
             {"binday", Q_BINDAY}, {"launch", Q_NEXT}};
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(s, t[i].n) == 0)
            return t[i].q;
    return Q_NEXT;
}

/* The dialogue's state carried from the last turn, or NULL. */
static json_t *pending_address(const struct skill_call *c)
{
    const char *p = json_string_value(json_object_get(c->rq.session_attributes, "pending"));
    json_t *a = json_object_get(c->rq.session_attributes, "address");
    return p && strcmp(p, "choose_property") == 0 && json_is_object(a) ? a : NULL;
}

static int attr_int(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : 0;
}

/* Send the question (prompt) with the dialogue's state in the session. */
static void ask(struct skill_call *c, const char *kind, const char *intro, const char *prompt, const options_t *o,
                int tries, int asks)
{
    json_t *cands = json_array();
    for (size_t i = 0; o && i < o->n; i++) {
        char u[24];
        snprintf(u, sizeof(u), "%llu", (unsigned long long)o->uprn[i]);
        json_array_append_new(cands, json_pack("{s:s,s:s}", "uprn", u, "label", o->label[i]));
    }
    json_t *st = json_pack("{s:s,s:o,s:s,s:i,s:i,s:s,s:s,s:i,s:i,s:b}", "ask", kind, "candidates", cands, "prompt",
                           prompt, "tries", tries, "asks", asks, "question", q_name(c->q), "bin", c->bin, "first",
                           c->range_first, "last", c->range_last, "in_range", c->bin_in_range);
    json_object_set_new(c->attrs, "pending", json_string("choose_property"));
    json_object_set_new(c->attrs, "address", st);
    speech_buf_t sp;
    speech_buf_init(&sp);
    if (intro && intro[0]) {
        skill_say(&sp, intro);
        skill_say(&sp, " ");
    }
    skill_say(&sp, prompt);
    speech_buf_t rp;
    speech_buf_init(&rp);
    skill_say(&rp, prompt);
    char card[2000];
    skill_card_from(&sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = rp.s;
    r.card_title = "Which property?";
    r.card_content = card;
    r.should_end_session = ALEXA_END_FALSE;
    skill_finish(c, &r);
}

/* "Which one is yours?" over options: "Is it A, B or C?" */
static void ask_which(struct skill_call *c, const char *intro, const options_t *o, int tries, int asks)
{
    const char *items[SKILL_MAX_CHOICES];
    for (size_t i = 0; i < o->n; i++)
        items[i] = o->label[i];
    char list[1200], prompt[1400];
    speech_join_or(list, sizeof(list), items, o->n);
    snprintf(prompt, sizeof(prompt), "Which one is yours: %s?", list);
    char in[600];
    snprintf(in, sizeof(in), "%s", intro ? intro : "");
    ask(c, "which", in, prompt, o, tries, asks);
}

/* After two failed tries: where to get help, and a kind goodbye. */
static void give_up(struct skill_call *c)
{
    const skill_conf_t *cf = c->st->conf;
    speech_buf_t sp;
    speech_buf_init(&sp);
    skill_say(&sp, "Sorry, I still can't tell which property is yours. ");
    if (cf->council_phone && cf->council_phone[0]) {
        skill_say(&sp, "Breckland Council can help: call them on ");
        speech_buf_markup(&sp, "<say-as interpret-as=\"telephone\">");
        skill_say(&sp, cf->council_phone);
        speech_buf_markup(&sp, "</say-as>");
        skill_say(&sp, cf->council_website && cf->council_website[0] ? ", or " : ". ");
    } else if (cf->council_website && cf->council_website[0]) {
        skill_say(&sp, "Breckland Council can help: ");
    }
    if (cf->council_website && cf->council_website[0]) {
        /* "breckland.gov.uk/bins" read out as "breckland dot gov dot uk slash bins" */
        char spoken[300] = "";
        for (const char *p = cf->council_website; *p; p++) {
            char one[2] = {*p, 0};
            append(spoken, sizeof(spoken), *p == '.' ? " dot " : *p == '/' ? " slash " : one);
        }
        speech_buf_textf(&sp, "see %s on the web. ", spoken);
    }
    skill_say(&sp, "You can also check this device's address in the Alexa app. Thanks for your patience, and "
                   "goodbye for now.");
    json_object_del(c->attrs, "pending");
    json_object_del(c->attrs, "address");
    char card[2000];
    skill_card_from(&sp, card, sizeof(card));
    if (cf->council_website && cf->council_website[0]) {
        append(card, sizeof(card), strncmp(cf->council_website, "www.", 4) ? " https://www." : " https://");
        append(card, sizeof(card), cf->council_website);
    }
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.card_title = "Breckland bins";
    r.card_content = card;
    r.should_end_session = ALEXA_END_TRUE;
    skill_finish(c, &r);
}

/* The last question again, after help, yes, no or a failed answer. Counts a
 * failed try when `failed`; gives up at MAX_TRIES. */
static void restore_question(struct skill_call *c, json_t *st)
{
    c->q = q_of(json_string_value(json_object_get(st, "question")));
    snprintf(c->bin, sizeof(c->bin), "%s", json_string_value(json_object_get(st, "bin")) ?: "");
    c->range_first = attr_int(st, "first");
    c->range_last = attr_int(st, "last");
    c->bin_in_range = json_is_true(json_object_get(st, "in_range"));
}

static void reask(struct skill_call *c, json_t *st, const char *intro, int failed)
{
    restore_question(c, st); /* the question waiting is still the one asked */
    int tries = attr_int(st, "tries") + (failed ? 1 : 0), asks = attr_int(st, "asks") + 1;
    if (tries >= MAX_TRIES || asks > MAX_ASKS) {
        give_up(c);
        return;
    }
    options_t o;
    o.n = 0;
    json_t *cands = json_object_get(st, "candidates");
    for (size_t i = 0; i < json_array_size(cands) && o.n < SKILL_MAX_CHOICES; i++) {
        json_t *e = json_array_get(cands, i);
        const char *u = json_string_value(json_object_get(e, "uprn"));
        const char *l = json_string_value(json_object_get(e, "label"));
        if (!u || !l)
            continue;
        o.uprn[o.n] = strtoull(u, NULL, 10);
        snprintf(o.label[o.n++], sizeof(o.label[0]), "%s", l);
    }
    const char *kind = json_string_value(json_object_get(st, "ask"));
    const char *prompt = json_string_value(json_object_get(st, "prompt"));
    ask(c, kind ? kind : "house", intro, prompt ? prompt : "What's your house number or name?", &o, tries, asks);
}

void skill_choose_reask(struct skill_call *c, const char *intro, int failed)
{
    json_t *st = pending_address(c);
    if (st == NULL) {
        skill_answer_simple(c, "You can ask when your next collection is, or which bin goes out this week.",
                            "What would you like to know?", 0);
        return;
    }
    reask(c, st, intro, failed);
}

int skill_choose_pending(const struct skill_call *c)
{
    return pending_address(c) != NULL;
}

/* ---- reading the answer ------------------------------------------------------------- */

int skill_handle_choose(struct skill_call *c)
{
    json_t *st = pending_address(c);
    alexa_slot_t slot;
    char said[200] = "";
    /* AMAZON.NUMBER / AMAZON.Ordinal slots come as digits; the free-text
     * Property slot as the words heard */
    if (alexa_request_slot(&c->rq, "Ordinal", &slot) && alexa_slot_best(&slot))
        snprintf(said, sizeof(said), "the %s", alexa_slot_best(&slot));
    else if (alexa_request_slot(&c->rq, "FlatNumber", &slot) && alexa_slot_best(&slot))
        snprintf(said, sizeof(said), "flat %s", alexa_slot_best(&slot));
    else if (alexa_request_slot(&c->rq, "HouseNumber", &slot) && alexa_slot_best(&slot))
        snprintf(said, sizeof(said), "%s", alexa_slot_best(&slot));
    else if (alexa_request_slot(&c->rq, "Property", &slot) && alexa_slot_best(&slot))
        snprintf(said, sizeof(said), "%s", alexa_slot_best(&slot));
    /* "1st" from AMAZON.Ordinal's digits: "the 2" */
    if (alexa_request_slot(&c->rq, "Ordinal", &slot) && alexa_slot_best(&slot) &&
        isdigit((unsigned char)alexa_slot_best(&slot)[0])) {
        int k = atoi(alexa_slot_best(&slot));
        static const char *ords[] = {"first", "second", "third", "fourth", "fifth", "sixth"};
        if (k >= 1 && k <= 6)
            snprintf(said, sizeof(said), "the %s", ords[k - 1]);
    }
    answer_words_t w;
    answer_words_str(said, &w);
    if (st == NULL || w.n == 0) {
        reask(c, st, "Sorry, I didn't catch that.", 1);
        return -1;
    }
    restore_question(c, st);
    c->choosing = 1;
    snprintf(c->answer, sizeof(c->answer), "%s", said);
    /* The address is read again (Amazon's rule: fresh on every request); the
     * answer is resolved against it in skill_resolve. */
    return 0;
}

/* ---- deciding ------------------------------------------------------------------------ */

static void set_line(const char *s, const uint8_t **p, size_t *n)
{
    *p = (const uint8_t *)s;
    *n = s ? strlen(s) : 0;
}

void skill_address_input(const alexa_address_t *a, addrmatch_input_t *in)
{
    memset(in, 0, sizeof(*in));
    set_line(a->address_line1, &in->line[0], &in->line_len[0]);
    set_line(a->address_line2, &in->line[1], &in->line_len[1]);
    set_line(a->address_line3, &in->line[2], &in->line_len[2]);
    set_line(a->city, &in->city, &in->city_len);
    set_line(a->postal_code, &in->postcode, &in->postcode_len);
    set_line(a->country_code, &in->country, &in->country_len);
}

/* The flats of a building (properties of the postcode whose parent it is). */
static size_t children_of(const lookup_result_t *res, uint64_t parent, const addrmatch_cand_t **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n_cands && n < max; i++)
        if (res->cands[i].parent_uprn == parent)
            out[n++] = &res->cands[i];
    return n;
}

/* Properties whose house number is near the one typed: the same digits with
 * another (or no) suffix: "14" -> 14A, 14B; "16A" -> 16. Buildings only (no flats). */
static size_t near_numbers(const lookup_result_t *res, const char *num, const addrmatch_cand_t **out, size_t max)
{
    size_t dl = strspn(num, "0123456789"), n = 0;
    if (dl == 0)
        return 0;
    for (size_t i = 0; i < res->n_cands && n < max; i++) {
        const addrmatch_cand_t *p = &res->cands[i];
        if (p->saon.n || p->paon.n < dl || memcmp(p->paon.p, num, dl) != 0)
            continue;
        if (p->paon.n > dl && isdigit((unsigned char)p->paon.p[dl]))
            continue; /* 140 is not near 14 */
        if (p->paon.n == strlen(num) && strncasecmp(p->paon.p, num, p->paon.n) == 0)
            continue; /* that one exists: not "near" */
        out[n++] = p;
    }
    return n;
}

/* Does a property with exactly this house number exist in the postcode? */
static int number_exists(const lookup_result_t *res, const char *num)
{
    for (size_t i = 0; i < res->n_cands; i++)
        if (res->cands[i].paon.n == strlen(num) && strncasecmp(res->cands[i].paon.p, num, res->cands[i].paon.n) == 0)
            return 1;
    return 0;
}

static int options_from(options_t *o, const addrmatch_cand_t *const *p, size_t n)
{
    o->n = n > SKILL_MAX_CHOICES ? SKILL_MAX_CHOICES : n;
    for (size_t i = 0; i < o->n; i++)
        o->uprn[i] = p[i]->uprn;
    make_labels(o, p);
    return (int)o->n;
}

/* What a street-only / postcode-only address is called in the question. */
static void where_phrase(const lookup_result_t *res, char *dst, size_t n)
{
    /* one street for every property of the postcode? name it */
    const addrmatch_cand_t *first = res->n_cands ? &res->cands[0] : NULL;
    int one_street = first && first->street.n;
    for (size_t i = 1; one_street && i < res->n_cands; i++)
        one_street = res->cands[i].street.n == first->street.n &&
                     memcmp(res->cands[i].street.p, first->street.p, first->street.n) == 0;
    if (one_street) {
        char t[128];
        title_case(t, sizeof(t), first->street.p, first->street.n);
        snprintf(dst, n, "%s", t);
    } else {
        snprintf(dst, n, "%s", res->postcode);
    }
}

typedef enum { ASK_NONE, ASK_FLAT, ASK_HOUSE, ASK_WHICH } ask_kind_t;

typedef struct decision {
    ask_kind_t kind;
    uint64_t flat_uprn; /* ASK_NONE for a building: answer with this flat's
                         * collections (they are all the same, and the
                         * building row itself has none) */
    char intro[400];
    char prompt[400];
    options_t o;
} decision_t;

/* A building that matched: do its flats have their own collections? Then ask
 * which flat (ASK_FLAT); otherwise the building's answer stands. */
static int building_question(skill_thread_t *st, MDB_txn *txn, const lookup_result_t *res, uint64_t building,
                             decision_t *d, int *rc)
{
    const addrmatch_cand_t *kids[LOOKUP_MAX_POSTCODE];
    size_t nk = children_of(res, building, kids, LOOKUP_MAX_POSTCODE);
    if (nk < 2)
        return 0;
    static __thread addrmatch_cand_t tmp[LOOKUP_MAX_POSTCODE];
    for (size_t i = 0; i < nk; i++)
        tmp[i] = *kids[i];
    int uniform = 1;
    *rc = lookup_uniform_txn(store_reader_store(st->reader), txn, tmp, nk, &uniform);
    if (*rc || uniform)
        return 0;
    d->kind = ASK_FLAT;
    if (nk <= 4) {
        options_from(&d->o, kids, nk);
        const char *items[SKILL_MAX_CHOICES];
        for (size_t i = 0; i < d->o.n; i++)
            items[i] = d->o.label[i];
        char list[300];
        speech_join_or(list, sizeof(list), items, d->o.n);
        snprintf(d->prompt, sizeof(d->prompt), "Which flat is yours: %s?", list);
    } else {
        options_from(&d->o, kids, nk); /* kept for "the first one"; not all read out */
        snprintf(d->prompt, sizeof(d->prompt), "Which flat is yours? For example, say flat 2.");
    }
    snprintf(d->intro, sizeof(d->intro), "The flats in your building have their own collection days.");
    return 1;
}

/* The device address (or the answer) matched nothing exactly: the question to ask. */
static void question_for(skill_thread_t *st, MDB_txn *txn, const lookup_result_t *res, const char *typed,
                         decision_t *d, int *rc)
{
    d->kind = ASK_NONE;
    d->o.n = 0;
    d->intro[0] = 0;
    if (res->match == AM_BUILDING) {
        if (!building_question(st, txn, res, res->uprn, d, rc) && !*rc && res->n_collections == 0) {
            /* "Wensum Court" whose bins are the flats' own, all alike: not
             * "I can't find any collections" (issue 16) but theirs */
            const addrmatch_cand_t *kids[1];
            if (children_of(res, res->uprn, kids, 1) == 1)
                d->flat_uprn = kids[0]->uprn;
        }
        return;
    }
    if (res->match != AM_AMBIGUOUS && res->match != AM_NONE)
        return;
    if (res->n_cands == 0)
        return; /* postcode not in the district's list: nothing to choose from */
    /* a house number that isn't there, but near ones are ("14": 14A, 14B) */
    char num[24];
    answer_house_number_str(typed, num, sizeof(num));
    const addrmatch_cand_t *near[SKILL_MAX_CHOICES];
    size_t nn = num[0] && !number_exists(res, num) ? near_numbers(res, num, near, SKILL_MAX_CHOICES) : 0;
    if (nn > 0) {
        d->kind = ASK_WHICH;
        options_from(&d->o, near, nn);
        const char *items[SKILL_MAX_CHOICES];
        for (size_t i = 0; i < d->o.n; i++)
            items[i] = d->o.label[i];
        char list[300];
        speech_join_or(list, sizeof(list), items, d->o.n);
        for (char *p = num; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        snprintf(d->intro, sizeof(d->intro), "I couldn't find number %s there, but there's %s.", num,
                 d->o.n == 1 ? list : "more than one near it");
        return;
    }
    if (res->match == AM_AMBIGUOUS) {
        const addrmatch_cand_t *p[SKILL_MAX_CHOICES];
        size_t n = 0;
        for (size_t i = 0; i < res->n_candidates && n < SKILL_MAX_CHOICES; i++) {
            const addrmatch_cand_t *cd = cand_by_uprn(res, res->candidates[i].uprn);
            if (cd)
                p[n++] = cd;
        }
        /* a few that differ in one part: offer them; a whole street: ask */
        if (n >= 2 && res->n_candidates <= 4) {
            d->kind = ASK_WHICH;
            options_from(&d->o, p, n);
            snprintf(d->intro, sizeof(d->intro), "Your address matches more than one property.");
            return;
        }
    }
    d->kind = ASK_HOUSE;
    char where[160];
    where_phrase(res, where, sizeof(where));
    snprintf(d->intro, sizeof(d->intro), "I found %s, but not which house is yours.", where);
    snprintf(d->prompt, sizeof(d->prompt), "What's your house number or name?");
}

static int in_postcode(const lookup_result_t *res, uint64_t uprn)
{
    return uprn && cand_by_uprn(res, uprn) != NULL;
}

/* The answer's words in front of the device address, matched against the
 * whole postcode. */
static int match_answer(skill_thread_t *st, MDB_txn *txn, struct skill_call *c, const char *kind, int today,
                        lookup_result_t *res, char *err, size_t errn)
{
    answer_words_t w;
    answer_words_str(c->answer, &w);
    char line[200] = "";
    int bare_number = 1;
    for (size_t i = 0; i < w.n; i++) {
        if (answer_is_filler(w.w[i]) && w.n > 1)
            continue;
        bare_number &= answer_is_number(w.w[i]);
        if (line[0])
            append(line, sizeof(line), " ");
        append(line, sizeof(line), w.w[i]);
    }
    char fixed[220];
    /* "3" to "which flat?" is flat 3 */
    snprintf(fixed, sizeof(fixed), "%s%s", kind && !strcmp(kind, "flat") && bare_number ? "flat " : "", line);
    const alexa_address_t *a = &c->addr;
    char l2[400];
    snprintf(l2, sizeof(l2), "%s %s", a->address_line2 ? a->address_line2 : "",
             a->address_line3 ? a->address_line3 : "");
    addrmatch_input_t in;
    skill_address_input(a, &in);
    in.line[0] = (const uint8_t *)fixed;
    in.line_len[0] = strlen(fixed);
    in.line[1] = (const uint8_t *)a->address_line1;
    in.line_len[1] = a->address_line1 ? strlen(a->address_line1) : 0;
    in.line[2] = (const uint8_t *)l2;
    in.line_len[2] = strlen(l2);
    return lookup_address_txn(store_reader_store(st->reader), txn, &in, today, SKILL_DAYS, res, err, errn);
}

/* Is this answer a building whose flats differ (answer "Priory House" to
 * "which house")? Then ask its flat. */
int skill_resolve(struct skill_call *c, MDB_txn *txn, const char *addr_hex, lookup_result_t *res, char *err,
                  size_t errn)
{
    skill_thread_t *st = c->st;
    store_t *s = store_reader_store(st->reader);
    addrmatch_input_t in;
    skill_address_input(&c->addr, &in);
    int rc = lookup_address_txn(s, txn, &in, c->today, SKILL_DAYS, res, err, errn);
    if (rc)
        return rc;
    json_t *pend = pending_address(c);
    int tries = pend ? attr_int(pend, "tries") : 0, asks = pend ? attr_int(pend, "asks") : 0;
    decision_t d;
    memset(&d, 0, sizeof(d));
    uint64_t uprn = 0;

    if (c->choosing && pend) {
        /* the answer to our question: an ordinal or an offered label first */
        answer_words_t w;
        answer_words_str(c->answer, &w);
        json_t *cands = json_object_get(pend, "candidates");
        int ord = answer_ordinal(&w), pick = -1;
        size_t nc = json_array_size(cands);
        if (ord != 0 && nc > 0)
            pick = ord == -1 ? (int)nc - 1 : ord <= (int)nc ? ord - 1 : -1;
        else if (ord == 0) {
            const char *labels[SKILL_MAX_CHOICES];
            size_t nl = nc < SKILL_MAX_CHOICES ? nc : SKILL_MAX_CHOICES;
            for (size_t i = 0; i < nl; i++)
                labels[i] = json_string_value(json_object_get(json_array_get(cands, i), "label"));
            pick = answer_pick(&w, labels, nl);
        }
        if (pick >= 0) {
            const char *u = json_string_value(json_object_get(json_array_get(cands, (size_t)pick), "uprn"));
            uprn = u ? strtoull(u, NULL, 10) : 0;
            if (!in_postcode(res, uprn))
                uprn = 0;
        }
        if (uprn == 0 && ord == 0) {
            const char *kind = json_string_value(json_object_get(pend, "ask"));
            rc = match_answer(st, txn, c, kind, c->today, res, err, errn);
            if (rc)
                return rc;
            if (res->match == AM_EXACT)
                uprn = res->uprn;
            else if (res->match == AM_BUILDING) {
                if (!building_question(st, txn, res, res->uprn, &d, &rc))
                    uprn = res->uprn;
                if (rc)
                    return rc;
            } else {
                question_for(st, txn, res, c->answer, &d, &rc);
                if (rc)
                    return rc;
                if (d.kind == ASK_HOUSE)
                    d.kind = ASK_NONE; /* the same question again: a failed try */
            }
        }
        if (uprn == 0 && d.kind == ASK_NONE) {
            c->resolved = RESOLVE_ASKED;
            reask(c, pend, "Sorry, I couldn't find that address.", 1);
            return 0;
        }
        if (uprn) {
            c->chosen_uprn = uprn;
            c->remember = 1;
        }
    } else {
        switch (res->match) {
        case AM_EXACT:
        case AM_POSTCODE:
        case AM_OUTSIDE:
            c->resolved = RESOLVE_ANSWER;
            return 0;
        case AM_BUILDING:
        case AM_AMBIGUOUS:
        case AM_NONE:
        default:
            break;
        }
        if (res->match == AM_NONE && res->n_cands == 0) {
            c->resolved = RESOLVE_ANSWER; /* said as "not found" */
            return 0;
        }
        /* a remembered choice for (this user, this address), if still in its postcode */
        uint64_t remembered = 0;
        if (choice_get(st->conf->privacy, txn, c->user, addr_hex, &remembered) == 0 && in_postcode(res, remembered))
            uprn = remembered;
        if (uprn == 0) {
            char typed[420];
            snprintf(typed, sizeof(typed), "%.200s %.200s", c->addr.address_line1 ? c->addr.address_line1 : "",
                     c->addr.address_line2 ? c->addr.address_line2 : "");
            question_for(st, txn, res, typed, &d, &rc);
            if (rc)
                return rc;
            if (d.kind == ASK_NONE && d.flat_uprn) {
                rc = lookup_uprn_txn(s, txn, d.flat_uprn, c->today, SKILL_DAYS, res, err, errn);
                if (rc == 0 && res->match == AM_EXACT)
                    res->match = AM_BUILDING; /* still said as the building's */
                c->resolved = RESOLVE_ANSWER;
                return rc;
            }
            if (d.kind == ASK_NONE) { /* a building whose flats share its bins, or nothing to ask */
                c->resolved = RESOLVE_ANSWER;
                return 0;
            }
            tries = asks = 0;
            if (pend) { /* asked again after another intent: keep the count */
                tries = attr_int(pend, "tries");
                asks = attr_int(pend, "asks");
            }
        }
    }
    if (uprn) {
        rc = lookup_uprn_txn(s, txn, uprn, c->today, SKILL_DAYS, res, err, errn);
        if (rc)
            return rc;
        c->resolved = res->match == AM_EXACT ? RESOLVE_ANSWER : RESOLVE_ASKED;
        if (c->resolved == RESOLVE_ASKED) /* the property went away since: ask as if new */
            reask(c, pend ? pend : json_object_get(c->attrs, "address"), "Sorry, I couldn't find that address.", 1);
        return 0;
    }
    if (asks + 1 > MAX_ASKS) {
        c->resolved = RESOLVE_ASKED;
        give_up(c);
        return 0;
    }
    c->resolved = RESOLVE_ASKED;
    if (d.kind == ASK_WHICH)
        ask_which(c, d.intro, &d.o, tries, asks + 1);
    else
        ask(c, d.kind == ASK_FLAT ? "flat" : "house", d.intro, d.prompt, &d.o, tries, asks + 1);
    return 0;
}
