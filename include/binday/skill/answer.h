/* answer.h - the words of a resident's answer to the address question
 * ("flat three priory house", "the second one", "number twenty"), read from
 * an Alexa slot value. Pure functions over untrusted bytes; no allocation.
 */
#ifndef BINDAY_SKILL_ANSWER_H
#define BINDAY_SKILL_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#define ANSWER_MAX_WORDS 24

typedef struct answer_words {
    char w[ANSWER_MAX_WORDS][24]; /* lower case, NUL-terminated; longer words are cut */
    size_t n;
} answer_words_t;

/* Split s (any bytes; letters and digits make words, apostrophes are
 * dropped) into words, number words as digits. At most ANSWER_MAX_WORDS. */
void answer_words(const uint8_t *s, size_t len, answer_words_t *out);
/* The same for a NUL-terminated string (NULL = empty). */
void answer_words_str(const char *s, answer_words_t *out);

/* Does the word start with a digit? */
int answer_is_number(const char *w);
/* A word that only carries the answer ("it's", "my", "number", "at"). */
int answer_is_filler(const char *w);
/* "the second one" -> 2, "the last" -> -1, 0 when the answer is not only a
 * position ("first floor flat" names a flat). */
int answer_ordinal(const answer_words_t *w);
/* Which label did the answer name? Its index, or -1 (none, or a tie).
 * Numbers must agree ("flat 3" never picks Flat 13); the most words in
 * common wins, numbers weighing three. */
int answer_pick(const answer_words_t *said, const char *const *labels, size_t n);
/* The house number said ("14", "16a"), not a flat's number; "" when none. */
void answer_house_number_str(const char *text, char *dst, size_t n);

#endif
