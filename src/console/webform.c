/* webform.c - owns the console's untrusted-bytes parsers: form bodies
 * (urlencoded and multipart/form-data) and the Cookie header (webform.h).
 * Everything is bounded by the input length and WEBFORM_MAX_*; nothing reads
 * past len and nothing is trusted to be NUL-terminated. */
#include "binday/console/webform.h"

#include <stdlib.h>
#include <string.h>

#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

static void form_reset(webform_t *f)
{
    free(f->arena);
    memset(f, 0, sizeof(*f));
}

void webform_free(webform_t *f)
{
    form_reset(f);
}

const webform_field_t *webform_get(const webform_t *f, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < f->n; i++)
        if (f->fields[i].name_len == nl && memcmp(f->fields[i].name, name, nl) == 0)
            return &f->fields[i];
    return NULL;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Text a person typed: UTF-8 with no NUL and no controls but TAB, CR, LF. */
static int text_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            return 0;
    }
    return utf8_valid((const uint8_t *)s, n);
}

/* %-decode p[0..n) into dst (at most n bytes); -1 on a bad escape. */
static long urldecode(const uint8_t *p, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '+') {
            dst[o++] = ' ';
        } else if (p[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(p[i + 1]), l = hexval(p[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            dst[o++] = (char)(h << 4 | l);
            i += 2;
        } else {
            dst[o++] = (char)p[i];
        }
    }
    return (long)o;
}

int webform_parse_urlencoded(const uint8_t *body, size_t len, webform_t *out)
{
    memset(out, 0, sizeof(*out));
    /* decoded text is never longer than the input; +1 NUL per name and value */
    out->arena = xmalloc(len + 2 * WEBFORM_MAX_FIELDS + 2);
    size_t used = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        if (j > i) {
            if (out->n == WEBFORM_MAX_FIELDS)
                goto bad;
            size_t eq = i;
            while (eq < j && body[eq] != '=')
                eq++;
            webform_field_t *f = &out->fields[out->n++];
            long nl = urldecode(body + i, eq - i, out->arena + used);
            if (nl < 0 || nl > WEBFORM_MAX_NAME || !text_ok(out->arena + used, (size_t)nl))
                goto bad;
            f->name = out->arena + used;
            f->name_len = (size_t)nl;
            used += (size_t)nl;
            out->arena[used++] = 0;
            size_t vs = eq < j ? eq + 1 : j;
            long vl = urldecode(body + vs, j - vs, out->arena + used);
            if (vl < 0 || !text_ok(out->arena + used, (size_t)vl))
                goto bad;
            f->value = out->arena + used;
            f->value_len = (size_t)vl;
            used += (size_t)vl;
            out->arena[used++] = 0;
        }
        i = j + 1;
    }
    return 0;
bad:
    form_reset(out);
    return -1;
}

static int lower_eq(const uint8_t *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n < l)
        return 0;
    for (size_t i = 0; i < l; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        if (c != (uint8_t)lit[i])
            return 0;
    }
    return 1;
}

/* RFC 2046 bchars without the space (a trailing space would be ambiguous) */
static int bchar(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           strchr("'()+_,-./:=?", c) != NULL;
}

/* Find parameter `key` (lower-case) in "; k=v; k2="v2"" text p[0..n): its value
 * (quotes removed, no escapes allowed) in v and vl. 0 or -1. */
static int header_param(const uint8_t *p, size_t n, const char *key, const uint8_t **v, size_t *vl)
{
    size_t kl = strlen(key), i = 0;
    while (i < n) {
        /* to the next ';' outside quotes */
        int q = 0;
        while (i < n && (q || p[i] != ';')) {
            if (p[i] == '"')
                q = !q;
            i++;
        }
        if (i >= n)
            return -1;
        i++; /* past ';' */
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i + kl < n && lower_eq(p + i, n - i, key) && p[i + kl] == '=') {
            size_t s = i + kl + 1;
            if (s < n && p[s] == '"') {
                size_t e = s + 1;
                while (e < n && p[e] != '"') {
                    if (p[e] == '\\')
                        return -1;
                    e++;
                }
                if (e >= n)
                    return -1;
                *v = p + s + 1;
                *vl = e - s - 1;
                return 0;
            }
            size_t e = s;
            while (e < n && p[e] != ';' && p[e] != ' ' && p[e] != '\t')
                e++;
            *v = p + s;
            *vl = e - s;
            return 0;
        }
    }
    return -1;
}

