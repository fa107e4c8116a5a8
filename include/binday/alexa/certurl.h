/* certurl.h - normalization and validation of Alexa's SignatureCertChainUrl.
 *
 * A pure function over untrusted bytes. The URL is parsed with a deliberately
 * small grammar (anything a URL parser could read two ways is rejected), its
 * path has RFC 3986 dot segments removed, and only then are Amazon's rules
 * applied: scheme https, host s3.amazonaws.com (both case-insensitive), port
 * absent or 443, path starting with "/echo.api/" (case-sensitive). The output
 * is the exact URL the caller must fetch (and the cache key): lower-case
 * scheme and host, no port, the normalized path.
 */
#ifndef BINDAY_CERTURL_H
#define BINDAY_CERTURL_H

#include <stddef.h>
#include <stdint.h>

/* Longest accepted input and output URL (bytes, without NUL). */
#define CERTURL_MAX 512

/* Normalize and validate `in` (not NUL-terminated; embedded NULs rejected).
 * On success returns 0 and writes the normalized URL, NUL-terminated, to
 * out (out_size >= CERTURL_MAX + 1 always suffices).
 * On failure returns -1 and, when why != NULL, points *why at a static
 * description of the rule that failed (safe to log; contains no input bytes). */
int certurl_normalize(const uint8_t *in, size_t len, char *out, size_t out_size, const char **why);

/* RFC 3986 section 5.2.4 remove_dot_segments on an absolute path (starts with
 * '/'). Writes the result NUL-terminated to out (needs len + 1 bytes; the
 * result is never longer than the input). Returns its length, or -1 if
 * out_size is too small or the path does not start with '/'. Exposed for tests. */
long certurl_remove_dot_segments(const char *path, size_t len, char *out, size_t out_size);

#endif
