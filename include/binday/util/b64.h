/* b64.h - strict RFC 4648 base64 decoding (standard alphabet).
 *
 * Strict means: length a multiple of 4, '=' padding required and only at the
 * end, no whitespace or line breaks, no URL-safe alphabet, and the unused bits
 * of the last symbol must be zero (so every byte string has exactly one
 * accepted encoding). A pure function over untrusted bytes.
 */
#ifndef BINDAY_B64_H
#define BINDAY_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes b64_decode_strict may write for an input of `len` bytes. */
#define B64_DECODED_MAX(len) (((len) / 4) * 3)

/* Decode `in` into out. Returns 0 and sets *out_len, or -1 if the input is
 * not strict base64 (empty input is rejected) or out_size is too small. */
int b64_decode_strict(const uint8_t *in, size_t len, uint8_t *out, size_t out_size, size_t *out_len);

/* Encode (for tests and tools). Writes NUL-terminated text; returns its
 * length or -1 when out_size < 4 * ceil(len / 3) + 1. */
long b64_encode(const uint8_t *in, size_t len, char *out, size_t out_size);

#endif
