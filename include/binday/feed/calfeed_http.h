/* calfeed_http.h - the calendar feed's HTTP route, GET/HEAD
 * /calendar/{token}.ics: token -> property -> feed body (calfeed.h), with an
 * ETag, 304 on If-None-Match, and Cache-Control. Kept apart from calfeed.h
 * so what only makes links and feeds (mail, the CLI) does not depend on the
 * server.
 */
#ifndef BINDAY_CALFEED_HTTP_H
#define BINDAY_CALFEED_HTTP_H

#include <stddef.h>

#include "binday/data/store.h"
#include "binday/feed/calfeed.h"
#include "binday/http/server.h"
#include "binday/util/secret.h"

/* Load (or create) the key and remember what the handler needs. Call once
 * before the server starts. Returns 0, or -1 with a message in err. */
int calfeed_global_init(store_t *store, const char *data_dir, int fixed_today, char *err, size_t err_size);
/* The key loaded by calfeed_global_init (for links handed out by this process). */
const secret_key_t *calfeed_key(void);
/* Route handler for GET/HEAD /calendar/ (prefix). */
int calfeed_handle(server_thread_t *t, h2o_req_t *req);
/* Free this thread's feed state (call from the server's thread_fini). */
void calfeed_thread_cleanup(void);

#endif
