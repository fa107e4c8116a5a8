/* b64.c - owns strict base64 (RFC 4648 section 4) decoding and encoding. */
#include "binday/util/b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of each byte as a base64 symbol, 255 for none: a table lookup
 * instead of a chain of range tests, whose branches mispredict on random
 * text (a signature is 344 such bytes per request). */
static const uint8_t symbol[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

static int sym(uint8_t c)
{
    return symbol[c] == 255 ? -1 : symbol[c];
}

int b64_decode_strict(const uint8_t *in, size_t len, uint8_t *out, size_t out_size, size_t *out_len)
{
    if (in == NULL || len == 0 || len % 4 != 0)
        return -1;
    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = (in[len - 2] == '=') ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (out_size < n)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = (i + 4 == len);
        int v[4];
        for (int k = 0; k < 4; k++) {
            if (last && k >= 4 - (int)pad) {
                v[k] = 0; /* a '=' in the padding position (checked above) */
                continue;
            }
            v[k] = sym(in[i + (size_t)k]);
            if (v[k] < 0)
                return -1; /* also rejects '=' anywhere but the final padding */
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        if (last && pad == 2) {
            if (w & 0xffff)
                return -1; /* non-zero unused bits */
            out[o++] = (uint8_t)(w >> 16);
        } else if (last && pad == 1) {
            if (w & 0xff)
                return -1;
            out[o++] = (uint8_t)(w >> 16);
            out[o++] = (uint8_t)(w >> 8);
        } else {
            out[o++] = (uint8_t)(w >> 16);
            out[o++] = (uint8_t)(w >> 8);
            out[o++] = (uint8_t)w;
        }
    }
    *out_len = o;
    return 0;
}

long b64_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
    size_t need = (len + 2) / 3 * 4 + 1;
    if (out_size < need)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t w = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = alphabet[(w >> 18) & 63];
        out[o++] = alphabet[(w >> 12) & 63];
        out[o++] = alphabet[(w >> 6) & 63];
        out[o++] = alphabet[w & 63];
    }
    if (len - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(w >> 18) & 63];
        out[o++] = alphabet[(w >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t w = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = alphabet[(w >> 18) & 63];
        out[o++] = alphabet[(w >> 12) & 63];
        out[o++] = alphabet[(w >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}
