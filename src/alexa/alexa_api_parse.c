/* alexa_api_parse.c - the pure half of the Alexa API client (see alexa_api.h):
 * endpoint and token checks, URL building, status classification and the
 * parsers for the Customer Profile and Device Address bodies. No I/O, so
 * unit tests and the fuzzer link it without the outbound client. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "binday/alexa/alexa_api.h"
#include "binday/json/jsonload.h"

static const char *const api_hosts[] = {
    "https://api.amazonalexa.com",
    "https://api.eu.amazonalexa.com",
    "https://api.fe.amazonalexa.com",
};

const char *alexa_api_status_name(alexa_api_status_t s)
{
    switch (s) {
    case ALEXA_API_OK: return "ok";
    case ALEXA_API_NOT_SET: return "not_set";
    case ALEXA_API_PERMISSION_MISSING: return "permission_missing";
    case ALEXA_API_DEPLOYMENT_ERROR: return "deployment_error";
    case ALEXA_API_BAD_TOKEN: return "bad_token";
    case ALEXA_API_THROTTLED: return "throttled";
    case ALEXA_API_UNAVAILABLE: return "unavailable";
    case ALEXA_API_REFUSED: return "refused";
    }
    return "unknown";
}

bool alexa_api_endpoint_ok(const char *endpoint)
{
    if (endpoint == NULL)
        return false;
    size_t n = strlen(endpoint);
    if (n > 0 && endpoint[n - 1] == '/')
        n--;
    for (size_t i = 0; i < sizeof(api_hosts) / sizeof(api_hosts[0]); i++)
        if (strlen(api_hosts[i]) == n && memcmp(api_hosts[i], endpoint, n) == 0)
            return true;
    return false;
}

/* RFC 6750 b64token characters (before the "=" padding), by byte value: a
 * lookup per byte instead of a chain of range tests, whose branches
 * mispredict on the ~1 KB of random-looking token every request carries. */
static const unsigned char b64token_char[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

bool alexa_api_token_ok(const char *token)
{
    if (token == NULL || token[0] == '\0')
        return false;
    size_t n = strnlen(token, ALEXA_API_MAX_TOKEN + 1);
    if (n > ALEXA_API_MAX_TOKEN)
        return false;
    /* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" then "="* */
    size_t i = 0;
    while (i < n && b64token_char[(unsigned char)token[i]])
        i++;
    if (i == 0)
        return false;
    for (; i < n; i++)
        if (token[i] != '=')
            return false;
    return true;
}

int alexa_api_address_url(char *dst, size_t dst_size, const char *endpoint, const char *device_id)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!alexa_api_endpoint_ok(endpoint) || device_id == NULL || device_id[0] == '\0')
        return -1;
    size_t idn = strnlen(device_id, ALEXA_API_MAX_DEVICE_ID + 1);
    if (idn > ALEXA_API_MAX_DEVICE_ID)
        return -1;
    size_t en = strlen(endpoint);
    if (endpoint[en - 1] == '/')
        en--;
    static const char pre[] = "/v1/devices/", post[] = "/settings/address";
    if (en + sizeof(pre) - 1 + 3 * idn + sizeof(post) > dst_size)
        return -1;
    size_t o = 0;
    memcpy(dst, endpoint, en);
    o = en;
    memcpy(dst + o, pre, sizeof(pre) - 1);
    o += sizeof(pre) - 1;
    for (size_t i = 0; i < idn; i++) {
        unsigned char c = (unsigned char)device_id[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    memcpy(dst + o, post, sizeof(post));
    return 0;
}

static bool contains(const uint8_t *body, size_t len, const char *needle)
{
    return body != NULL && memmem(body, len, needle, strlen(needle)) != NULL;
}

alexa_api_status_t alexa_api_classify(outbound_err_t err, long status, const uint8_t *body, size_t len)
{
    if (err != OUTBOUND_OK)
        return ALEXA_API_UNAVAILABLE;
    switch (status) {
    case 200: return ALEXA_API_OK;
    case 204: return ALEXA_API_NOT_SET;
    case 401: return ALEXA_API_BAD_TOKEN;
    case 429: return ALEXA_API_THROTTLED;
    case 403:
        /* Amazon's body names the cause; a permission the skill never declared
         * ("FORBIDDEN", "... cannot be requested") is our deployment bug, not
         * the customer's choice. Search the raw bytes: the body may not be JSON. */
        if (contains(body, len, "ACCESS_NOT_REQUESTED"))
            return ALEXA_API_PERMISSION_MISSING;
        if (contains(body, len, "FORBIDDEN") || contains(body, len, "cannot be requested"))
            return ALEXA_API_DEPLOYMENT_ERROR;
        return ALEXA_API_PERMISSION_MISSING;
    default: return ALEXA_API_UNAVAILABLE;
    }
}

/* Copy a JSON string value: trimmed of spaces, no control characters, at most
 * max bytes. Returns length, 0 for empty, -1 if invalid. */
static long clean_copy(const char *s, size_t n, char *out, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -1;
    }
    while (n > 0 && s[0] == ' ')
        s++, n--;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    if (n > max)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return (long)n;
}

