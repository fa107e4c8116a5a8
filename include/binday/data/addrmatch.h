/* addrmatch.h - matching a typed address (Alexa Device Address API fields) to
 * the properties of one postcode.
 *
 * Pure functions over untrusted bytes: addrmatch_prepare() normalises the
 * input (postcode, country, tokens of the free-text lines) into a query;
 * addrmatch_match() scores a candidate list (the properties of the query's
 * postcode, from the store) and decides exact / ambiguous / building / none.
 * "outside" is decided by prepare (not GB, not a UK postcode) or by the caller
 * (postcode not in the district); "postcode" by the caller, which knows
 * whether every property in the postcode shares the same rounds.
 * No allocation; all buffers are bounded (long inputs are truncated).
 */
#ifndef BINDAY_ADDRMATCH_H
#define BINDAY_ADDRMATCH_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/postcode.h"
#include "binday/data/records.h"

typedef enum {
    AM_EXACT = 0,
    AM_AMBIGUOUS,
    AM_BUILDING,
    AM_POSTCODE,
    AM_NONE,
    AM_OUTSIDE
} am_kind_t;

const char *addrmatch_kind_name(am_kind_t k); /* "exact", "ambiguous", ... */

/* The Device Address API fields; any pointer may be NULL (absent). */
typedef struct addrmatch_input {
    const uint8_t *line[3];
    size_t line_len[3];
    const uint8_t *city;
    size_t city_len;
    const uint8_t *postcode;
    size_t postcode_len;
    const uint8_t *country;
    size_t country_len;
} addrmatch_input_t;

#define AM_MAX_TOKENS 32
#define AM_TOKEN_LEN 24

typedef struct am_token {
    char s[AM_TOKEN_LEN];
    uint8_t len;
    uint8_t kind;   /* internal: word, number, range, flat marker */
    char alt[6];    /* query words only: the street type a misspelt word stands
                     * for ("STRET" -> "ST"), "" when none; s keeps the word as
                     * typed so it still matches a street really named so */
} am_token_t;

typedef struct addrmatch_query {
    char postcode[POSTCODE_MAX]; /* normalised; "" when absent/invalid */
    am_token_t tok[AM_MAX_TOKENS];
    size_t n_tok;
} addrmatch_query_t;

/* Fill q from the input. Returns -1 when matching should go on (q->postcode
 * is a valid UK postcode), or the final outcome: AM_OUTSIDE (a country other
 * than GB, or a non-UK postal code such as Amazon's US test address 20146) or
 * AM_NONE (no usable postcode). */
int addrmatch_prepare(const addrmatch_input_t *in, addrmatch_query_t *q);

/* One property of the postcode (strings need not be NUL-terminated). */
typedef struct addrmatch_cand {
    uint64_t uprn, parent_uprn;
    rec_str_t saon, paon, street, locality, town;
} addrmatch_cand_t;

#define AM_MAX_RESULT 10

typedef struct addrmatch_result {
    am_kind_t kind;         /* AM_EXACT, AM_AMBIGUOUS, AM_BUILDING or AM_NONE */
    size_t best;            /* AM_EXACT: index of the property */
    uint64_t building_uprn; /* AM_BUILDING: the parent UPRN */
    size_t idx[AM_MAX_RESULT]; /* AM_AMBIGUOUS: candidates, best first */
    size_t n_idx;
    int score;              /* best score (diagnostics) */
} addrmatch_result_t;

void addrmatch_match(const addrmatch_query_t *q, const addrmatch_cand_t *c, size_t n,
                     addrmatch_result_t *r);

/* Tokenise one string the way queries and candidates are (for tests).
 * Returns the number of tokens appended to tok (at most max). */
size_t addrmatch_tokenize(const uint8_t *s, size_t len, am_token_t *tok, size_t max);

#endif
