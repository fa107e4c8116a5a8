/* fuzz_certchain.c - libFuzzer target for the PEM chain parser (the bytes a
 * certificate download returns): never crashes or leaks, bounded count. */
#include <stdint.h>
#include <stdlib.h>

#include "binday/alexa/certchain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    certchain_t *c = NULL;
    if (certchain_parse(data, size, &c) == VERIFY_OK) {
        if (c == NULL || certchain_count(c) == 0 || certchain_count(c) > CERTCHAIN_MAX_CERTS)
            abort();
        /* not verified: the date check must refuse rather than pass */
        if (certchain_check_dates(c, 0) != VERIFY_E_CERT_CHAIN)
            abort();
    } else if (c != NULL) {
        abort();
    }
    certchain_free(c);
    return 0;
}
