/* staff.h - the staff console's core (issue 17), without the web: the
 * handle every staff operation goes through, roles, and the result of an
 * edit. The web console (a higher layer) calls only these headers and never
 * LMDB: account.h (accounts, passwords), ratelimit.h (sign-in throttling),
 * audit.h (the audit log), edit.h (exceptions, notices, bank holidays,
 * uploads: preview, then one atomic commit), view.h (property search and a
 * property's calendar for advisers).
 *
 * Storage: two LMDB databases, "staff_accounts" and "staff_audit", declared
 * by the staff privacy module (audit records are case records, purged after
 * the case-record period with the rest, privacy.h). So a store opened with
 * privacy_dbi_defs() among its extras (as `binday serve` and every `binday
 * staff` command do) has them; staff_open fails with a message otherwise.
 *
 * Threads: a staff_t is shared by all threads after staff_open (it holds
 * only read-only state and the store). Reads go through a staff_view_t, one
 * per thread (view.h). Writes: synchronous calls (the CLI) run store_write
 * on the calling thread; the *_submit variants queue the write on the store
 * writer (writer.h) and answer on the caller's writer port, so an event loop
 * never waits for LMDB's writer lock. Account calls (account.h) are
 * synchronous and hash passwords (~100 ms of CPU): the server runs them on a
 * worker thread (e.g. uv_queue_work), where their store_write may wait for
 * the writer lock without stalling a loop; staff_audit_note_submit is the
 * fire-and-forget note for a loop thread.
 */
#ifndef BINDAY_STAFF_H
#define BINDAY_STAFF_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/import.h"
#include "binday/data/store.h"
#include "binday/data/writer.h"

/* Return codes shared by the staff headers (besides 0 = ok). */
#define STAFF_ERROR (-1)        /* runtime failure: message in err */
#define STAFF_REJECTED 3        /* input rejected: messages in the result / err (== CLI exit 3) */
#define STAFF_NOT_FOUND 4       /* no such account, round, notice, property */
#define STAFF_DENIED 5          /* sign-in refused (generic: wrong name, password or disabled) */
#define STAFF_EXISTS 6          /* account already exists */
#define STAFF_FORBIDDEN 7       /* the acting account's role may not do this */

typedef enum {
    STAFF_ROLE_NONE = 0,
    STAFF_ROLE_VIEWER = 1, /* search properties, see calendars, notices, feed links */
    STAFF_ROLE_EDITOR = 2, /* + exceptions, notices, bank holidays, uploads */
    STAFF_ROLE_ADMIN = 3   /* + accounts and the audit log */
} staff_role_t;

/* "viewer", "editor", "admin" ("none" for STAFF_ROLE_NONE). */
const char *staff_role_name(staff_role_t r);
/* 0 and *out for one of the names above (exact, lower case), -1 otherwise. */
int staff_role_parse(const char *s, size_t n, staff_role_t *out);
/* Roles are ordered: may an account of role `have` do what needs `need`? */
int staff_role_allows(staff_role_t have, staff_role_t need);

typedef struct staff staff_t;

typedef struct staff_options {
    const char *data_dir;   /* the store's directory: calendar.key for feed links (required) */
    const char *public_url; /* "https://host[:port][/base]" for feed links; NULL = paths only */
    writer_t *writer;       /* the store writer for *_submit; NULL = they run synchronously */
} staff_options_t;

/* Open on a store opened with privacy_dbi_defs() among its extras. Loads
 * DATA_DIR/calendar.key through the store's key registry (data/keyfile.h:
 * created only if the store never had one; a lost one is refused). Strings in opt are copied. 0, or
 * STAFF_ERROR with a message. */
int staff_open(store_t *s, const staff_options_t *opt, staff_t **out, char *err, size_t err_size);
void staff_close(staff_t *st); /* NULL is a no-op */
store_t *staff_store(staff_t *st);

/* Who acts, for permission checks and the audit record. `user` is an
 * account name (the web layer passes the signed-in account and its role,
 * as held in the session) or, from the CLI, "cli:" + the Unix user name with
 * role STAFF_ROLE_ADMIN. The string is copied where kept. */
typedef struct staff_actor {
    const char *user;
    staff_role_t role;
} staff_actor_t;

/* ---- results of edits (edit.h) and uploads ---- */

#define STAFF_MAX_DATES 64 /* dates listed in a preview (more are counted only) */

typedef struct staff_table_diff {
    size_t added, changed, removed, unchanged;
    int given; /* the edit or upload has this table */
} staff_table_diff_t;

/* What an edit does or did. Allocated by the edit calls, freed with
 * staff_result_free; every string is owned by it. */
typedef struct staff_result {
    int rc;             /* 0, STAFF_REJECTED, STAFF_NOT_FOUND, STAFF_FORBIDDEN or STAFF_ERROR */
    char message[512];  /* one line for the page: what happened or why not (no personal data) */
    /* exceptions, holidays: properties whose collections change, and the
     * dates touched (originals and new dates, sorted, unique) */
    size_t properties;
    int dates[STAFF_MAX_DATES];
    size_t n_dates, n_dates_total;
    /* uploads (and every edit, as the exceptions/notices table diff):
     * rows added, changed and removed, indexed by import_table_t */
    staff_table_diff_t diff[IMPORT_N_TABLES];
    /* validation problems, "FILE:LINE: message" as `binday import` prints
     * them, at most STAFF_MAX_ERRORS kept (n_errors_total counts all) */
    char **errors;
    size_t n_errors, n_errors_total;
    uint64_t audit_id;  /* committed edits: the audit record's id (0 for previews) */
    uint64_t generation; /* committed edits: store generation after the commit */
} staff_result_t;

#define STAFF_MAX_ERRORS 200

void staff_result_free(staff_result_t *r); /* NULL is a no-op */

#endif
