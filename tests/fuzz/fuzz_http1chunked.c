/* fuzz_http1chunked.c - libFuzzer target for the chunked body decoder: never
 * crashes, never writes more than http1resp_chunked_room promised, never
 * consumes more than it was given, and the input decoded in one piece, in
 * two pieces (split where the first byte says) and byte by byte gives the
 * same result, data and end of body. The first two bytes are not the body:
 * where to split, and the cap (so the size limit is exercised too). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/http/http1resp.h"

struct run {
    int rc;
    size_t out_len, used;
};

/* Decodes data in pieces of at most step bytes (0: the first piece is cut
 * bytes, the rest one piece). out has room for size bytes. */
static struct run decode(const uint8_t *data, size_t size, uint64_t max, size_t cut, size_t step, uint8_t *out)
{
    http1resp_chunked_t d;
    http1resp_chunked_init(&d, max);
    struct run r = {HTTP1RESP_CHUNKED_MORE, 0, 0};
    size_t at = 0;
    while (at < size && r.rc == HTTP1RESP_CHUNKED_MORE) {
        size_t n = step ? step : (at < cut ? cut - at : size - at);
        if (n > size - at)
            n = size - at;
        size_t room = http1resp_chunked_room(&d, n), o, u;
        r.rc = http1resp_chunked_decode(&d, data + at, n, out + r.out_len, &o, &u);
        if (o > room || u > n || (r.rc == HTTP1RESP_CHUNKED_MORE && u != n))
            abort();
        r.out_len += o;
        r.used = at + u;
        at += n;
    }
    if (r.out_len > max)
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut = data[0];
    uint64_t max = data[1] == 0xff ? UINT64_MAX : (uint64_t)data[1] * 16;
    data += 2;
    size -= 2;
    if (cut > size)
        cut = size;
    uint8_t *a = malloc(size + 1), *b = malloc(size + 1), *c = malloc(size + 1);
    struct run one = decode(data, size, max, size, 0, a);
    struct run two = decode(data, size, max, cut, 0, b);
    struct run bytes = decode(data, size, max, 0, 1, c);
    if (one.rc != two.rc || one.rc != bytes.rc)
        abort();
    if (one.rc >= 0 && (one.out_len != two.out_len || one.out_len != bytes.out_len ||
                        memcmp(a, b, one.out_len) != 0 || memcmp(a, c, one.out_len) != 0))
        abort();
    if (one.rc == HTTP1RESP_CHUNKED_DONE && (one.used != two.used || one.used != bytes.used))
        abort();
    /* in place gives the same */
    memcpy(b, data, size);
    http1resp_chunked_t d;
    http1resp_chunked_init(&d, max);
    size_t o, u;
    int rc = http1resp_chunked_decode(&d, b, size, b, &o, &u);
    if (rc != one.rc || (rc >= 0 && (o != one.out_len || memcmp(a, b, o) != 0)))
        abort();
    free(a);
    free(b);
    free(c);
    return 0;
}
