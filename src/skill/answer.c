/* answer.c - owns reading what a resident said in answer to "which property
 * is yours?" (the words of a slot value: untrusted bytes from the request).
 * Pure functions, no allocation; fuzzed by tests/fuzz/fuzz_answer.c.
 *
 * Number words become digits ("twenty one" -> "21", "one hundred and two"
 * -> "102"), a lone letter after a number is its suffix ("fourteen b" ->
 * "14b"), everything is lower-cased; "the second one" is an ordinal but
 * "first floor flat" is not.
 */
#include "binday/skill/answer.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- words ---------------------------------------------------------------------- */

static int small_number(const char *w)
{
    static const char *units[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                  "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                  "seventeen", "eighteen", "nineteen"};
    static const char *tens[] = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    for (int i = 0; i < 20; i++)
        if (strcmp(w, units[i]) == 0)
            return i;
    for (int i = 0; i < 8; i++)
        if (strcmp(w, tens[i]) == 0)
            return 20 + 10 * i;
    return -1;
}

/* 1-based position of an ordinal word ("second" = 2, "last" = -1), 0 when none. */
static int ordinal_word(const char *w)
{
    static const char *ords[] = {"first", "second", "third", "fourth", "fifth", "sixth"};
    for (int i = 0; i < 6; i++)
        if (strcmp(w, ords[i]) == 0)
            return i + 1;
    static const char *nums[] = {"1st", "2nd", "3rd", "4th", "5th", "6th"};
    for (int i = 0; i < 6; i++)
        if (strcmp(w, nums[i]) == 0)
            return i + 1;
    return strcmp(w, "last") == 0 ? -1 : 0;
}


/* Lower-case words of what the resident said, number words as digits
 * ("twenty one" -> "21", "one hundred and two" -> "102"), a lone letter
 * after a number glued to it ("fourteen a" -> "14a"). */
void answer_words(const uint8_t *s, size_t len, answer_words_t *out)
{
    answer_words_t raw;
    raw.n = 0;
    size_t l = 0;
    for (size_t k = 0;; k++) {
        int end = k >= len;
        unsigned char ch = end ? 0 : s[k];
        /* ASCII letters and digits only (isalnum in the C locale): any other
         * byte, NUL included, separates words */
        if (!end && ch < 0x80 && (isalnum(ch) || ch == '\'')) {
            if (ch != '\'' && l < 23)
                raw.w[raw.n][l++] = (char)tolower(ch);
            continue;
        }
        if (l) {
            raw.w[raw.n][l] = 0;
            l = 0;
            if (++raw.n == ANSWER_MAX_WORDS)
                break;
        }
        if (end)
            break;
    }
    out->n = 0;
    for (size_t i = 0; i < raw.n && out->n < ANSWER_MAX_WORDS; i++) {
        int v = small_number(raw.w[i]);
        if (v == 1 && i > 0 && ordinal_word(raw.w[i - 1]))
            v = -1; /* "the second one" */
        if (v >= 0) {
            int total = 0, cur = v;
            size_t j = i + 1;
            for (; j < raw.n; j++) {
                int u = small_number(raw.w[j]);
                if (strcmp(raw.w[j], "hundred") == 0 && cur > 0 && cur < 10) {
                    cur *= 100;
                } else if (strcmp(raw.w[j], "and") == 0 && cur >= 100 && j + 1 < raw.n &&
                           small_number(raw.w[j + 1]) > 0) {
                    continue;
                } else if (u > 0 && u < 10 && cur % 100 >= 20 && cur % 10 == 0) {
                    cur += u; /* twenty one */
                } else if (u > 0 && u < 100 && cur % 100 == 0 && cur >= 100) {
                    cur += u; /* one hundred and two */
                } else {
                    break;
                }
            }
            total += cur;
            snprintf(out->w[out->n++], 24, "%d", total);
            i = j - 1;
            continue;
        }
        /* "14 a" / "fourteen a": the house number's suffix */
        if (strlen(raw.w[i]) == 1 && raw.w[i][0] >= 'a' && raw.w[i][0] <= 'h' && out->n > 0 &&
            isdigit((unsigned char)out->w[out->n - 1][0]) && !isalpha((unsigned char)
                                                                         out->w[out->n - 1][strlen(out->w[out->n - 1]) - 1])) {
            size_t pl = strlen(out->w[out->n - 1]);
            if (pl < 22) {
                out->w[out->n - 1][pl] = raw.w[i][0];
                out->w[out->n - 1][pl + 1] = 0;
            }
            continue;
        }
        /* raw words are at most 23 bytes and NUL-terminated */
        size_t wl = strnlen(raw.w[i], sizeof(raw.w[i]) - 1);
        memcpy(out->w[out->n], raw.w[i], wl);
        out->w[out->n++][wl] = 0;
    }
}

int answer_is_number(const char *w)
{
    return isdigit((unsigned char)w[0]);
}

/* Words that only carry the answer ("it's", "my flat is"): not part of an address. */
int answer_is_filler(const char *w)
{
    static const char *f[] = {"it", "its", "is", "my", "i", "im", "am", "live", "at", "in", "on", "the", "please",
                              "address", "called", "number", "no", "we", "are", "were", NULL};
    for (size_t i = 0; f[i]; i++)
        if (strcmp(w, f[i]) == 0)
            return 1;
    return 0;
}

/* "the second one" -> 2, "the last one" -> -1; 0 when the answer is not an
 * ordinal ("first floor flat" names a flat, not a position). */
int answer_ordinal(const answer_words_t *w)
{
    int ord = 0;
    for (size_t i = 0; i < w->n; i++) {
        int o = ordinal_word(w->w[i]);
        if (o == 0)
            continue;
        if (i + 1 < w->n && strcmp(w->w[i + 1], "floor") == 0)
            return 0;
        ord = o;
    }
    if (ord == 0)
        return 0;
    /* only position words and fillers: "the second", "second one please" */
    for (size_t i = 0; i < w->n; i++)
        if (!ordinal_word(w->w[i]) && !answer_is_filler(w->w[i]) && strcmp(w->w[i], "one") != 0 &&
            strcmp(w->w[i], "option") != 0)
            return 0;
    return ord;
}


/* Which offered option did the answer name? Index, or -1. Numbers must agree
 * ("flat 3" never picks Flat 13); the most words in common wins; a tie is -1. */
int answer_pick(const answer_words_t *u, const char *const *labels, size_t n)
{
    int best = -1, best_score = 0, tie = 0;
    for (size_t i = 0; i < n; i++) {
        const char *label = labels[i];
        if (!label)
            continue;
        answer_words_t l;
        answer_words_str(label, &l);
        int score = 0, numbers_ok = 1;
        for (size_t a = 0; a < u->n; a++) {
            int found = 0;
            for (size_t b = 0; b < l.n; b++)
                found |= strcmp(u->w[a], l.w[b]) == 0;
            if (found && !answer_is_filler(u->w[a]))
                score += answer_is_number(u->w[a]) ? 3 : 1;
            else if (!found && answer_is_number(u->w[a]))
                numbers_ok = 0;
        }
        /* every number of the label must have been said, too ("flat 3" is not "flat 3, 12 high st" when
         * 12 is another building's) unless the answer has none */
        if (!numbers_ok || score == 0)
            continue;
        if (score > best_score) {
            best = (int)i;
            best_score = score;
            tie = 0;
        } else if (score == best_score) {
            tie = 1;
        }
    }
    return tie ? -1 : best;
}


/* The house number typed ("14", "16a"), from the answer or the address; "" when none. */
void answer_house_number_str(const char *text, char *dst, size_t n)
{
    answer_words_t w;
    answer_words_str(text ? text : "", &w);
    dst[0] = 0;
    for (size_t i = 0; i < w.n; i++)
        if (answer_is_number(w.w[i]) && !(i > 0 && (strcmp(w.w[i - 1], "flat") == 0 ||
                                                  strcmp(w.w[i - 1], "apartment") == 0))) {
            snprintf(dst, n, "%s", w.w[i]);
            return;
        }
}

void answer_words_str(const char *s, answer_words_t *out)
{
    answer_words((const uint8_t *)(s ? s : ""), s ? strlen(s) : 0, out);
}