int alexa_api_parse_string(const uint8_t *body, size_t len, char *out, size_t out_size)
{
    json_error_t e;
    if (out_size == 0)
        return -1;
    out[0] = '\0';
    if (body == NULL)
        return -1;
    json_t *j = jsonload(body, len, JSON_DECODE_ANY, &e);
    if (j == NULL)
        return -1;
    int rc;
    if (json_is_null(j)) {
        rc = 1;
    } else if (!json_is_string(j)) {
        rc = -1;
    } else {
        size_t max = out_size - 1 < ALEXA_API_MAX_TEXT ? out_size - 1 : ALEXA_API_MAX_TEXT;
        long n = clean_copy(json_string_value(j), json_string_length(j), out, max);
        rc = n < 0 ? -1 : n == 0 ? 1 : 0;
        if (rc != 0)
            out[0] = '\0';
    }
    json_decref(j);
    return rc;
}

static const char *const addr_keys[8] = {"addressLine1",     "addressLine2",  "addressLine3", "city",
                                         "districtOrCounty", "stateOrRegion", "countryCode",  "postalCode"};

static const char **addr_field(alexa_address_t *a, int i)
{
    const char **f[8] = {&a->address_line1,      &a->address_line2,   &a->address_line3, &a->city,
                         &a->district_or_county, &a->state_or_region, &a->country_code,  &a->postal_code};
    return f[i];
}

int alexa_api_parse_address(const uint8_t *body, size_t len, alexa_address_t *out)
{
    json_error_t e;
    memset(out, 0, sizeof(*out));
    if (body == NULL)
        return -1;
    json_t *j = jsonload(body, len, 0, &e);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    for (int i = 0; i < 8; i++) {
        json_t *v = json_object_get(j, addr_keys[i]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v))
            goto bad;
        char *slot = out->store_ + (size_t)i * (ALEXA_API_MAX_FIELD + 1);
        long n = clean_copy(json_string_value(v), json_string_length(v), slot, ALEXA_API_MAX_FIELD);
        if (n < 0)
            goto bad;
        if (n > 0)
            *addr_field(out, i) = slot;
    }
    json_decref(j);
    return 0;
bad:
    json_decref(j);
    memset(out, 0, sizeof(*out));
    return -1;
}

void alexa_address_copy(alexa_address_t *dst, const alexa_address_t *src)
{
    memcpy(dst->store_, src->store_, sizeof(dst->store_));
    for (int i = 0; i < 8; i++) {
        const char *s = *addr_field((alexa_address_t *)src, i);
        *addr_field(dst, i) = s ? dst->store_ + (s - src->store_) : NULL;
    }
}
