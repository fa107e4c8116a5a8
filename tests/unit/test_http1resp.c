/* test_http1resp.c - the response-head reader (framing, keep-alive, 1xx,
 * what counts as malformed) and the chunked body decoder (framing, limits,
 * and that any split of the input decodes as one piece does). */
#include <stdlib.h>
#include <string.h>

#include "binday/http/http1resp.h"
#include "tap.h"

static long parse(const char *s, int is_head, http1resp_head_t *h)
{
    return http1resp_head((const uint8_t *)s, strlen(s), is_head, h);
}


/* The whole of s through the decoder in one call. */
static int dechunk(const char *s, size_t len, uint64_t max, char *out, size_t *out_len, size_t *used)
{
    http1resp_chunked_t d;
    http1resp_chunked_init(&d, max);
    return http1resp_chunked_decode(&d, (const uint8_t *)s, len, (uint8_t *)out, out_len, used);
}

/* s split at cut, and then one byte at a time: same result, same data, and
 * the same end of the body as dechunk's. 1 if so. */
static int same_when_split(const char *s, size_t len, uint64_t max)
{
    char *one = malloc(len + 1), *part = malloc(len + 1);
    size_t one_len, one_used;
    int want = dechunk(s, len, max, one, &one_len, &one_used);
    int same = 1;
    for (size_t cut = 0; cut <= len && same; cut++) {
        for (int bytewise = 0; bytewise < 2 && same; bytewise++) {
            http1resp_chunked_t d;
            http1resp_chunked_init(&d, max);
            size_t at = 0, got = 0, used = 0;
            int rc = HTTP1RESP_CHUNKED_MORE;
            while (at < len && rc == HTTP1RESP_CHUNKED_MORE) {
                size_t n = bytewise ? 1 : (at < cut ? cut - at : len - at);
                size_t o, u;
                if (http1resp_chunked_room(&d, n) > n)
                    same = 0; /* room is never more than the input */
                rc = http1resp_chunked_decode(&d, (const uint8_t *)s + at, n, (uint8_t *)part + got, &o, &u);
                got += o;
                used = at + u;
                at += n;
            }
            if (rc != want || (rc >= 0 && (got != one_len || memcmp(part, one, got) != 0)) ||
                (rc == HTTP1RESP_CHUNKED_DONE && used != one_used))
                same = 0;
        }
    }
    free(one);
    free(part);
    return same;
}