int webform_multipart_boundary(const uint8_t *ctype, size_t len, char *dst)
{
    static const char mt[] = "multipart/form-data";
    dst[0] = 0;
    if (!lower_eq(ctype, len, mt))
        return -1;
    const uint8_t *v;
    size_t vl;
    if (header_param(ctype + sizeof(mt) - 1, len - (sizeof(mt) - 1), "boundary", &v, &vl) != 0 || vl == 0 ||
        vl > WEBFORM_MAX_BOUNDARY)
        return -1;
    for (size_t i = 0; i < vl; i++)
        if (!bchar(v[i]))
            return -1;
    memcpy(dst, v, vl);
    dst[vl] = 0;
    return 0;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t nl)
{
    if (nl == 0 || n < nl)
        return NULL;
    for (size_t i = 0; i + nl <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* One part's headers p[0..n) (CRLF-separated lines): name and filename. */
static int part_headers(const uint8_t *p, size_t n, const uint8_t **name, size_t *nl, const uint8_t **fn, size_t *fl)
{
    static const char cd[] = "content-disposition:";
    *name = *fn = NULL;
    *nl = *fl = 0;
    int seen = 0;
    size_t i = 0;
    while (i < n) {
        const uint8_t *e = find(p + i, n - i, (const uint8_t *)"\r\n", 2);
        size_t ll = e ? (size_t)(e - (p + i)) : n - i;
        const uint8_t *line = p + i;
        if (lower_eq(line, ll, cd)) {
            if (seen++)
                return -1;
            size_t k = sizeof(cd) - 1;
            while (k < ll && (line[k] == ' ' || line[k] == '\t'))
                k++;
            if (!lower_eq(line + k, ll - k, "form-data"))
                return -1;
            k += 9;
            if (header_param(line + k, ll - k, "name", name, nl) != 0)
                return -1;
            if (header_param(line + k, ll - k, "filename", fn, fl) != 0)
                *fn = NULL;
        }
        i += ll + 2;
    }
    return seen == 1 ? 0 : -1;
}

int webform_parse_multipart(const uint8_t *body, size_t len, const char *boundary, webform_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > WEBFORM_MAX_BOUNDARY)
        return -1;
    uint8_t delim[WEBFORM_MAX_BOUNDARY + 4]; /* "\r\n--" boundary */
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, bl);
    size_t dl = bl + 4;
    out->arena = xmalloc(len + 3 * WEBFORM_MAX_FIELDS + 3);
    size_t used = 0;
    /* the body starts with "--boundary" (no preamble accepted) */
    if (len < dl - 2 || memcmp(body, delim + 2, dl - 2) != 0)
        goto bad;
    size_t i = dl - 2;
    for (;;) {
        /* after a delimiter: "--" ends the body, else CRLF and a part */
        if (i + 2 <= len && body[i] == '-' && body[i + 1] == '-')
            return 0; /* epilogue ignored */
        if (i + 2 > len || body[i] != '\r' || body[i + 1] != '\n')
            goto bad;
        i += 2;
        /* a part without headers ("\r\n" at once) has no name: refused */
        const uint8_t *hend = find(body + i, len - i, (const uint8_t *)"\r\n\r\n", 4);
        const uint8_t *hstart = body + i;
        if (hend == NULL || (len - i >= 2 && body[i] == '\r' && body[i + 1] == '\n'))
            goto bad;
        size_t hl = (size_t)(hend - hstart);
        i += hl + 4;
        const uint8_t *name, *fn;
        size_t nl, fl;
        if (part_headers(hstart, hl, &name, &nl, &fn, &fl) != 0 || nl == 0 || nl > WEBFORM_MAX_NAME ||
            !text_ok((const char *)name, nl) || (fn != NULL && !text_ok((const char *)fn, fl)))
            goto bad;
        const uint8_t *vend = find(body + i, len - i, delim, dl);
        if (vend == NULL)
            goto bad;
        size_t vl = (size_t)(vend - (body + i));
        if (out->n == WEBFORM_MAX_FIELDS)
            goto bad;
        webform_field_t *f = &out->fields[out->n++];
        f->name = out->arena + used;
        f->name_len = nl;
        memcpy(out->arena + used, name, nl);
        used += nl;
        out->arena[used++] = 0;
        f->value = out->arena + used;
        f->value_len = vl;
        memcpy(out->arena + used, body + i, vl);
        used += vl;
        out->arena[used++] = 0;
        if (fn != NULL) {
            f->filename = out->arena + used;
            memcpy(out->arena + used, fn, fl);
            used += fl;
            out->arena[used++] = 0;
        }
        i += vl + dl;
    }
bad:
    form_reset(out);
    return -1;
}

int webform_cookie(const uint8_t *hdr, size_t len, const char *name, const uint8_t **val, size_t *val_len)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == ';'))
            i++;
        size_t s = i;
        while (i < len && hdr[i] != ';')
            i++;
        /* one pair hdr[s..i) */
        size_t e = i;
        while (e > s && (hdr[e - 1] == ' ' || hdr[e - 1] == '\t'))
            e--;
        if (e - s > nl && memcmp(hdr + s, name, nl) == 0 && hdr[s + nl] == '=') {
            *val = hdr + s + nl + 1;
            *val_len = e - (s + nl + 1);
            return 0;
        }
    }
    return -1;
}
