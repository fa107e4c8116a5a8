/* http1resp.c - owns reading an HTTP/1.x response head (status, framing,
 * keep-alive) with picohttpparser, for the outbound client. Pure: bytes in,
 * a description out; no I/O. */
#include "binday/http/http1resp.h"

#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* libh2o exports its bundled picohttpparser, but Debian's libh2o-dev ships no
 * header for it: this declaration is the one of h2o v2.2.5's
 * deps/picohttpparser/picohttpparser.h. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len);

/* Does a comma-separated header value hold `tok` (case-insensitive)? */
static int has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Is `tok` the last coding of a Transfer-Encoding value? */
static int last_token_is(const char *v, size_t len, const char *tok)
{
    size_t e = len;
    while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
        e--;
    size_t s = e;
    while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
        s--;
    size_t tl = strlen(tok);
    return e - s == tl && strncasecmp(v + s, tok, tl) == 0;
}

static int name_is(const struct phr_header *h, const char *lit)
{
    size_t n = strlen(lit);
    return h->name_len == n && strncasecmp(h->name, lit, n) == 0;
}

/* The final head's headers: 0, or -1 if malformed. */
static int take_headers(const struct phr_header *hd, size_t n, int is_head_request, http1resp_head_t *out)
{
    int close_tok = 0, keep_alive_tok = 0, chunked = 0, has_te = 0, has_cl = 0;
    uint64_t cl = 0;
    for (size_t i = 0; i < n; i++) {
        const struct phr_header *x = &hd[i];
        if (x->name == NULL) /* an obsolete folded line: nothing we read */
            continue;
        if (name_is(x, "content-type")) {
            out->content_type = (const uint8_t *)x->value;
            out->content_type_len = x->value_len;
        } else if (name_is(x, "content-length")) {
            uint64_t v = 0;
            if (x->value_len == 0 || x->value_len > 18)
                return -1;
            for (size_t j = 0; j < x->value_len; j++) {
                if (x->value[j] < '0' || x->value[j] > '9')
                    return -1;
                v = v * 10 + (uint64_t)(x->value[j] - '0');
            }
            if (has_cl && v != cl)
                return -1; /* two lengths: where would the body end? */
            has_cl = 1;
            cl = v;
        } else if (name_is(x, "transfer-encoding")) {
            has_te = 1;
            chunked = last_token_is(x->value, x->value_len, "chunked");
        } else if (name_is(x, "connection")) {
            close_tok |= has_token(x->value, x->value_len, "close");
            keep_alive_tok |= has_token(x->value, x->value_len, "keep-alive");
        }
    }
    out->keep_alive = !close_tok && (out->minor_version >= 1 || keep_alive_tok);
    if (is_head_request || out->status == 204 || out->status == 304) {
        out->body = HTTP1RESP_BODY_NONE; /* a Content-Length here describes a body not sent */
    } else if (has_te) {
        /* Transfer-Encoding overrides Content-Length (RFC 9112 6.3); both at
         * once is odd enough not to trust the connection afterwards */
        out->body = chunked ? HTTP1RESP_BODY_CHUNKED : HTTP1RESP_BODY_EOF;
        if (has_cl || !chunked)
            out->keep_alive = 0;
    } else if (has_cl) {
        out->body = cl == 0 ? HTTP1RESP_BODY_NONE : HTTP1RESP_BODY_LENGTH;
        out->content_length = cl;
    } else {
        out->body = HTTP1RESP_BODY_EOF;
        out->keep_alive = 0;
    }
    return 0;
}

long http1resp_head(const uint8_t *buf, size_t len, int is_head_request, http1resp_head_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t off = 0;
    for (;;) {
        struct phr_header hd[HTTP1RESP_MAX_HEADERS];
        size_t n = HTTP1RESP_MAX_HEADERS, msg_len;
        int minor = 0, status = 0;
        const char *msg;
        size_t avail = len - off;
        if (avail > HTTP1RESP_MAX_HEAD_BYTES - off)
            avail = HTTP1RESP_MAX_HEAD_BYTES - off; /* heads past the limit never parse */
        int rc = phr_parse_response((const char *)buf + off, avail, &minor, &status, &msg, &msg_len, hd, &n, 0);
        if (rc == -2)
            return len >= HTTP1RESP_MAX_HEAD_BYTES ? -1 : 0;
        if (rc < 0 || status < 100 || status > 999 || status == 101)
            return -1;
        off += (size_t)rc;
        if (status < 200) /* 100 Continue, 103 Early Hints: the final head follows */
            continue;
        out->status = status;
        out->minor_version = minor;
        if (take_headers(hd, n, is_head_request, out) != 0)
            return -1;
        return (long)off;
    }
}
