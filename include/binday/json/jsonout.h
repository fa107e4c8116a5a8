/* jsonout.h - compact JSON text of a jansson tree, fast.
 *
 * Why: json_dumps was ~6% of the server's instructions per request
 * (bench/results.md): it writes through a callback per fragment, walks UTF-8
 * one code point at a time and keeps a hashtable of visited containers (keys
 * made with snprintf of the pointer) to detect cycles. This writer appends
 * to one growing buffer, copies plain runs of a string at once, and bounds
 * nesting depth instead of tracking parents (our trees never have cycles; a
 * cycle ends at the depth bound and fails).
 *
 * The contract, tested differentially against jansson (tests/unit/
 * test_jsonout.c): the output is byte for byte what
 * json_dumps(v, JSON_COMPACT | (flags & JSON_SORT_KEYS)) writes, and NULL
 * exactly when json_dumps fails (a non-container top level, a string that is
 * not valid UTF-8), or when nesting exceeds JSONOUT_MAX_DEPTH.
 */
#ifndef BINDAY_JSONOUT_H
#define BINDAY_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

#include "binday/util/strbuf.h"

#define JSONOUT_MAX_DEPTH 64    /* containers within containers */
#define JSONOUT_MAX_BYTES (64u << 20) /* a bound, far above any document we write */

/* flags: 0 or JSON_SORT_KEYS (compact always; other bits are ignored).
 * Returns malloc'd NUL-terminated text (caller frees with free()), its
 * length in *len when len is not NULL; or NULL (see above, or the text would
 * pass JSONOUT_MAX_BYTES, or memory ran out). */
char *jsonout_dump(const json_t *v, size_t flags, size_t *len);

/* For writers that emit a document's fixed shape themselves (the Alexa
 * response: building a jansson tree only to write it was ~4% of a request's
 * instructions). Both append to b, as jsonout_dump would write the same
 * value; both return 0, or -1 when a string or key is not valid UTF-8 or
 * nesting passes JSONOUT_MAX_DEPTH (b then holds a partial write: discard
 * it). b->failed says whether memory or b's cap ran out. */
int jsonout_put(strbuf_t *b, const json_t *v, size_t flags);
int jsonout_put_string(strbuf_t *b, const char *s, size_t n);

#endif
