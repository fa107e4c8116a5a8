/* fuzz_mailmsg.c - the email address from Amazon and any header text: the
 * address check must never accept CR, LF, spaces or angle brackets, and a
 * cleaned header value must never contain CR or LF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/mail/mailmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mailmsg_addr_ok(data, size)) {
        for (size_t i = 0; i < size; i++)
            if (data[i] <= ' ' || data[i] == '<' || data[i] == '>' || data[i] >= 0x7F || data[i] == '"')
                abort();
    }
    char out[512];
    size_t n = mailmsg_header_clean(out, sizeof(out), (const char *)data, size);
    if (n >= sizeof(out) || memchr(out, '\r', n) || memchr(out, '\n', n))
        abort();
    return 0;
}
