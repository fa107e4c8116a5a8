/* jsonmem.h - the memory jansson's trees live in.
 *
 * Why: a request builds and frees about 300 small jansson blocks (the
 * envelope, the Address API's answer, the response, the transcript record),
 * and glibc malloc/free was ~12% of the server's CPU in perf (bench/results.md).
 * jsonmem hands small blocks out of per-thread chunks by bumping a pointer;
 * a chunk goes back to the system when the last block in it is freed. Blocks
 * may be freed on any thread. Large blocks go to malloc.
 *
 * The price: a long-lived small block keeps its whole chunk
 * (JSONMEM_CHUNK_BYTES) allocated. The server's long-lived trees (config,
 * cached answers) are few; everything per request dies with the request.
 *
 * Install once, first thing in main(), before any jansson value exists: a
 * value made with one allocator must not be freed by another. Code that is
 * not installed (unit tests that never call jsonmem_install) keeps jansson's
 * defaults, and everything below still works.
 *
 * json_dumps() returns memory from jansson's allocator, which plain free()
 * cannot take once jsonmem is installed: use jsonmem_dumps() instead
 * (tests/unit/test_jsonmem.c checks that src/ has no other json_dumps call).
 */
#ifndef BINDAY_JSONMEM_H
#define BINDAY_JSONMEM_H

#include <jansson.h>
#include <stddef.h>

#define JSONMEM_CHUNK_BYTES (32u * 1024) /* one chunk; blocks up to JSONMEM_SMALL_MAX come from chunks */
#define JSONMEM_SMALL_MAX 1024u

/* Makes jansson allocate through jsonmem_malloc / jsonmem_free. Idempotent. */
void jsonmem_install(void);

/* The allocator itself (exposed for tests). jsonmem_malloc returns 16-byte
 * aligned memory or NULL when memory ran out; jsonmem_free(NULL) is a no-op. */
void *jsonmem_malloc(size_t n);
void jsonmem_free(void *p);

/* Chunks this process holds now (all threads): for tests and bench notes. */
size_t jsonmem_chunks_live(void);

/* json_dumps(v, flags) in memory the caller frees with free(); NULL when
 * json_dumps fails or memory ran out. */
char *jsonmem_dumps(const json_t *v, size_t flags);

#endif
