/* skill.h - the conversation: turns a verified Alexa request into the answer
 * a resident hears.
 *
 * Reads the device address (and, for a greeting, the given name) fresh from
 * Amazon's APIs on every request that needs it, asynchronously on the thread's
 * loop; matches it to a property; answers from the collection calendar. The
 * only thing remembered about a resident is which property they chose when an
 * address matched several (keyed by a pseudonymous user id and a hash of the
 * address, see choice.h). Independent of HTTP: the caller hands in the parsed
 * envelope and gets the response body back.
 */
#ifndef BINDAY_SKILL_H
#define BINDAY_SKILL_H

#include <jansson.h>
#include <stddef.h>

#include "binday/http/outbound.h"
#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

typedef struct skill_conf {
    store_t *store;          /* the process's store (borrowed) */
    const secret_key_t *user_key; /* for pseudonymous user ids (borrowed) */
    int fixed_today;         /* days since epoch, or 0 for the real Europe/London date */
    privacy_t *privacy;      /* remembered choices, transcripts, erasure on a 403 (borrowed) */
    struct transcript_queue *transcripts; /* turn records go here when set, else written directly */
    const struct linkmail_conf *mail; /* emailed links (linkmail.h); NULL when email is not configured */
    int alerts;              /* evening-before alerts configured (alerts.h) */
} skill_conf_t;

typedef struct skill_thread skill_thread_t;

/* One per loop thread. The conf and ob are borrowed and must outlive it. */
skill_thread_t *skill_thread_new(const skill_conf_t *conf, outbound_t *ob);
/* Cancels calls in flight without running their callbacks. */
void skill_thread_free(skill_thread_t *st);

/* The answer: HTTP status (200) and a malloc'd JSON body the callee must free. */
typedef void (*skill_done_cb)(void *ud, int http_status, char *body, size_t len);

typedef struct skill_call skill_call_t;

/* Handle one verified request. Takes ownership of `envelope`. Answers that need
 * no Amazon API call the callback synchronously and return NULL; otherwise the
 * callback runs exactly once later on the loop, unless skill_cancel is called. */
skill_call_t *skill_handle(skill_thread_t *st, json_t *envelope, skill_done_cb cb, void *ud);
void skill_cancel(skill_call_t *call);

#endif
