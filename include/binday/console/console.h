/* console.h - the staff console (issue 17, docs/staff-console.md): the pages
 * served on the staff listener (server_staff_t), their sessions, CSRF checks,
 * security headers and static assets. Everything it reads or changes goes
 * through the staff core (binday/staff/): accounts, rate limiting, property
 * view, edits with preview, the audit log.
 *
 * Wiring (cmd_serve): console_global_init once, console_thread_init on each
 * loop thread (from the server's thread_init), console_routes() and
 * console_mount in the server_staff_t, console_thread_fini and
 * console_global_cleanup at the end.
 */
#ifndef BINDAY_CONSOLE_H
#define BINDAY_CONSOLE_H

#include <stddef.h>

#include "binday/data/writer.h"
#include "binday/http/server.h"
#include "binday/staff/ratelimit.h"
#include "binday/staff/staff.h"

typedef struct console_conf {
    staff_t *staff;            /* borrowed; outlives the server */
    staff_ratelimit_t *rl;     /* borrowed */
    const char *assets_dir;    /* govuk-frontend's dist/govuk folder (NULL: no styles) */
    int fixed_today;           /* days since epoch, or 0 for the real date */
} console_conf_t;

/* Keep conf (copied) for the threads. 0, or -1 with a message. */
int console_global_init(const console_conf_t *conf, char *err, size_t err_size);
void console_global_cleanup(void);

/* Per loop thread: a property view and the thread's writer port (for edits
 * answered on this loop). 0, or -1 (logged). */
int console_thread_init(server_thread_t *t, writer_port_t *port);
void console_thread_fini(void);

/* The console's routes, for server_staff_t.routes (static storage). */
const server_route_t *console_routes(size_t *n);

/* server_staff_t.mount: the static assets (govuk-frontend's CSS, fonts and
 * images) through h2o's file handler on the staff hostconf. */
void console_mount(h2o_hostconf_t *staff_host, void *ud);

/* Write s (n bytes, UTF-8) HTML-escaped into b: & < > " ' become entities.
 * The one escaping function of every page. */
struct strbuf;
void console_html_escape(struct strbuf *b, const char *s, size_t n);

#endif
