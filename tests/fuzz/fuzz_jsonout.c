/* fuzz_jsonout.c - libFuzzer target for the fast JSON writer: any document
 * jansson parses is written byte for byte as json_dumps writes it, sorted or
 * not (strings from requests, e.g. slot values, reach the writer). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/json/jsonout.h"

static void check(const json_t *v, size_t flags)
{
    size_t n = 0;
    char *a = jsonout_dump(v, flags, &n);
    char *b = json_dumps(v, JSON_COMPACT | flags);
    /* NULL from ours alone is allowed only past the nesting bound */
    if (a == NULL && b != NULL) {
        json_t *again = json_loads(b, 0, NULL);
        int deep = again != NULL; /* valid but refused: must be too deep */
        json_decref(again);
        if (!deep || strlen(b) < 2 * JSONOUT_MAX_DEPTH)
            abort();
    } else if ((a == NULL) != (b == NULL) || (a && (n != strlen(b) || memcmp(a, b, n) != 0))) {
        abort();
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    json_t *v = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (v == NULL)
        return 0;
    check(v, 0);
    check(v, JSON_SORT_KEYS);
    json_decref(v);
    return 0;
}
