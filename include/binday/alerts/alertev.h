/* alertev.h - the pure parts of the evening-before alert (docs/alerts.md):
 * the AMAZON.TrashCollectionAlert.Activated event body, its referenceId,
 * the schema's garbageTypes and the services mapped to them, when an alert
 * is due, and the parsing and classification of Amazon's answers.
 *
 * Everything here is a pure function of its arguments (no clock, no I/O), so
 * unit tests and fuzz targets call exactly what the sender calls. Returned
 * strings are malloc'd and freed by the caller with free().
 */
#ifndef BINDAY_ALERTEV_H
#define BINDAY_ALERTEV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "binday/util/secret.h"

/* The schema's garbageTypes (alexa.md), one bit each in a uint32_t. */
#define ALERTEV_N_GARBAGE 16
/* "BOTTLES".. for bit i, NULL past the end. */
const char *alertev_garbage_name(int i);
/* Bit index of a garbage type name (exact, upper case), or -1. */
int alertev_garbage_index(const char *s, size_t len);

/* Which garbageTypes a service stands for (config key alerts_garbage_types:
 * {"refuse": ["LANDFILL"], ...}). A service missing from the map is left out
 * of alerts (never guessed). */
#define ALERTEV_MAP_MAX 64
#define ALERTEV_SERVICE_MAX 63
typedef struct alertev_map {
    size_t n;
    struct {
        char service_id[ALERTEV_SERVICE_MAX + 1];
        uint32_t types;
    } e[ALERTEV_MAP_MAX];
} alertev_map_t;
/* Fill *m from the config's JSON object (NULL: an empty map). 0, or -1 with
 * a message naming the bad entry. */
int alertev_map_from_json(const json_t *obj, alertev_map_t *m, char *err, size_t err_size);
/* The types of one service (0 when unmapped). */
uint32_t alertev_map_get(const alertev_map_t *m, const char *service_id, size_t len);

/* referenceId: 32 lower-case hex digits (Amazon allows [A-Za-z0-9~], 1-100),
 * a keyed hash of the subscriber's pseudonymous id, the collection day and
 * the sorted set of service ids. Deterministic, so a resend after a crash
 * carries the same id and Amazon drops the duplicate; keyed, so it names no
 * one. `service_ids` is not reordered (the function sorts a copy). */
#define ALERTEV_REF_LEN SECRET_HEX_LEN
void alertev_reference_id(const secret_key_t *key, const char *user_hex, int day, const char *const *service_ids,
                          size_t n, char out[ALERTEV_REF_LEN + 1]);

/* One alert. */
typedef struct alertev {
    const char *user_id;      /* the Alexa userId (relevantAudience) */
    const char *reference_id; /* alertev_reference_id */
    time_t now;               /* the event's timestamp */
    int collection_day;       /* days since epoch (collectionDayOfWeek) */
    uint32_t garbage_types;   /* non-zero */
} alertev_t;

/* The Unicast AMAZON.TrashCollectionAlert.Activated body (alexa.md): a
 * malloc'd JSON text (*len its length), or NULL with a message (bad input:
 * no types, a user id or reference that is empty or too long). expiryTime is
 * noon UTC of the collection day, at most 24 hours and at least 5 minutes
 * after the timestamp (Amazon's bounds). */
char *alertev_build(const alertev_t *ev, size_t *len, char *err, size_t err_size);

/* "HH:MM" (00:00-23:59) -> minute of the day. 0 or -1. */
int alertev_parse_hhmm(const char *s, size_t len, int *minute);
/* "YYYY-MM-DDTHH:MM", Europe/London wall-clock time -> Unix time. 0 or -1. */
int alertev_parse_as_of(const char *s, size_t len, time_t *out);
/* Whether alerts are due at `now`: from send_minute (Europe/London) until
 * midnight, alerts go for the collections of the next day (*collection_day).
 * Returns 1 (due), 0 (before the send time: nothing due). */
int alertev_due(time_t now, int send_minute, int *collection_day);

/* Login with Amazon's token answer (200 body): {"access_token", "expires_in",
 * ...}. The token must be 1..ALERTEV_TOKEN_MAX bytes of header-safe
 * characters (it goes into an Authorization header); expires_in 1..86400
 * (absent: 3600). 0 (tok NUL-terminated), or -1 with a message that never
 * quotes the body. Pure; fuzzed (tests/fuzz/fuzz_alertev.c). */
#define ALERTEV_TOKEN_MAX 2048
int alertev_parse_token(const uint8_t *body, size_t len, char *tok, size_t tok_cap, long *expires_in, char *err,
                        size_t err_size);

/* What an answer of the proactive events API means for one alert. */
typedef enum {
    ALERTEV_SENT,      /* 2xx: accepted */
    ALERTEV_DUPLICATE, /* 409: Amazon already has this referenceId: as good as sent */
    ALERTEV_RETRY,     /* 429, 5xx, no answer: back off and try again */
    ALERTEV_TOKEN,     /* 401: the token is stale: fetch a new one, then retry */
    ALERTEV_USER_GONE, /* 403: not allowed for this user: stop their alerts */
    ALERTEV_FAILED     /* anything else (400, 404...): this alert is not retried */
} alertev_outcome_t;
/* status 0 = no HTTP answer (connection, TLS, timeout). */
alertev_outcome_t alertev_classify(long status);
const char *alertev_outcome_name(alertev_outcome_t o);
/* The delay before retry number `attempt` (1 = the first retry): base
 * doubling, capped at 60 s. */
long alertev_backoff_ms(long base_ms, int attempt);

#endif