static void chunked_tests(void)
{
    char out[256];
    size_t n, used;
    const char *b = "5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\n\r\n";
    is_int(dechunk(b, strlen(b), 1000, out, &n, &used), HTTP1RESP_CHUNKED_DONE, "chunked: two chunks, last chunk");
    ok(n == 12 && memcmp(out, "hello, world", 12) == 0, "chunked: the data, extensions skipped");
    is_int((int)used, (int)strlen(b), "chunked: consumed exactly the body");

    const char *extra = "3\r\nabc\r\n0\r\n\r\nHTTP/1.1";
    is_int(dechunk(extra, strlen(extra), 1000, out, &n, &used), HTTP1RESP_CHUNKED_DONE, "chunked: bytes after the body");
    is_int((int)used, (int)(strlen(extra) - 8), "chunked: the bytes after the body are not consumed");

    const char *tr = "A\r\n0123456789\r\n0\r\nX-Trailer: yes\r\nOther:\t1\r\n\r\n";
    is_int(dechunk(tr, strlen(tr), 1000, out, &n, &used), HTTP1RESP_CHUNKED_DONE, "chunked: trailers skipped");
    ok(n == 10 && used == strlen(tr), "chunked: upper-case hex size; trailers consumed");
    const char *bws = "2 ; a=b\r\nok\r\n0\t\r\n\r\n";
    is_int(dechunk(bws, strlen(bws), 1000, out, &n, &used), HTTP1RESP_CHUNKED_DONE, "chunked: blanks after the size");

    is_int(dechunk("3\r\nab", 5, 1000, out, &n, &used), HTTP1RESP_CHUNKED_MORE, "chunked: cut short: more");
    ok(n == 2 && used == 5, "chunked: the data so far is delivered");

    static const struct {
        const char *in, *why;
    } bad[] = {
        {"\r\n", "no size"},
        {"x\r\n", "a size that is not hex"},
        {"-1\r\n", "a sign"},
        {"0x5\r\n", "a 0x prefix"},
        {"5\nhello\r\n", "bare LF after the size"},
        {"5\rhello\r\n", "bare CR after the size"},
        {"5\r\nhelloX\r\n", "no CR LF after the data"},
        {"5\r\nhello\n0\r\n\r\n", "bare LF after the data"},
        {"5 x\r\nhello\r\n", "junk after the size"},
        {"5;a\x01\r\nhello\r\n", "a control byte in an extension"},
        {"0\r\n X: y\r\n\r\n", "obs-fold in the trailers"},
        {"0\r\nNoColon\r\n\r\n", "a trailer line without a colon"},
        {"0\r\nX : y\r\n\r\n", "a space before a trailer's colon"},
        {"0\r\nX: y\n\r\n", "bare LF in the trailers"},
        {"0\r\n\n", "bare LF at the end"},
        {"0\r\n\rX", "CR without LF at the end"},
        {"10000000000000000\r\n", "a size over 64 bits"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(dechunk(bad[i].in, strlen(bad[i].in), UINT64_MAX, out, &n, &used), HTTP1RESP_CHUNKED_MALFORMED,
               "chunked malformed: %s", bad[i].why);

    /* limits */
    is_int(dechunk("b\r\n", 3, 10, out, &n, &used), HTTP1RESP_CHUNKED_TOO_LARGE,
           "chunked: a chunk announced past the cap: too large at once");
    const char *two = "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n";
    is_int(dechunk(two, strlen(two), 10, out, &n, &used), HTTP1RESP_CHUNKED_TOO_LARGE,
           "chunked: the total past the cap: too large");
    is_int(dechunk(two, strlen(two), 11, out, &n, &used), HTTP1RESP_CHUNKED_DONE, "chunked: exactly the cap: fine");
    is_int(dechunk("000000000000000000000001\r\nx\r\n0\r\n\r\n", 35, 100, out, &n, &used),
           HTTP1RESP_CHUNKED_DONE, "chunked: leading zeros are not an overflow");

    static char big[HTTP1RESP_CHUNK_FRAMING_MAX + 4096];
    size_t l = 0;
    big[l++] = '1';
    big[l++] = ';';
    while (l < HTTP1RESP_CHUNK_LINE_MAX + 10)
        big[l++] = 'e';
    memcpy(big + l, "\r\nx\r\n", 6);
    l += 6;
    is_int(dechunk(big, l, 1000, out, &n, &used), HTTP1RESP_CHUNKED_MALFORMED, "chunked: a size line over the limit");
    l = 0;
    memcpy(big, "0\r\n", 3);
    l = 3;
    while (l + 10 < HTTP1RESP_TRAILERS_MAX + 100) {
        memcpy(big + l, "X-T: abc\r\n", 10);
        l += 10;
    }
    memcpy(big + l, "\r\n", 2);
    l += 2;
    is_int(dechunk(big, l, 1000, out, &n, &used), HTTP1RESP_CHUNKED_MALFORMED, "chunked: trailers over the limit");
    /* "1\r\nx\r\n": five framing bytes a data byte */
    size_t tiny_len = (HTTP1RESP_CHUNK_FRAMING_MAX / 5 + 10) * 6;
    char *tiny = malloc(tiny_len), *data = malloc(tiny_len);
    for (l = 0; l + 6 <= tiny_len; l += 6)
        memcpy(tiny + l, "1\r\nx\r\n", 6);
    http1resp_chunked_t d;
    http1resp_chunked_init(&d, UINT64_MAX);
    is_int(http1resp_chunked_decode(&d, (const uint8_t *)tiny, l, (uint8_t *)data, &n, &used),
           HTTP1RESP_CHUNKED_MALFORMED, "chunked: framing over the limit (endless tiny chunks)");
    ok(n < HTTP1RESP_CHUNK_FRAMING_MAX / 5 + 1, "chunked: stopped at the framing limit (%zu data bytes)", n);
    free(tiny);
    free(data);

    /* the decoder stays where it ended */
    http1resp_chunked_init(&d, 100);
    http1resp_chunked_decode(&d, (const uint8_t *)"0\r\n\r\n", 5, (uint8_t *)out, &n, &used);
    is_int(http1resp_chunked_decode(&d, (const uint8_t *)"5\r\n", 3, (uint8_t *)out, &n, &used),
           HTTP1RESP_CHUNKED_DONE, "chunked: done stays done");
    ok(n == 0 && used == 0, "chunked: and consumes nothing more");

    /* decoding in place */
    char inplace[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    http1resp_chunked_init(&d, 100);
    is_int(http1resp_chunked_decode(&d, (const uint8_t *)inplace, strlen(inplace), (uint8_t *)inplace, &n, &used),
           HTTP1RESP_CHUNKED_DONE, "chunked: in place");
    ok(n == 5 && memcmp(inplace, "abcde", 5) == 0, "chunked: in place gives the data");
    is_int((int)http1resp_chunked_room(&d, 1000), 95, "room: what is left under the cap");

    /* any split gives what one piece gives */
    static const char *const split[] = {
        "5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\nleft over",
        "2 ; a=b\r\nok\r\n0\t\r\n\r\n",
        "5\r\nhello\n0\r\n\r\n",
        "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
        "3\r\nab",
    };
    for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++)
        ok(same_when_split(split[i], strlen(split[i]), 10), "chunked: split anywhere, same result (case %zu)", i);
}

int main(void)
{
    http1resp_head_t h;
    const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"ok\": true}";
    long n = parse(r, 0, &h);
    is_int((int)n, (int)(strstr(r, "{") - r), "consumed: exactly the head");
    is_int(h.status, 200, "status");
    ok(h.body == HTTP1RESP_BODY_LENGTH && h.content_length == 12, "Content-Length framing");
    ok(h.keep_alive, "HTTP/1.1 keeps the connection");
    ok(h.content_type != NULL && h.content_type_len == 16 && memcmp(h.content_type, "application/json", 16) == 0,
       "Content-Type points into the buffer");

    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Len", 0, &h), 0, "incomplete head: need more");
    is_int((int)parse("", 0, &h), 0, "nothing yet: need more");

    parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_CHUNKED && h.keep_alive, "chunked, kept");
    parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_CHUNKED && !h.keep_alive, "chunked overrides Content-Length; not kept");
    parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_EOF && !h.keep_alive, "not chunked last: until close");
    parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_EOF && !h.keep_alive, "no framing: until close, not kept");
    parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_NONE && h.keep_alive, "Content-Length: 0: no body");

    parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", 0, &h);
    ok(!h.keep_alive, "Connection: close");
    parse("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 2\r\n\r\n", 0, &h);
    ok(!h.keep_alive, "close among other tokens, any case");
    parse("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 2\r\n\r\n", 0, &h);
    ok(h.keep_alive, "'closed' is not 'close'");
    parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", 0, &h);
    ok(!h.keep_alive, "HTTP/1.0: not kept by default");
    parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", 0, &h);
    ok(h.keep_alive, "HTTP/1.0 with keep-alive: kept");

    const char *cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc";
    n = parse(cont, 0, &h);
    ok(n == (long)(strlen(cont) - 3) && h.status == 201, "100 Continue skipped; both heads consumed (%ld)", n);
    is_int((int)parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20", 0, &h), 0, "1xx then an incomplete head: need more");
    is_int((int)parse("HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, &h), -1, "101 refused");

    parse("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 1, &h);
    ok(h.body == HTTP1RESP_BODY_NONE && h.keep_alive, "HEAD: no body whatever Content-Length says");
    parse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_NONE, "204: no body");
    parse("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &h);
    ok(h.body == HTTP1RESP_BODY_NONE, "304: no body");

    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 0, &h), -1,
           "two different Content-Lengths: malformed");
    ok(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 0, &h) > 0 &&
           h.content_length == 2, "the same Content-Length twice: fine");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, &h), -1, "negative length: malformed");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", 0, &h), -1, "junk in the length: malformed");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n", 0, &h), -1,
           "an absurd length: malformed");
    is_int((int)parse("HTTP/1.1 2000 OK\r\n\r\n", 0, &h), -1, "bad status line: malformed");
    is_int((int)parse("SMTP ready\r\n\r\n", 0, &h), -1, "not HTTP: malformed");

    /* a head that never ends */
    static char big[HTTP1RESP_MAX_HEAD_BYTES + 100];
    strcpy(big, "HTTP/1.1 200 OK\r\n");
    size_t l = strlen(big);
    while (l + 12 < sizeof(big) - 1) {
        memcpy(big + l, "X-Pad: abc\r\n", 12);
        l += 12;
    }
    big[l] = 0;
    is_int((int)http1resp_head((const uint8_t *)big, l, 0, &h), -1, "a head over the limit: malformed");
    /* strictness */
    is_int((int)parse("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 0, &h), -1, "bare LF after the status line");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", 0, &h), -1, "bare LF after a header");
    is_int((int)parse("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, &h), -1, "bare CR in a value");
    is_int((int)parse("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", 0, &h), -1, "obs-fold");
    is_int((int)parse("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", 0, &h), -1, "space before the colon");
    is_int((int)parse("HTTP/1.1 200 OK\r\n: a\r\n\r\n", 0, &h), -1, "empty header name");
    is_int((int)parse("HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n", 0, &h), -1, "a separator in the name");
    is_int((int)parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0, &h), -1, "a line without a colon");
    is_int((int)http1resp_head((const uint8_t *)"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 26, 0, &h), -1,
           "NUL in a value");
    is_int((int)parse("HTTP/1.1 200 O\x01K\r\n\r\n", 0, &h), -1, "a control byte in the reason");
    is_int((int)parse("HTTP/2.0 200 OK\r\n\r\n", 0, &h), -1, "HTTP/2.0 status line");
    is_int((int)parse("HTTP/1.1 099 Low\r\n\r\n", 0, &h), -1, "status under 100");
    is_int((int)parse("HTTP/1.1  200 OK\r\n\r\n", 0, &h), -1, "two spaces before the status");
    is_int((int)parse("HTTP/1.1 2x0 OK\r\n\r\n", 0, &h), -1, "a letter in the status");
    is_int((int)parse("SMTP", 0, &h), -1, "not HTTP: refused before the line ends");
    is_int((int)parse("HTTP/1", 0, &h), 0, "a prefix of HTTP/1.: need more");
    ok(parse("HTTP/1.1 204\r\n\r\n", 0, &h) > 0 && h.status == 204, "no reason phrase and no space: fine");
    ok(parse("HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n", 0, &h) > 0 && h.status == 200, "empty reason: fine");
    ok(parse("HTTP/1.1 200 OK\r\nX: \xc3\xa9t\xc3\xa9 \t\r\nContent-Type:  a/b  \r\nContent-Length: 0\r\n\r\n", 0, &h) > 0 &&
           h.content_type_len == 3 && memcmp(h.content_type, "a/b", 3) == 0,
       "obs-text in a value is fine; blanks around a value trimmed");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", 0, &h), -1, "a list of lengths: malformed");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", 0, &h), -1, "a sign in the length");
    is_int((int)parse("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, &h), -1, "an empty length");
    ok(parse("HTTP/1.1 200 OK\r\ncontent-length:7\r\n\r\n", 0, &h) > 0 && h.content_length == 7,
       "header names in any case; no blank after the colon");
    is_int((int)parse("HTTP/1.1 100 Continue\r\nX y\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0, &h), -1,
           "a malformed interim head");
    is_int((int)parse("HTTP/1.1 100 Continue\r\n\r\nSMTP", 0, &h), -1, "not HTTP after a 1xx");

    /* header count */
    {
        static char many[8192];
        size_t m = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < HTTP1RESP_MAX_HEADERS; i++)
            m += (size_t)sprintf(many + m, "X-%d: v\r\n", i);
        strcpy(many + m, "\r\n");
        ok(parse(many, 0, &h) > 0, "%d header lines: fine", HTTP1RESP_MAX_HEADERS);
        strcpy(many + m, "X-last: v\r\n\r\n");
        is_int((int)parse(many, 0, &h), -1, "one more: malformed");
    }

    /* every prefix of a good head asks for more, and nothing less than the
     * whole head parses */
    {
        const char *g = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\n";
        size_t gl = strlen(g);
        int all = 1;
        for (size_t i = 0; i < gl; i++)
            if (http1resp_head((const uint8_t *)g, i, 0, &h) != 0)
                all = 0;
        ok(all && http1resp_head((const uint8_t *)g, gl, 0, &h) == (long)gl, "every prefix: need more; whole: parsed");
    }

    chunked_tests();
    return done_testing();
}
