/* http1resp.h - the head of an HTTP/1.x response as the outbound client needs
 * it: status, Content-Type, how the body is framed and whether the connection
 * may carry another request. A pure function of the bytes received (untrusted:
 * unit tested and fuzzed, tests/fuzz/fuzz_http1resp.c). The body itself is
 * read by src/outbound.c (chunked with picohttpparser's decoder). */
#ifndef BINDAY_HTTP1RESP_H
#define BINDAY_HTTP1RESP_H

#include <stddef.h>
#include <stdint.h>

/* A head longer than this (interim 1xx heads included) is malformed. */
#define HTTP1RESP_MAX_HEAD_BYTES (64u * 1024u)
/* Header lines per head; more is malformed. */
#define HTTP1RESP_MAX_HEADERS 100

typedef enum {
    HTTP1RESP_BODY_NONE,    /* HEAD, 204, 304, Content-Length: 0 */
    HTTP1RESP_BODY_LENGTH,  /* Content-Length bytes */
    HTTP1RESP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    HTTP1RESP_BODY_EOF      /* until the server closes the connection */
} http1resp_body_t;

typedef struct http1resp_head {
    int status;                  /* 200..999 (never 1xx) */
    int minor_version;           /* HTTP/1.x */
    http1resp_body_t body;
    uint64_t content_length;     /* HTTP1RESP_BODY_LENGTH */
    int keep_alive;              /* the connection may be used again after the body */
    const uint8_t *content_type; /* points into the caller's buffer; NULL if absent */
    size_t content_type_len;
} http1resp_head_t;

/* Parse the response head at the start of buf (skipping interim 1xx heads;
 * 101 is malformed: we never ask for an upgrade). is_head_request: the
 * request was HEAD (no body whatever the head says). Returns the number of
 * bytes the heads take (the body starts there), 0 when more bytes are needed,
 * or -1 when the response is malformed (bad syntax, a bad or ambiguous
 * Content-Length, over HTTP1RESP_MAX_HEAD_BYTES or HTTP1RESP_MAX_HEADERS). */
long http1resp_head(const uint8_t *buf, size_t len, int is_head_request, http1resp_head_t *out);

#endif
