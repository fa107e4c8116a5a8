/* calfeed.h - personal calendar feeds: tokens, links and feed bodies for
 * GET /calendar/{token}.ics (the route itself is calfeed_http.h).
 *
 * The token names one property and nothing else. It is the property's UPRN
 * and a 64-bit keyed tag, encrypted as one AES-128 block with a key from the
 * data directory's "calendar.key" and written as 32 lower-case hex digits:
 * unguessable (forging one means hitting a 64-bit tag), stable for as long as
 * the key file is kept, reveals nothing without the key, and maps back to the
 * property without any index (docs/calendar-feed.md explains the choice).
 *
 * The parsers of untrusted bytes (token, path, query, If-None-Match) are pure
 * functions of (const uint8_t *, size_t), unit tested and fuzzed.
 */
#ifndef BINDAY_CALFEED_H
#define BINDAY_CALFEED_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/lookup.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

#define CALFEED_TOKEN_LEN 32
#define CALFEED_KEY_FILE "calendar.key"
#define CALFEED_DAYS_BACK 31   /* one month back ... */
#define CALFEED_DAYS_AHEAD 365 /* ... to twelve months ahead */
#define CALFEED_MAX_EVENTS 1500
#define CALFEED_URL_MAX 1024

/* ---- pure parts ---- */

/* The token of a property (32 hex digits + NUL into out). */
void calfeed_token_make(const secret_key_t *key, uint64_t uprn, char out[CALFEED_TOKEN_LEN + 1]);
/* 0 and *uprn when s is a token made with key; -1 otherwise (constant-time tag check). */
int calfeed_token_parse(const secret_key_t *key, const uint8_t *s, size_t len, uint64_t *uprn);
/* Split a request path "/calendar/TOKEN.ics" (no query): 0 and the token
 * bytes, or -1 when the path has any other shape. */
int calfeed_path_token(const uint8_t *path, size_t len, const uint8_t **tok, size_t *tok_len);
/* The query string (without '?'): 0 = no alarm asked, 1 = *minutes set from
 * alarm=HH:MM (':' may be percent-encoded as %3A), -1 = invalid (a malformed,
 * repeated or out-of-range alarm). Other parameters are ignored. */
int calfeed_query_alarm(const uint8_t *q, size_t len, int *minutes);
/* Does an If-None-Match header value match etag (a quoted strong tag)?
 * Handles "*", lists, and weak W/ tags (weak comparison, RFC 9110 §13.1.2). */
int calfeed_etag_matches(const uint8_t *hdr, size_t len, const char *etag);

/* The links handed to residents for one token. */
typedef struct calfeed_links {
    char https[CALFEED_URL_MAX];   /* https://HOST/calendar/TOKEN.ics */
    char webcal[CALFEED_URL_MAX];  /* webcal://HOST/calendar/TOKEN.ics */
    char google[CALFEED_URL_MAX];  /* https://calendar.google.com/calendar/render?cid=... */
    char outlook[CALFEED_URL_MAX]; /* https://outlook.office.com/calendar/addfromweb?url=... */
} calfeed_links_t;
/* public_url: "https://host[:port][/base]" (a trailing '/' is ignored).
 * Returns 0, or -1 when it is not an https URL or a link would not fit. */
int calfeed_links(const char *public_url, const char *token, calfeed_links_t *out);

/* "Black bin - recycling" / "Food caddy - food waste" for a collection. */
void calfeed_summary(const lookup_collection_t *c, char *dst, size_t n);

/* ---- from the store ---- */

/* The feed of a property for [today - DAYS_BACK, today + DAYS_AHEAD], read in
 * the caller's read txn. `scratch` is a lookup_result_t the caller owns.
 * alarm_minutes: -1 or minutes after midnight (the evening before).
 * Returns a malloc'd body (caller frees) with *len; NULL with *found = 0 when
 * the property is not stored; NULL with *found = 1 on errors (message in err). */
char *calfeed_build(store_t *s, MDB_txn *txn, lookup_result_t *scratch, uint64_t uprn, int today,
                    int alarm_minutes, long long dtstamp, unsigned sequence_base, size_t *len,
                    int *found, char *err, size_t err_size);

#endif
