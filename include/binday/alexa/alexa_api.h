/* alexa_api.h - Amazon's Customer Profile, Device Address and Progressive
 * Response APIs, called asynchronously through the outbound client
 * (alexa.md §4).
 *
 * Safety rules enforced here, not by callers:
 *  - only https://api.amazonalexa.com, https://api.eu.amazonalexa.com and
 *    https://api.fe.amazonalexa.com (exact match, optional trailing '/');
 *    anything else is refused before any network call;
 *  - the token must be a plain token (RFC 6750 b64token characters, bounded
 *    length): no CR/LF/space/control bytes; it is copied only into the
 *    Authorization header of the call in flight, wiped when the call ends,
 *    and never logged;
 *  - GET carries no body; connect timeout 1 s, total 2.5 s; bodies capped;
 *  - the HTTP status is kept even when the body is not JSON.
 *
 * The pure parts (classification, body parsers, URL building) take
 * (const uint8_t *, size_t) and are unit tested and fuzzed.
 */
#ifndef BINDAY_ALEXA_API_H
#define BINDAY_ALEXA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/http/outbound.h"

#define ALEXA_API_CONNECT_TIMEOUT_MS 1000
#define ALEXA_API_TIMEOUT_MS 2500
#define ALEXA_API_MAX_BODY (16 * 1024)
#define ALEXA_API_MAX_TOKEN 4096
#define ALEXA_API_MAX_DEVICE_ID 512
/* Longest accepted given name / email / address field, in bytes. */
#define ALEXA_API_MAX_TEXT 320
#define ALEXA_API_MAX_FIELD 200

typedef enum {
    ALEXA_API_OK = 0,               /* 200 with a usable body */
    ALEXA_API_NOT_SET,              /* 204: the customer has not set it */
    ALEXA_API_PERMISSION_MISSING,   /* 403 (ACCESS_NOT_REQUESTED or plain) */
    ALEXA_API_DEPLOYMENT_ERROR,     /* 403 FORBIDDEN / "cannot be requested": skill misconfigured */
    ALEXA_API_BAD_TOKEN,            /* 401 */
    ALEXA_API_THROTTLED,            /* 429 */
    ALEXA_API_UNAVAILABLE,          /* 5xx, other status, unusable 200 body, network error, timeout */
    ALEXA_API_REFUSED               /* not called: endpoint/token/device id invalid */
} alexa_api_status_t;

const char *alexa_api_status_name(alexa_api_status_t s);

/* A device address: each field NULL when absent, null or empty; otherwise
 * valid UTF-8 without control characters, at most ALEXA_API_MAX_FIELD bytes.
 * The pointers point into `store_` (the struct is self-contained: copy it
 * with alexa_address_copy, not memcpy). */
typedef struct alexa_address {
    const char *address_line1, *address_line2, *address_line3;
    const char *city, *district_or_county, *state_or_region;
    const char *country_code, *postal_code;
    char store_[8 * (ALEXA_API_MAX_FIELD + 1)];
} alexa_address_t;

void alexa_address_copy(alexa_address_t *dst, const alexa_address_t *src);

/* Classify a response. For 403 the body decides between PERMISSION_MISSING
 * and DEPLOYMENT_ERROR (FORBIDDEN / "cannot be requested"), whether or not it
 * is JSON. err != OUTBOUND_OK -> UNAVAILABLE. 200 -> OK (the body parser may
 * still turn it into UNAVAILABLE). */
alexa_api_status_t alexa_api_classify(outbound_err_t err, long status, const uint8_t *body, size_t len);

/* Parse a 200 body that is a JSON string ("Jane", "jane@example.com") into out
 * (NUL-terminated). Returns 0; 1 when the JSON is null or "" (treat as not
 * set); -1 when invalid (not a JSON string, control characters, over
 * ALEXA_API_MAX_TEXT bytes, or out_size too small). */
int alexa_api_parse_string(const uint8_t *body, size_t len, char *out, size_t out_size);

/* Parse a 200 address body (a JSON object; any field may be null or missing;
 * unknown keys ignored). Returns 0, or -1 when the body is not an object or a
 * field is not a string/null, too long, or has control characters. */
int alexa_api_parse_address(const uint8_t *body, size_t len, alexa_address_t *out);

/* True when endpoint is one of Amazon's three API hosts (see above). */
bool alexa_api_endpoint_ok(const char *endpoint);
/* True when token is usable in a header (non-empty, bounded, token chars only). */
bool alexa_api_token_ok(const char *token);

/* Build the device-address URL for endpoint (validated) and device id
 * (percent-encoded, RFC 3986 unreserved kept). Returns 0 or -1. */
int alexa_api_address_url(char *dst, size_t dst_size, const char *endpoint, const char *device_id);

/* ---- asynchronous calls (on the outbound client's loop thread) ---- */

typedef struct alexa_api_result {
    alexa_api_status_t status;
    long http_status;       /* 0 when no response arrived */
    outbound_err_t net_err; /* OUTBOUND_OK unless the network failed */
    /* OK for given name / email: the text (valid during the callback only) */
    const char *text;
    /* OK for the address: valid during the callback only (copy it if needed) */
    const alexa_address_t *address;
    uint64_t elapsed_us;
} alexa_api_result_t;

typedef void (*alexa_api_cb)(const alexa_api_result_t *res, void *ud);
typedef struct alexa_api_call alexa_api_call_t;

/* Each returns a handle; `cb` then runs exactly once on the loop (unless
 * cancelled). Returns NULL without calling cb and without any network call
 * when the endpoint, token or device id is refused (reason in err, safe to
 * log: it never contains the token) or on OOM. All strings are copied. */
alexa_api_call_t *alexa_api_given_name(outbound_t *ob, const char *endpoint, const char *token, alexa_api_cb cb,
                                       void *ud, char *err, size_t err_size);
alexa_api_call_t *alexa_api_email(outbound_t *ob, const char *endpoint, const char *token, alexa_api_cb cb,
                                  void *ud, char *err, size_t err_size);
alexa_api_call_t *alexa_api_address(outbound_t *ob, const char *endpoint, const char *token,
                                    const char *device_id, alexa_api_cb cb, void *ud, char *err, size_t err_size);
/* Progressive response: POST /v1/directives with VoicePlayer.Speak. `ssml` is
 * the whole <speak>...</speak> text; request_id the request's id. */
alexa_api_call_t *alexa_api_progressive(outbound_t *ob, const char *endpoint, const char *token,
                                        const char *request_id, const char *ssml, alexa_api_cb cb, void *ud,
                                        char *err, size_t err_size);
/* Cancel before the callback ran: the callback will not run; memory freed. */
void alexa_api_cancel(alexa_api_call_t *call);

#endif
