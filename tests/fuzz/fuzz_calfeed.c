/* fuzz_calfeed.c - the calendar feed's parsers of untrusted request bytes:
 * path, token, query (alarm) and If-None-Match, plus TEXT escaping of the
 * same bytes (the escaped output must never contain a raw CR or LF). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/feed/calfeed.h"
#include "binday/feed/ics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    secret_key_t key;
    memset(&key, 7, sizeof(key));
    const uint8_t *tok;
    size_t tl;
    uint64_t uprn;
    if (calfeed_path_token(data, size, &tok, &tl) == 0) {
        if (tok < data + 10 || tok + tl > data + size)
            abort();
        (void)calfeed_token_parse(&key, tok, tl, &uprn);
    }
    (void)calfeed_token_parse(&key, data, size, &uprn);
    int m = -1;
    if (calfeed_query_alarm(data, size, &m) == 1 && (m < 720 || m > 1439))
        abort();
    (void)calfeed_etag_matches(data, size, "\"0123\"");
    char *out = malloc(2 * size + 1);
    if (out == NULL)
        return 0;
    size_t n = ics_escape_text(out, 2 * size + 1, (const char *)data, size);
    if (memchr(out, '\r', n) || memchr(out, '\n', n))
        abort();
    free(out);
    return 0;
}
