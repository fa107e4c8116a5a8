/* envelope.h - the minimal, pre-trust reading of an Alexa request body.
 *
 * Before a request is trusted, verification needs exactly three fields from
 * the body: request.type, request.timestamp and the applicationId. They are
 * read from the SAME bytes whose signature is checked (the body is parsed
 * once, here; the parsed tree is what the caller gets on success). Pure
 * functions over untrusted bytes; see docs/verification.md.
 */
#ifndef BINDAY_ENVELOPE_H
#define BINDAY_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/alexa/verify_status.h"

/* Largest body accepted (Alexa sends a few KB). */
#define ENVELOPE_MAX_BYTES (128 * 1024)
/* Allowed clock difference for ordinary requests, both directions (ms). */
#define ENVELOPE_WINDOW_MS (150 * 1000LL)
/* How old an AlexaSkillEvent.* may be (ms); the future bound stays ENVELOPE_WINDOW_MS. */
#define ENVELOPE_EVENT_WINDOW_MS (3600 * 1000LL)

typedef struct envelope {
    json_t *root;            /* owned: json_decref(envelope.root) when done */
    const char *type;        /* request.type, NUL-terminated, owned by root; never NULL on success */
    size_t type_len;
    const char *timestamp;   /* request.timestamp or NULL when absent / not a string */
    size_t timestamp_len;
    const char *app_id;      /* the applicationId, or NULL when absent */
    size_t app_id_len;
} envelope_t;

/* Parse `body` (jansson json_loadb; duplicate keys rejected, NUL in strings
 * rejected). On success returns VERIFY_OK and fills *env (caller must
 * json_decref(env->root)). Fails with VERIFY_E_BAD_ENVELOPE (not an object,
 * no request.type string, too large, invalid JSON) or VERIFY_E_WRONG_SKILL
 * (context.System.application.applicationId and
 * session.application.applicationId both present but different: two readings).
 * On failure env->root is NULL and nothing needs freeing. */
verify_status_t envelope_parse(const uint8_t *body, size_t len, envelope_t *env);

/* Parse an ISO 8601 UTC timestamp as Alexa sends it:
 * YYYY-MM-DDTHH:MM:SS[.fraction]Z (1-9 fraction digits; 'Z' required; years
 * 1970-9999). Returns 0 and sets *ms (milliseconds since the Unix epoch,
 * fraction truncated), or -1. */
int envelope_parse_timestamp(const uint8_t *s, size_t len, int64_t *ms);

/* Is a request of type `type` stamped `ts_ms` acceptable at `now_ms`?
 * Ordinary requests: |now - ts| <= 150 s. Types starting "AlexaSkillEvent.":
 * up to 3600 s old, at most 150 s in the future. Returns VERIFY_OK or
 * VERIFY_E_TIMESTAMP_SKEW. */
verify_status_t envelope_check_window(const char *type, size_t type_len, int64_t ts_ms, int64_t now_ms);

/* True when `type` starts with "AlexaSkillEvent.". */
int envelope_is_event(const char *type, size_t type_len);

/* Is app_id exactly one of ids[0..n)? (byte comparison; NULL app_id -> no) */
int envelope_app_id_allowed(const char *app_id, size_t app_id_len, const char *const *ids, size_t n);

#endif
