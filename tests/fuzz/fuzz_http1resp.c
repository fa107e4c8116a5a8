/* fuzz_http1resp.c - libFuzzer target for the response reader as the
 * outbound client uses it: the head never crashes the reader, consumes no
 * more than it was given, and what it reports is consistent (a status of
 * 200..999, Content-Type inside the input); a chunked body after it goes
 * through the decoder (tests/fuzz/fuzz_http1chunked.c checks that one in
 * depth). */
#include <stdint.h>
#include <stdlib.h>

#include "binday/http/http1resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int is_head = 0; is_head < 2; is_head++) {
        http1resp_head_t h;
        long n = http1resp_head(data, size, is_head, &h);
        if (n < -1 || n > (long)size)
            abort();
        if (n <= 0)
            continue;
        if (h.status < 200 || h.status > 999)
            abort();
        if (h.content_type != NULL && (h.content_type < data || h.content_type + h.content_type_len > data + n))
            abort();
        if (is_head && h.body != HTTP1RESP_BODY_NONE)
            abort();
        if (h.body == HTTP1RESP_BODY_EOF && h.keep_alive)
            abort();
        if (h.body == HTTP1RESP_BODY_CHUNKED) {
            http1resp_chunked_t d;
            http1resp_chunked_init(&d, 4096);
            size_t rest = size - (size_t)n, room = http1resp_chunked_room(&d, rest), o, u;
            uint8_t *out = malloc(room + 1);
            http1resp_chunked_decode(&d, data + n, rest, out, &o, &u);
            free(out);
            if (o > room || u > rest)
                abort();
        }
    }
    return 0;
}
