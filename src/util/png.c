/* png.c - owns binday's PNG encoding (png.h): the signature, IHDR, one IDAT
 * of zlib-compressed rows (filter 0 on every row; the icons are flat colour
 * areas, which deflate shrinks well without row filters) and IEND, each with
 * its CRC-32. */
#include "binday/util/png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "binday/util/xalloc.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* length, type, data, CRC of type + data; returns the bytes written */
static size_t chunk(uint8_t *out, const char type[4], const uint8_t *data, size_t n)
{
    be32(out, (uint32_t)n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, out + 4, (uInt)(n + 4));
    be32(out + 8 + n, (uint32_t)crc);
    return n + 12;
}

uint8_t *png_encode_rgb(const uint8_t *rgb, unsigned w, unsigned h, size_t *len)
{
    size_t row = (size_t)w * 3 + 1, raw_len = row * h;
    uint8_t *raw = xmalloc(raw_len);
    for (unsigned y = 0; y < h; y++) {
        raw[y * row] = 0; /* filter: none */
        memcpy(raw + y * row + 1, rgb + (size_t)y * w * 3, (size_t)w * 3);
    }
    uLongf zlen = compressBound((uLong)raw_len);
    uint8_t *z = xmalloc(zlen);
    if (compress2(z, &zlen, raw, (uLong)raw_len, 9) != Z_OK) /* only memory can fail it */
        xalloc_die("png deflate", raw_len);
    free(raw);
    uint8_t *out = xmalloc(8 + 25 + 12 + zlen + 12);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    uint8_t ihdr[13];
    be32(ihdr, w);
    be32(ihdr + 4, h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* filter method */
    ihdr[12] = 0; /* no interlace */
    size_t o = 8;
    o += chunk(out + o, "IHDR", ihdr, sizeof(ihdr));
    o += chunk(out + o, "IDAT", z, zlen);
    o += chunk(out + o, "IEND", NULL, 0);
    free(z);
    *len = o;
    return out;
}
