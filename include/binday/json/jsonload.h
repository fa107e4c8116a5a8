/* jsonload.h - a fast JSON reader that builds jansson trees.
 *
 * jansson's json_loadb lexes through a one-byte-at-a-time stream callback;
 * for the ~2-3 KB Alexa request envelope that was a fifth of the server's
 * user-space instructions (issue 8, bench/results.md). jsonload reads the
 * same bytes from a flat buffer (word-at-a-time string scanning, no per-byte
 * calls) and builds the SAME jansson tree, so every caller keeps working on
 * json_t. See docs/jsonload.md for the equivalence contract and its tests.
 */
#ifndef BINDAY_JSONLOAD_H
#define BINDAY_JSONLOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Flags handled natively; any other jansson decoding flag (JSON_ALLOW_NUL,
 * JSON_DECODE_INT_AS_REAL, JSON_DISABLE_EOF_CHECK) makes jsonload hand the
 * bytes to json_loadb unchanged, so the result is still jansson's. */
#define JSONLOAD_NATIVE_FLAGS ((size_t)(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY))

/* Parses buf[0..len) exactly as json_loadb((const char *)buf, len, flags, err)
 * would: it accepts the same inputs and returns a json_equal tree whose every
 * node has the same type (integer vs real included).
 *
 * Returns a new reference (the caller json_decref()s it), or NULL with
 * err->text set (its last byte holds the json_error_code, as in jansson),
 * err->position the byte offset of the problem and err->line/column
 * (1-based line, character column) for it. The error texts follow jansson's
 * wording but are not guaranteed identical. err may be NULL. buf may be NULL
 * only when len is 0 (then it is rejected like an empty document). */
json_t *jsonload(const uint8_t *buf, size_t len, size_t flags, json_error_t *err);

#endif
