/* fuzz_b64.c - libFuzzer target for strict base64: never crashes, and every
 * accepted input is the one canonical encoding of what it decodes to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    uint8_t out[B64_DECODED_MAX(4096)];
    size_t n = 0;
    if (b64_decode_strict(data, size, out, sizeof(out), &n) != 0)
        return 0;
    char back[4096 + 8];
    long bl = b64_encode(out, n, back, sizeof(back));
    if (bl < 0 || (size_t)bl != size || memcmp(back, data, size) != 0)
        abort();
    return 0;
}
