/* postcode.c - owns the UK postcode format: normalisation, validation and
 * prefix scopes used by service notices. */
#include "binday/data/postcode.h"

#include <string.h>

static int is_alpha(char c)
{
    return c >= 'A' && c <= 'Z';
}
static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A. */
static int valid_outward(const char *s, size_t n)
{
    if (n < 2 || n > 4 || !is_alpha(s[0]))
        return 0;
    if (n == 2)
        return is_digit(s[1]);
    if (n == 3)
        return (is_digit(s[1]) && (is_digit(s[2]) || is_alpha(s[2]))) ||
               (is_alpha(s[1]) && is_digit(s[2]));
    return is_alpha(s[1]) && is_digit(s[2]) && (is_digit(s[3]) || is_alpha(s[3]));
}

int postcode_normalize(const uint8_t *in, size_t len, char out[POSTCODE_MAX])
{
    char buf[8];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = (char)in[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (is_alpha(c) || is_digit(c)) {
            if (n == 7)
                return -1;
            buf[n++] = c;
        } else if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == ',' || c == '\n' ||
                   c == '\r') {
            continue;
        } else {
            return -1;
        }
    }
    if (n < 5)
        return -1;
    size_t out_len = n - 3;
    const char *inw = buf + out_len;
    if (!is_digit(inw[0]) || !is_alpha(inw[1]) || !is_alpha(inw[2]))
        return -1;
    if (!valid_outward(buf, out_len))
        return -1;
    memcpy(out, buf, out_len);
    out[out_len] = ' ';
    memcpy(out + out_len + 1, inw, 3);
    out[n + 1] = '\0';
    return (int)n + 1;
}

size_t postcode_outward_len(const char *norm)
{
    const char *sp = strchr(norm, ' ');
    return sp ? (size_t)(sp - norm) : strlen(norm);
}

int postcode_in_prefix(const char *norm, const char *prefix, size_t plen)
{
    size_t nlen = strlen(norm);
    if (plen == 0 || plen > nlen || memcmp(norm, prefix, plen) != 0)
        return 0;
    if (memchr(prefix, ' ', plen) == NULL)
        return postcode_outward_len(norm) == plen;
    return 1;
}
