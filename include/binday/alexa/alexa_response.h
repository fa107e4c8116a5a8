/* alexa_response.h - builds the JSON response envelope Alexa expects
 * (alexa.md §3) with jansson, within Amazon's size limits.
 *
 * The caller describes the answer in an alexa_response_t (all pointers
 * borrowed for the duration of the call); alexa_response_build() returns a
 * malloc'd, NUL-terminated JSON text the caller frees with free(). Unset
 * fields are omitted, never sent as null.
 */
#ifndef BINDAY_ALEXA_RESPONSE_H
#define BINDAY_ALEXA_RESPONSE_H

#include <jansson.h>
#include <stddef.h>

/* Amazon's limits: the serialized response and the outputSpeech text. */
#define ALEXA_RESPONSE_MAX_BYTES (24 * 1024)
#define ALEXA_RESPONSE_MAX_SPEECH 8000
/* Card content is shown in the Alexa app; keep it readable and bounded. */
#define ALEXA_RESPONSE_MAX_CARD 4000

typedef enum {
    ALEXA_END_OMIT = -1, /* no shouldEndSession key */
    ALEXA_END_FALSE = 0,
    ALEXA_END_TRUE = 1
} alexa_end_t;

typedef struct alexa_response {
    /* Inner SSML (already escaped; without <speak>), NULL = no outputSpeech.
     * If the whole <speak> element would exceed ALEXA_RESPONSE_MAX_SPEECH, it
     * is cut at the last sentence end outside any tag. */
    const char *ssml;
    const char *reprompt_ssml;       /* NULL = no reprompt */
    /* Simple card: sent when card_title or card_content is set. Plain text:
     * control characters other than newline are removed. */
    const char *card_title;
    const char *card_content;
    /* AskForPermissionsConsent card; takes the place of the Simple card when
     * n_permissions > 0. Card spellings (alexa.md §5), e.g. "read::alexa:device:all:address". */
    const char *const *permissions;
    size_t n_permissions;
    json_t *directives;         /* borrowed array, NULL = none */
    json_t *session_attributes; /* borrowed object, NULL = none */
    alexa_end_t should_end_session;
} alexa_response_t;

/* Build the envelope. Returns the JSON text (*len = its length) or NULL with a
 * message in err (invalid input, or it cannot be made to fit 24 KB even after
 * dropping the card text and shortening the speech). */
char *alexa_response_build(const alexa_response_t *r, size_t *len, char *err, size_t err_size);

/* {"version":"1.0","response":{}} for skill events and SessionEndedRequest.
 * Returns a malloc'd string; NULL only on OOM. */
char *alexa_response_empty(size_t *len);

/* Cut SSML (inner text, no <speak>) in place to at most max bytes at the last
 * '.', '!' or '?' that is followed by a space, a tag or the end and is outside
 * every tag; falls back to the last whole word outside a tag. Returns the new
 * length. Pure; exposed for tests. */
size_t alexa_response_cut_ssml(char *ssml, size_t len, size_t max);

#endif
