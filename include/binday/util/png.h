/* png.h - a minimal PNG writer (8-bit RGB, no interlace) for images binday
 * draws itself (the skill's icons), so no image file has to be committed or
 * fetched. Deterministic: the same pixels always give the same bytes (zlib
 * at a fixed level, no timestamps or text chunks).
 */
#ifndef BINDAY_UTIL_PNG_H
#define BINDAY_UTIL_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encode w x h pixels (rgb: h rows of w * 3 bytes, top row first). Returns a
 * malloc'd PNG (*len bytes) the caller frees; aborts only on OOM (xalloc). */
uint8_t *png_encode_rgb(const uint8_t *rgb, unsigned w, unsigned h, size_t *len);

#endif
