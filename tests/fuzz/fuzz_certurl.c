/* fuzz_certurl.c - libFuzzer target for certurl_normalize: never crashes, and
 * whatever it accepts is canonical (re-normalizing gives the same URL), under
 * https://s3.amazonaws.com/echo.api/, free of dot segments and of anything a
 * second URL parser could read differently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa/certurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[CERTURL_MAX + 1], again[CERTURL_MAX + 1];
    const char *why = NULL;
    if (certurl_normalize(data, size, out, sizeof(out), &why) != 0) {
        if (why == NULL)
            abort();
        return 0;
    }
    static const char prefix[] = "https://s3.amazonaws.com/echo.api/";
    size_t n = strlen(out);
    if (n <= sizeof(prefix) - 1 || memcmp(out, prefix, sizeof(prefix) - 1) != 0)
        abort();
    if (strstr(out, "/../") || strstr(out, "/./") || strstr(out + 8, "//") != NULL ||
        (n >= 3 && strcmp(out + n - 3, "/..") == 0) || (n >= 2 && strcmp(out + n - 2, "/.") == 0))
        abort();
    if (strpbrk(out, "%@\\?# \t\r\n") != NULL)
        abort();
    if (certurl_normalize((const uint8_t *)out, n, again, sizeof(again), NULL) != 0 || strcmp(out, again) != 0)
        abort();
    return 0;
}
