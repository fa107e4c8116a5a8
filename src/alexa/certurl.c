/* certurl.c - owns SignatureCertChainUrl parsing, dot-segment removal and the
 * Amazon URL rules (see certurl.h and docs/verification.md).
 *
 * Why an allowlist grammar rather than a general URL parser: the classic
 * failures in other Alexa libraries come from checking one reading of the URL
 * and fetching another (percent-decoding, backslash-as-slash, userinfo, dot
 * segments applied by the HTTP client but not by the checker). Amazon's cert
 * URLs only ever use unreserved characters, so we accept exactly
 *   scheme "://" host [":" port] path
 * with bytes from [A-Za-z0-9-._~/:] and reject everything else ('%', '@', '\\',
 * '?', '#', whitespace, controls, non-ASCII). Nothing is decoded, so there is
 * only one reading, and the output is what we fetch.
 */
#include "binday/alexa/certurl.h"

#include <string.h>

static const char want_host[] = "s3.amazonaws.com";
static const char want_prefix[] = "/echo.api/";

static int allowed_byte(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':';
}

static int ieq(const uint8_t *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        uint8_t x = a[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x - 'A' + 'a');
        if (x != (uint8_t)b[i])
            return 0;
    }
    return 1;
}

long certurl_remove_dot_segments(const char *path, size_t len, char *out, size_t out_size)
{
    if (len == 0 || path[0] != '/' || out_size < len + 1)
        return -1;
    /* Work segment by segment: `in` is the remaining input buffer of RFC 3986
     * 5.2.4, `o` the output buffer. Since the input always starts with '/'
     * here, the A. and D. rules (relative prefixes) never apply. */
    size_t i = 0, o = 0;
    while (i < len) {
        const char *p = path + i;
        size_t rest = len - i;
        /* B: "/./" -> "/" ; "/." at end -> "/" */
        if (rest >= 3 && memcmp(p, "/./", 3) == 0) {
            i += 2;
            continue;
        }
        if (rest == 2 && memcmp(p, "/.", 2) == 0) {
            out[o++] = '/';
            break;
        }
        /* C: "/../" -> "/" and drop last output segment; "/.." at end likewise */
        if ((rest >= 4 && memcmp(p, "/../", 4) == 0) || (rest == 3 && memcmp(p, "/..", 3) == 0)) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* remove the '/' that started the dropped segment */
            if (rest == 3) {
                out[o++] = '/';
                break;
            }
            i += 3; /* leave the trailing '/' as the start of the next input */
            continue;
        }
        /* E: move "/segment" to the output */
        size_t j = 1;
        while (j < rest && p[j] != '/')
            j++;
        memcpy(out + o, p, j);
        o += j;
        i += j;
    }
    out[o] = '\0';
    return (long)o;
}

int certurl_normalize(const uint8_t *in, size_t len, char *out, size_t out_size, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = "ok";
    if (in == NULL || len == 0) {
        *why = "empty";
        return -1;
    }
    if (len > CERTURL_MAX) {
        *why = "too long";
        return -1;
    }
    for (size_t k = 0; k < len; k++)
        if (!allowed_byte(in[k])) {
            /* covers userinfo '@', '%' escapes, '\\', '?', '#', spaces, controls, NUL, non-ASCII */
            *why = "forbidden character";
            return -1;
        }

    /* scheme */
    size_t s = 0;
    while (s < len && in[s] != ':')
        s++;
    if (s == len || !ieq(in, s, "https")) {
        *why = "scheme is not https";
        return -1;
    }
    if (len - s < 3 || in[s + 1] != '/' || in[s + 2] != '/') {
        *why = "no authority";
        return -1;
    }
    size_t a = s + 3, ae = a;
    while (ae < len && in[ae] != '/')
        ae++;
    if (ae == len) {
        *why = "no path";
        return -1;
    }
    /* authority = host [":" port]; '@' was already rejected */
    size_t colon = a;
    while (colon < ae && in[colon] != ':')
        colon++;
    size_t hlen = colon - a;
    if (hlen == 0) {
        *why = "empty host";
        return -1;
    }
    if (!ieq(in + a, hlen, want_host)) {
        /* an exact comparison also rejects "s3.amazonaws.com." and suffix tricks */
        *why = "host is not s3.amazonaws.com";
        return -1;
    }
    if (colon < ae) {
        /* exactly "443": no empty port, no leading zeros, no second colon */
        if (ae - colon - 1 != 3 || memcmp(in + colon + 1, "443", 3) != 0) {
            *why = "port is not 443";
            return -1;
        }
    }

    /* path */
    char path[CERTURL_MAX + 1];
    long plen = certurl_remove_dot_segments((const char *)in + ae, len - ae, path, sizeof(path));
    if (plen < 0) {
        *why = "bad path";
        return -1;
    }
    size_t pre = sizeof(want_prefix) - 1;
    if ((size_t)plen <= pre || memcmp(path, want_prefix, pre) != 0) {
        *why = "path does not start with /echo.api/";
        return -1;
    }
    /* Empty segments ("//") and a trailing '/' name no object; S3 keys could
     * contain them but Amazon's never do, and they invite disagreement
     * between the checker and intermediaries. ':' in the path likewise. */
    if (strstr(path, "//") != NULL || path[plen - 1] == '/' || memchr(path, ':', (size_t)plen)) {
        *why = "path has empty segment or colon";
        return -1;
    }
    static const char prefix[] = "https://s3.amazonaws.com";
    size_t need = sizeof(prefix) - 1 + (size_t)plen + 1;
    if (out == NULL || out_size < need) {
        *why = "output buffer too small";
        return -1;
    }
    memcpy(out, prefix, sizeof(prefix) - 1);
    memcpy(out + sizeof(prefix) - 1, path, (size_t)plen + 1);
    return 0;
}
