/* test_answer.c - reading a resident's answer to "which property is yours?"
 * (answer.h): number words, suffixes, ordinals, picking an offered label. */
#include <stdio.h>
#include <string.h>

#include "binday/skill/answer.h"
#include "tap.h"

static void joined(const char *in, char *out, size_t n)
{
    answer_words_t w;
    answer_words_str(in, &w);
    out[0] = 0;
    for (size_t i = 0; i < w.n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? " " : "", w.w[i]);
    }
}

static void test_words(void)
{
    char b[256];
    joined("Flat Three, Priory House", b, sizeof(b));
    is_str(b, "flat 3 priory house", "words lower-cased, number words as digits");
    joined("number twenty one", b, sizeof(b));
    is_str(b, "number 21", "twenty one is 21");
    joined("one hundred and two High Street", b, sizeof(b));
    is_str(b, "102 high street", "one hundred and two is 102");
    joined("fourteen b", b, sizeof(b));
    is_str(b, "14b", "a lone letter after a number is its suffix");
    joined("14 a", b, sizeof(b));
    is_str(b, "14a", "digits and a letter too");
    joined("it's St Mary's", b, sizeof(b));
    is_str(b, "its st marys", "apostrophes dropped");
    joined("the second one", b, sizeof(b));
    is_str(b, "the second one", "'one' after an ordinal stays a word");
    joined("", b, sizeof(b));
    is_str(b, "", "nothing said");
    answer_words_t w;
    answer_words((const uint8_t *)"a\0b", 3, &w);
    is_int((long)w.n, 2, "a NUL byte separates words");
    char many[2000] = "";
    for (int i = 0; i < 100; i++)
        strcat(many, "word ");
    answer_words_str(many, &w);
    is_int((long)w.n, ANSWER_MAX_WORDS, "at most ANSWER_MAX_WORDS words");
    answer_words_str("supercalifragilisticexpialidocious", &w);
    is_int((long)strlen(w.w[0]), 23, "long words are cut");
}

static void test_ordinal(void)
{
    answer_words_t w;
    answer_words_str("the second one", &w);
    is_int(answer_ordinal(&w), 2, "the second one");
    answer_words_str("first", &w);
    is_int(answer_ordinal(&w), 1, "first");
    answer_words_str("the last one please", &w);
    is_int(answer_ordinal(&w), -1, "the last one");
    answer_words_str("first floor flat", &w);
    is_int(answer_ordinal(&w), 0, "first floor flat is a flat, not a position");
    answer_words_str("the first house on the left", &w);
    is_int(answer_ordinal(&w), 0, "other words: not only a position");
    answer_words_str("the 2nd", &w);
    is_int(answer_ordinal(&w), 2, "2nd");
}

static void test_pick(void)
{
    const char *labels[] = {"Flat 3 in Wensum Court", "Flat 3 in Priory House", "Flat 13 in Priory House"};
    answer_words_t w;
    answer_words_str("flat three priory house", &w);
    is_int(answer_pick(&w, labels, 3), 1, "'flat three priory house' picks Priory House's flat 3");
    answer_words_str("it's wensum court", &w);
    is_int(answer_pick(&w, labels, 3), 0, "the building alone, when only one flat 3 is in it");
    answer_words_str("flat three", &w);
    is_int(answer_pick(&w, labels, 3), -1, "flat 3 alone: a tie, not a guess");
    answer_words_str("flat thirteen", &w);
    is_int(answer_pick(&w, labels, 3), 2, "numbers must agree: 13 is not 3");
    answer_words_str("the moon", &w);
    is_int(answer_pick(&w, labels, 3), -1, "nothing in common");
    const char *near[] = {"14A Priory Road", "14B Priory Road"};
    answer_words_str("fourteen b", &w);
    is_int(answer_pick(&w, near, 2), 1, "'fourteen b' picks 14B");
    const char *withnull[] = {NULL, "Rose Cottage"};
    answer_words_str("rose cottage", &w);
    is_int(answer_pick(&w, withnull, 2), 1, "a missing label is skipped");
}

static void test_house_number(void)
{
    char n[24];
    answer_house_number_str("14 Priory Road", n, sizeof(n));
    is_str(n, "14", "the house number");
    answer_house_number_str("Flat 3, 12 High Street", n, sizeof(n));
    is_str(n, "12", "a flat's number is not the house number");
    answer_house_number_str("Rose Cottage", n, sizeof(n));
    is_str(n, "", "no number");
    answer_house_number_str("sixteen a", n, sizeof(n));
    is_str(n, "16a", "with its suffix");
}

int main(void)
{
    test_words();
    test_ordinal();
    test_pick();
    test_house_number();
    return done_testing();
}
