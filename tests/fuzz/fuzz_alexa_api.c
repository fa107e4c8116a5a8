/* fuzz_alexa_api.c - the Alexa API body parsers and classifier on arbitrary
 * bytes. The first byte picks the HTTP status class so the classifier sees
 * every branch; the rest is the body. */
#include <stdint.h>
#include <string.h>

#include "binday/alexa/alexa_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 204, 401, 403, 429, 500, 302, 0};
    char text[ALEXA_API_MAX_TEXT + 1];
    alexa_address_t a, b;
    if (size == 0)
        return 0;
    long st = statuses[data[0] % 8];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    alexa_api_status_t s = alexa_api_classify(st ? OUTBOUND_OK : OUTBOUND_E_TIMEOUT, st, body, len);
    if (s > ALEXA_API_REFUSED)
        __builtin_trap();
    int r = alexa_api_parse_string(body, len, text, sizeof(text));
    if (r == 0 && (strlen(text) == 0 || strlen(text) > ALEXA_API_MAX_TEXT))
        __builtin_trap();
    if (alexa_api_parse_address(body, len, &a) == 0) {
        alexa_address_copy(&b, &a);
        const char *f[] = {b.address_line1, b.address_line2, b.address_line3, b.city,
                           b.district_or_county, b.state_or_region, b.country_code, b.postal_code};
        for (int i = 0; i < 8; i++)
            if (f[i] && (strlen(f[i]) == 0 || strlen(f[i]) > ALEXA_API_MAX_FIELD))
                __builtin_trap();
    }
    return 0;
}
