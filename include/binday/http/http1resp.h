/* http1resp.h - reading an HTTP/1.1 response as the outbound client needs it:
 * the head (status, Content-Type, how the body is framed, whether the
 * connection may carry another request) and the chunked body decoder.
 *
 * Both are binday's own code, pure functions of the bytes received plus a
 * little state: no I/O, no allocation. The bytes are untrusted (they come
 * from the network), so every malformed input is an error code, never an
 * abort; both are unit tested (tests/unit/test_http1resp.c) and fuzzed
 * through these entry points (tests/fuzz/fuzz_http1resp.c,
 * tests/fuzz/fuzz_http1chunked.c).
 *
 * Strictness (RFC 9112): every line ends in CR LF (a bare LF, or a CR not
 * followed by LF, is malformed); header names are tokens with the colon right
 * after them; a header line that starts with a space or tab (obs-fold) is
 * malformed; values hold no control character but HTAB; Content-Length is
 * decimal digits, and two that differ are malformed.
 */
#ifndef BINDAY_HTTP1RESP_H
#define BINDAY_HTTP1RESP_H

#include <stddef.h>
#include <stdint.h>

/* A head longer than this (interim 1xx heads included) is malformed: this
 * also bounds the size of any one header line. */
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
 * Content-Length, over HTTP1RESP_MAX_HEAD_BYTES or HTTP1RESP_MAX_HEADERS).
 * Call it again with all the bytes so far when it returned 0. */
long http1resp_head(const uint8_t *buf, size_t len, int is_head_request, http1resp_head_t *out);

/* ---- chunked body ------------------------------------------------------------ */

/* A chunk-size line (size and extensions) longer than this is malformed. */
#define HTTP1RESP_CHUNK_LINE_MAX 1024u
/* The trailer section, all its lines together, longer than this is malformed. */
#define HTTP1RESP_TRAILERS_MAX (16u * 1024u)
/* All framing bytes of one body (size lines, CR LFs, trailers) beyond this
 * are malformed: a server cannot keep a call busy with endless tiny chunks. */
#define HTTP1RESP_CHUNK_FRAMING_MAX (64u * 1024u)

/* The decoder's state: an incremental state machine, so the body may arrive
 * split anywhere (feeding it byte by byte gives what one piece gives). The
 * fields are private; the caller owns the struct (no allocation). */
typedef struct http1resp_chunked {
    int state;
    int digits;          /* hex digits of the current chunk size */
    int trailer_colon;   /* the current trailer line has its colon */
    uint32_t line;       /* bytes of the current size or trailer line */
    uint32_t trailers;   /* bytes of the trailer section */
    uint64_t size;       /* the chunk size being read */
    uint64_t chunk_left; /* data bytes left in the current chunk */
    uint64_t data;       /* decoded body bytes so far */
    uint64_t framing;    /* framing bytes so far */
    uint64_t max_data;
} http1resp_chunked_t;

typedef enum {
    HTTP1RESP_CHUNKED_MORE = 0,       /* all the input consumed; the body goes on */
    HTTP1RESP_CHUNKED_DONE = 1,       /* the last chunk and trailers ended */
    HTTP1RESP_CHUNKED_MALFORMED = -1, /* bad framing, or over a framing limit */
    HTTP1RESP_CHUNKED_TOO_LARGE = -2  /* the data would pass max_data */
} http1resp_chunked_rc_t;

/* Start decoding a body of at most max_data bytes of data. */
void http1resp_chunked_init(http1resp_chunked_t *d, uint64_t max_data);

/* Decode the next in_len bytes of the body. The data goes to out, which has
 * room for http1resp_chunked_room(d, in_len) bytes; out may be in itself
 * (decoding in place: data never moves forward). *out_len: data bytes written.
 * *consumed: input bytes used, in_len unless DONE (then the bytes after the
 * body are not the body's) or an error. Once DONE or an error, the decoder
 * stays there. */
http1resp_chunked_rc_t http1resp_chunked_decode(http1resp_chunked_t *d, const uint8_t *in, size_t in_len,
                                                uint8_t *out, size_t *out_len, size_t *consumed);

/* The most data the next in_len input bytes can produce:
 * min(in_len, max_data - data so far). */
size_t http1resp_chunked_room(const http1resp_chunked_t *d, size_t in_len);

#endif
