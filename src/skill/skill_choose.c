/* skill_choose.c - owns the "which one is yours?" dialogue: asking when the
 * device address matches several properties, and understanding the answer
 * ("flat two", "the second one") from ChooseAddressIntent's Property slot.
 */
#include "skill_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void skill_answer_ambiguous(struct skill_call *c, const lookup_result_t *res)
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
    skill_card_from(&sp, card, sizeof(card));
    speech_buf_t rp;
    speech_buf_init(&rp);
    skill_say(&rp, reprompt);
    alexa_response_t r = {0};
    r.ssml = sp.s;
    r.reprompt_ssml = rp.s;
    r.card_title = "Which property?";
    r.card_content = card;
    r.session_attributes = attrs;
    r.should_end_session = ALEXA_END_FALSE;
    skill_finish(c, &r);
    json_decref(attrs);
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

int skill_handle_choose(struct skill_call *c)
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
        skill_finish(c, &r);
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
