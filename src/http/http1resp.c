/* http1resp.c - owns reading an HTTP/1.1 response for the outbound client:
 * the head (status line, headers, framing, keep-alive) and the chunked body
 * decoder. Pure: bytes in, a description or decoded data out; no I/O and no
 * allocation (http1resp.h says how strict it is and why). */
#include "binday/http/http1resp.h"

#include <string.h>
#include <strings.h>

/* ---- the head ------------------------------------------------------------------ */

/* RFC 9110 tchar: the characters of a header name. */
static int is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte of a header value or reason phrase: HTAB, SP, VCHAR, obs-text. */
static int is_field_byte(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Does a comma-separated header value hold `tok` (case-insensitive)? */
static int has_token(const uint8_t *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < len) {
        while (i < len && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tl && strncasecmp((const char *)v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Is `tok` the last coding of a Transfer-Encoding value? */
static int last_token_is(const uint8_t *v, size_t len, const char *tok)
{
    size_t e = len;
    while (e > 0 && (is_ows(v[e - 1]) || v[e - 1] == ','))
        e--;
    size_t s = e;
    while (s > 0 && v[s - 1] != ',' && !is_ows(v[s - 1]))
        s--;
    size_t tl = strlen(tok);
    return e - s == tl && strncasecmp((const char *)v + s, tok, tl) == 0;
}

static int name_is(const uint8_t *name, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && strncasecmp((const char *)name, lit, n) == 0;
}

/* What one head's headers said about framing and the connection. */
struct fields {
    int close_tok, keep_alive_tok, chunked, has_te, has_cl;
    uint64_t cl;
    const uint8_t *content_type;
    size_t content_type_len;
};

/* One header line (without its CR LF): checked, and what binday reads kept.
 * 0, or -1 if malformed. */
static int take_field(const uint8_t *line, size_t len, struct fields *f)
{
    if (len == 0 || is_ows(line[0]))
        return -1; /* obs-fold (or an empty name) */
    size_t i = 0;
    while (i < len && is_tchar(line[i]))
        i++;
    if (i == 0 || i == len || line[i] != ':')
        return -1; /* no name, a bad name byte, or space before the colon */
    const uint8_t *name = line;
    size_t name_len = i++;
    while (i < len && is_ows(line[i]))
        i++;
    size_t e = len;
    while (e > i && is_ows(line[e - 1]))
        e--;
    const uint8_t *v = line + i;
    size_t vl = e - i;
    for (size_t j = 0; j < vl; j++)
        if (!is_field_byte(v[j]))
            return -1; /* NUL, a bare CR, other controls */

    if (name_is(name, name_len, "content-type")) {
        f->content_type = v;
        f->content_type_len = vl;
    } else if (name_is(name, name_len, "content-length")) {
        /* digits only: no sign, no list ("5, 5"), at most 18 of them */
        if (vl == 0 || vl > 18)
            return -1;
        uint64_t n = 0;
        for (size_t j = 0; j < vl; j++) {
            if (v[j] < '0' || v[j] > '9')
                return -1;
            n = n * 10 + (uint64_t)(v[j] - '0');
        }
        if (f->has_cl && n != f->cl)
            return -1; /* two lengths: where would the body end? */
        f->has_cl = 1;
        f->cl = n;
    } else if (name_is(name, name_len, "transfer-encoding")) {
        /* several Transfer-Encoding lines form one list: the last line's last
         * coding is the list's last */
        f->has_te = 1;
        f->chunked = last_token_is(v, vl, "chunked");
    } else if (name_is(name, name_len, "connection")) {
        f->close_tok |= has_token(v, vl, "close");
        f->keep_alive_tok |= has_token(v, vl, "keep-alive");
    }
    return 0;
}

/* The final head's framing (RFC 9112 6.3). */
static void take_framing(const struct fields *f, int is_head_request, http1resp_head_t *out)
{
    out->content_type = f->content_type;
    out->content_type_len = f->content_type_len;
    out->keep_alive = !f->close_tok && (out->minor_version >= 1 || f->keep_alive_tok);
    if (is_head_request || out->status == 204 || out->status == 304) {
        out->body = HTTP1RESP_BODY_NONE; /* a Content-Length here describes a body not sent */
    } else if (f->has_te) {
        /* Transfer-Encoding overrides Content-Length; both at once is odd
         * enough not to trust the connection afterwards */
        out->body = f->chunked ? HTTP1RESP_BODY_CHUNKED : HTTP1RESP_BODY_EOF;
        if (f->has_cl || !f->chunked)
            out->keep_alive = 0;
    } else if (f->has_cl) {
        out->body = f->cl == 0 ? HTTP1RESP_BODY_NONE : HTTP1RESP_BODY_LENGTH;
        out->content_length = f->cl;
    } else {
        out->body = HTTP1RESP_BODY_EOF;
        out->keep_alive = 0;
    }
}

/* The next line of buf[*off, lim): its bytes without CR LF. 1 with the line
 * (and *off past it), 0 if its end has not arrived, -1 if it ends in a bare
 * LF. (A CR inside a line is refused by the line's own checks.) */
static int next_line(const uint8_t *buf, size_t lim, size_t *off, const uint8_t **line, size_t *len)
{
    const uint8_t *s = buf + *off;
    const uint8_t *lf = memchr(s, '\n', lim - *off);
    if (lf == NULL)
        return 0;
    if (lf == s || lf[-1] != '\r')
        return -1;
    *line = s;
    *len = (size_t)(lf - s) - 1;
    *off = (size_t)(lf - buf) + 1;
    return 1;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]": 0, or -1 if malformed. */
static int take_status_line(const uint8_t *l, size_t n, int *minor, int *status)
{
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (l[i] < '0' || l[i] > '9')
            return -1;
    if (n > 12 && l[12] != ' ')
        return -1; /* "HTTP/1.1 2000" */
    for (size_t i = 13; i < n; i++)
        if (!is_field_byte(l[i]))
            return -1;
    *minor = l[7] - '0';
    *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    return *status < 100 ? -1 : 0;
}

/* A prefix that can never become "HTTP/1.": refused without waiting for the
 * line's end (a server speaking another protocol). */
static int bad_start(const uint8_t *b, size_t n)
{
    static const char want[] = "HTTP/1.";
    size_t m = n < sizeof(want) - 1 ? n : sizeof(want) - 1;
    return memcmp(b, want, m) != 0;
}

/* The head is cut short: 0 (more bytes may complete it), or -1 when what
 * is there is already wrong or the limit is reached. */
static long short_head(int r, size_t len, http1resp_head_t *out)
{
    memset(out, 0, sizeof(*out));
    return r < 0 || len >= HTTP1RESP_MAX_HEAD_BYTES ? -1 : 0;
}

long http1resp_head(const uint8_t *buf, size_t len, int is_head_request, http1resp_head_t *out)
{
    memset(out, 0, sizeof(*out));
    /* bytes past the limit never count: a head that has not ended within it
     * is malformed */
    size_t lim = len < HTTP1RESP_MAX_HEAD_BYTES ? len : HTTP1RESP_MAX_HEAD_BYTES;
    size_t off = 0;
    for (;;) {
        const uint8_t *l;
        size_t n;
        int minor, status;
        if (off == lim)
            return short_head(0, len, out);
        if (bad_start(buf + off, lim - off))
            return -1;
        int r = next_line(buf, lim, &off, &l, &n);
        if (r <= 0)
            return short_head(r, len, out);
        if (take_status_line(l, n, &minor, &status) != 0 || status == 101)
            return -1;
        struct fields f;
        memset(&f, 0, sizeof(f));
        size_t count = 0;
        for (;;) {
            if (off == lim)
                return short_head(0, len, out);
            r = next_line(buf, lim, &off, &l, &n);
            if (r <= 0)
                return short_head(r, len, out);
            if (n == 0)
                break; /* the empty line: the end of this head */
            if (++count > HTTP1RESP_MAX_HEADERS || take_field(l, n, &f) != 0)
                return -1;
        }
        if (status < 200) /* 100 Continue, 103 Early Hints: the final head follows */
            continue;
        out->status = status;
        out->minor_version = minor;
        take_framing(&f, is_head_request, out);
        return (long)off;
    }
}

/* ---- the chunked body ------------------------------------------------------------ */

enum {
    CH_SIZE,        /* hex digits of a chunk size */
    CH_BWS,         /* blanks after the size: then ';' or the line's end */
    CH_EXT,         /* chunk extensions, skipped */
    CH_SIZE_LF,     /* the size line's CR seen */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* the CR LF after the data */
    CH_DATA_LF,
    CH_TRAILER_BOL, /* the start of a trailer line, or of the final empty line */
    CH_TRAILER,     /* inside a trailer line, skipped */
    CH_TRAILER_LF,
    CH_END_LF,      /* the final line's CR seen */
    CH_DONE,
    CH_BAD,
    CH_TOO_LARGE
};

void http1resp_chunked_init(http1resp_chunked_t *d, uint64_t max_data)
{
    memset(d, 0, sizeof(*d));
    d->state = CH_SIZE;
    d->max_data = max_data;
}

size_t http1resp_chunked_room(const http1resp_chunked_t *d, size_t in_len)
{
    uint64_t left = d->max_data > d->data ? d->max_data - d->data : 0;
    return (uint64_t)in_len < left ? in_len : (size_t)left;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One framing byte (anything but chunk data): the next state. */
static int framing_byte(http1resp_chunked_t *d, uint8_t c)
{
    switch (d->state) {
    case CH_SIZE: {
        int x = hex_value(c);
        if (x >= 0) {
            if (d->size > (UINT64_MAX >> 4))
                return CH_BAD; /* overflow */
            d->size = d->size << 4 | (uint64_t)x;
            d->digits++;
            /* refused as soon as announced, as a Content-Length is */
            if (d->size > d->max_data - d->data)
                return CH_TOO_LARGE;
            return CH_SIZE;
        }
        if (d->digits == 0)
            return CH_BAD;
        if (c == '\r')
            return CH_SIZE_LF;
        if (c == ';')
            return CH_EXT;
        return is_ows(c) ? CH_BWS : CH_BAD;
    }
    case CH_BWS:
        if (c == '\r')
            return CH_SIZE_LF;
        if (c == ';')
            return CH_EXT;
        return is_ows(c) ? CH_BWS : CH_BAD;
    case CH_EXT:
        /* chunk-ext: skipped; only the line's bytes are checked */
        if (c == '\r')
            return CH_SIZE_LF;
        return is_field_byte(c) ? CH_EXT : CH_BAD;
    case CH_SIZE_LF:
        if (c != '\n')
            return CH_BAD;
        d->line = 0;
        if (d->size == 0)
            return CH_TRAILER_BOL;
        d->chunk_left = d->size;
        d->size = 0;
        d->digits = 0;
        return CH_DATA;
    case CH_DATA_CR:
        return c == '\r' ? CH_DATA_LF : CH_BAD;
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE : CH_BAD;
    case CH_TRAILER_BOL:
        if (c == '\r')
            return CH_END_LF;
        /* a trailer field: a name, then its colon; never obs-fold */
        if (!is_tchar(c))
            return CH_BAD;
        d->trailer_colon = 0;
        return CH_TRAILER;
    case CH_TRAILER:
        if (c == '\r')
            return d->trailer_colon ? CH_TRAILER_LF : CH_BAD;
        if (c == ':')
            d->trailer_colon = 1;
        else if (!d->trailer_colon && !is_tchar(c))
            return CH_BAD;
        else if (!is_field_byte(c))
            return CH_BAD;
        return CH_TRAILER;
    case CH_TRAILER_LF:
        if (c != '\n')
            return CH_BAD;
        d->line = 0;
        return CH_TRAILER_BOL;
    case CH_END_LF:
        return c == '\n' ? CH_DONE : CH_BAD;
    }
    return CH_BAD;
}

http1resp_chunked_rc_t http1resp_chunked_decode(http1resp_chunked_t *d, const uint8_t *in, size_t in_len,
                                                uint8_t *out, size_t *out_len, size_t *consumed)
{
    size_t i = 0, o = 0;
    while (i < in_len && d->state < CH_DONE) {
        if (d->state == CH_DATA) {
            size_t m = in_len - i;
            if ((uint64_t)m > d->chunk_left)
                m = (size_t)d->chunk_left;
            memmove(out + o, in + i, m); /* out may be in: o <= i always */
            o += m;
            i += m;
            d->chunk_left -= m;
            d->data += m;
            if (d->chunk_left == 0)
                d->state = CH_DATA_CR;
            continue;
        }
        uint8_t c = in[i++];
        if (++d->framing > HTTP1RESP_CHUNK_FRAMING_MAX) {
            d->state = CH_BAD;
            break;
        }
        int in_trailers = d->state >= CH_TRAILER_BOL;
        if (in_trailers ? ++d->trailers > HTTP1RESP_TRAILERS_MAX
                        : d->state <= CH_EXT && ++d->line > HTTP1RESP_CHUNK_LINE_MAX) {
            d->state = CH_BAD;
            break;
        }
        d->state = framing_byte(d, c);
    }
    *out_len = o;
    *consumed = i;
    switch (d->state) {
    case CH_DONE:
        return HTTP1RESP_CHUNKED_DONE;
    case CH_BAD:
        return HTTP1RESP_CHUNKED_MALFORMED;
    case CH_TOO_LARGE:
        return HTTP1RESP_CHUNKED_TOO_LARGE;
    }
    return HTTP1RESP_CHUNKED_MORE;
}
