/* test_http1resp.c - the response-head reader: framing, keep-alive, 1xx,
 * and what counts as malformed. */
#include <string.h>

#include "binday/http/http1resp.h"
#include "tap.h"

static long parse(const char *s, int is_head, http1resp_head_t *h)
{
    return http1resp_head((const uint8_t *)s, strlen(s), is_head, h);
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
    return done_testing();
}
