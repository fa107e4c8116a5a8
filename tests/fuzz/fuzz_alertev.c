/* fuzz_alertev.c - Login with Amazon's token answer (the one parser of
 * Amazon's bytes on the alert path) on arbitrary bytes, and the event
 * builder on what it returns. The first byte picks the token buffer size,
 * so the "longer than the buffer" branch is reached too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alerts/alertev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tok[ALERTEV_TOKEN_MAX + 1];
    char err[200];
    long exp = 0;
    if (size == 0)
        return 0;
    size_t cap = data[0] < 128 ? (size_t)data[0] + 1 : sizeof(tok);
    if (alertev_parse_token(data + 1, size - 1, tok, cap, &exp, err, sizeof(err)) == 0) {
        size_t n = strlen(tok);
        if (n == 0 || n >= cap || exp < 1 || exp > 86400)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
                __builtin_trap(); /* would reach an Authorization header */
        /* the token as a user id: the builder refuses only one over 512 bytes */
        alertev_t ev = {tok, "abc", 1798221600, 20813, 1u};
        size_t len = 0;
        char *s = alertev_build(&ev, &len, err, sizeof(err));
        if ((s == NULL) != (n > 512) || (s && len != strlen(s)))
            __builtin_trap();
        free(s);
    }
    return 0;
}
