/* utterance.h - a small stand-in for Alexa's language understanding, for
 * `binday ask`: matches typed text against the sample utterances of the
 * skill's interaction model (deploy/skill-package/interactionModels/custom/
 * en-GB.json) and fills slots the way Alexa would: custom slot types resolved
 * to their value ids (as entity resolution does), AMAZON.DATE phrases turned
 * into ISO values ("tomorrow" -> "2026-12-01", "this week" -> "2026-W49"),
 * AMAZON.SearchQuery taking the words as spoken.
 *
 * A developer tool, not a parser of untrusted input: the model is the
 * project's own file. The model object owns its parsed JSON; free it with
 * utterance_model_free(). Results are plain fixed-size copies.
 */
#ifndef BINDAY_UTTERANCE_H
#define BINDAY_UTTERANCE_H

#include <stddef.h>

typedef struct utterance_model utterance_model_t;

utterance_model_t *utterance_model_load(const char *path, char *err, size_t err_size);
utterance_model_t *utterance_model_parse(const char *json, size_t len, char *err, size_t err_size);
void utterance_model_free(utterance_model_t *m);
/* The invocation name from the model ("breckland bins"). */
const char *utterance_model_invocation(const utterance_model_t *m);

#define UTTERANCE_MAX_SLOTS 4

typedef struct utterance_slot {
    char name[48];
    char type[64];
    char value[160];   /* words as heard, or the AMAZON.DATE value */
    char id[64];       /* entity-resolution id for custom types ("" = none) */
    char resolved[96]; /* the value's canonical name ("" = none) */
} utterance_slot_t;

typedef enum {
    UTTERANCE_INTENT = 0,      /* an IntentRequest for `intent` */
    UTTERANCE_LAUNCH,          /* "open breckland bins": a LaunchRequest */
    UTTERANCE_SESSION_END      /* "exit", "quit": SessionEndedRequest USER_INITIATED */
} utterance_kind_t;

typedef struct utterance_result {
    utterance_kind_t kind;
    char intent[64];   /* AMAZON.FallbackIntent when nothing matched */
    utterance_slot_t slots[UTTERANCE_MAX_SLOTS];
    size_t n_slots;
} utterance_result_t;

/* Match `text` (as a person would type it, with or without "Alexa, ask
 * breckland bins ..."). `today` is a day number (civil.h) for date phrases.
 * Returns 0 (always fills *out; an unmatched text gives the Fallback intent). */
int utterance_match(const utterance_model_t *m, const char *text, int today, utterance_result_t *out);

/* AMAZON.DATE value for a date phrase ("today", "tomorrow", "on tuesday",
 * "next tuesday", "this week", "next week", "this weekend", "the day after
 * tomorrow", "2026-12-02"). Returns 0 and writes dst, or -1. */
int utterance_date_value(const char *phrase, int today, char *dst, size_t dst_size);

#endif
