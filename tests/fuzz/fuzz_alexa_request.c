/* fuzz_alexa_request.c - request extraction on arbitrary JSON, and the
 * AMAZON.DATE parser on the same raw bytes. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "binday/alexa/alexa_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int a, b;
    if (alexa_date_parse(data, size, 20000, &a, &b) == 0 && (a > b || b - a > 366))
        __builtin_trap();
    json_error_t e;
    json_t *root = json_loadb((const char *)data, size, 0, &e);
    if (root == NULL)
        return 0;
    alexa_request_t r;
    char err[128];
    if (alexa_request_parse(root, &r, err, sizeof(err)) == 0) {
        const char *key;
        json_t *v;
        json_object_foreach(r.slots, key, v) {
            alexa_slot_t s;
            if (alexa_request_slot(&r, key, &s)) {
                const char *best = alexa_slot_best(&s);
                if (best == NULL)
                    __builtin_trap();
                (void)alexa_date_parse((const uint8_t *)best, strlen(best), 20000, &a, &b);
            }
        }
    }
    json_decref(root);
    return 0;
}
